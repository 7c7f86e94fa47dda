"""Forms for partner requests: the privacy officer's decision on a referral, and an augmentation request.
They only parse; referral_resolve and augmentation_request decide what is allowed."""

from django import forms

from cpms.core.models import Partner
from cpms.disclosure.rules import Outcome
from cpms.queries.ui_selectors import REQUESTED_ITEM_LABELS
from ident_bridge import icd

from .services import RequestError


class RequestErrorFormMixin:
    def add_request_error(self, exc: RequestError) -> None:
        """Show a service refusal next to the field it names, or at the top of the form."""
        self.add_error(exc.field if exc.field in self.fields else None, exc.message)


class DecisionFilterForm(forms.Form):
    outcome = forms.ChoiceField(label="Outcome", required=False, choices=[("", "Any outcome")] + list(Outcome.choices))
    partner = forms.ChoiceField(label="Partner", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [("", "Any partner")] + [(p.code, p.name) for p in Partner.objects.order_by("name")]

    def filters(self) -> dict:
        """The selector's keyword arguments; an unknown value (an edited URL) means no filter."""
        return dict(self.cleaned_data) if self.is_valid() else {"outcome": "", "partner": ""}


class ReferralResolveForm(RequestErrorFormMixin, forms.Form):
    outcome = forms.ChoiceField(
        label="Your decision", widget=forms.RadioSelect,
        choices=[(Outcome.SHARE, "Share: open an ICTS case so analysts prepare a response"),
                 (Outcome.WITHHOLD, "Withhold: answer the partner “no match”")],
        error_messages={"required": "Choose share or withhold.", "invalid_choice": "Choose share or withhold."},
    )
    justification = forms.CharField(
        label="Justification", widget=forms.Textarea, required=False, max_length=4000,
        help_text="Why you decided this. It is kept with the decision for the privacy record; the partner never sees it.",
        error_messages={"max_length": "Shorten the justification to 4,000 characters or fewer."},
    )


class AugmentForm(RequestErrorFormMixin, forms.Form):
    requested_items = forms.MultipleChoiceField(
        label="What do you need from the partner?", required=False,  # augmentation_request says what is missing
        choices=[(item, REQUESTED_ITEM_LABELS[item]) for item in icd.REQUESTED_ITEMS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Choose only items from the list."},
    )
    justification = forms.CharField(
        label="Justification", widget=forms.Textarea, required=False, max_length=4000,
        help_text="Why USCIS needs the information. The partner reads this.",
        error_messages={"max_length": "Shorten the justification to 4,000 characters or fewer."},
    )
