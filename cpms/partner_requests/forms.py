"""Forms for partner requests: a privacy officer's decision on a referral (shown on the request's page, posted to the
privacy console) and an augmentation request. They only parse; referral_resolve and augmentation_request decide."""

from django import forms

from cpms.core.forms import DomainErrorFormMixin, justification_field, required_by_service
from cpms.core.labels import REQUESTED_ITEM_LABELS
from cpms.disclosure.services import Outcome
from ident_bridge import icd


class ReferralResolveForm(DomainErrorFormMixin, forms.Form):
    outcome = forms.ChoiceField(
        label="Your decision", widget=forms.RadioSelect,
        choices=[(Outcome.SHARE, "Share: open an ICTS case so analysts prepare a response"),
                 (Outcome.WITHHOLD, "Withhold: answer the partner “no match”")],
        error_messages={"required": "Choose share or withhold.", "invalid_choice": "Choose share or withhold."},
    )
    justification = justification_field()


class AugmentForm(DomainErrorFormMixin, forms.Form):
    requested_items = required_by_service(forms.MultipleChoiceField(
        label="What do you need from the partner?", required=False,  # augmentation_request says what is missing
        choices=[(item, REQUESTED_ITEM_LABELS[item]) for item in icd.REQUESTED_ITEMS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose only items from the list."},
    ))
    justification = required_by_service(forms.CharField(
        label="Justification", widget=forms.Textarea, required=False, max_length=4000,
        help_text="Why USCIS needs the information. The partner reads this.",
        error_messages={"max_length": "Shorten the justification to 4,000 characters or fewer."},
    ))
