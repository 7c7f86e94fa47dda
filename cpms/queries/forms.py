"""The officer's query forms. They only parse; query_submit and query_request_round3 decide what is allowed."""

from django import forms

from ident_bridge import icd

from .models import PRIORITY_CHOICES, REASON_CHOICES
from .services import QueryError
from cpms.core.forms import CaseSearchForm, required_by_service
from cpms.core.labels import REQUESTED_ITEM_LABELS

from .selectors import CASE_SHOWS


class CaseListForm(CaseSearchForm):
    """The case list's search and its "show" filter, both in the URL."""

    show = forms.ChoiceField(label="Show", required=False,
                             choices=[("", "All cases")] + [(k, f"Open cases {label}") for k, (label, _) in CASE_SHOWS.items()])

    def values(self) -> tuple[str, str]:
        if not self.is_valid():
            return "", ""
        return self.cleaned_data["q"].strip(), self.cleaned_data["show"]


class QueryErrorFormMixin:
    def add_query_error(self, exc: QueryError) -> None:
        """Show a service refusal next to the field it names, or at the top of the form."""
        self.add_error(exc.field if exc.field in self.fields else None, exc.message)


class QueryNewForm(QueryErrorFormMixin, forms.Form):
    partner = forms.ModelChoiceField(
        queryset=None,
        to_field_name="code",
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={
            "required": "Choose the partner to query.",
            "invalid_choice": "Choose one of the partners offered: only partners with an active agreement that "
                              "allows USCIS queries can be asked.",
        },
    )
    reason = forms.ChoiceField(
        choices=[("", "- Select a reason -")] + REASON_CHOICES,
        error_messages={"required": "Choose the reason for the query.", "invalid_choice": "Choose a reason from the list."},
    )
    priority = forms.ChoiceField(
        choices=PRIORITY_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a priority: high, medium or low.",
                        "invalid_choice": "Choose a priority: high, medium or low."},
    )
    encounter_id = forms.CharField(
        label="Encounter ID (optional)",
        required=False,
        max_length=40,
        help_text="The partner's encounter reference, if you have one: 6 to 40 characters of A-Z, 0-9 and hyphens.",
        error_messages={"max_length": "Shorten the encounter ID to 40 characters or fewer."},
    )
    # Generated when the form is shown; query_submit returns the first query for a repeated key.
    submission_key = forms.CharField(
        widget=forms.HiddenInput,
        max_length=64,
        error_messages={"required": "This form has lost its submission token. Reload the page and submit again.",
                        "max_length": "This form's submission token is damaged. Reload the page and submit again."},
    )

    def __init__(self, *args, partners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners

    def clean_encounter_id(self) -> str:
        return self.cleaned_data["encounter_id"].strip().upper()


class Round3Form(QueryErrorFormMixin, forms.Form):
    requested_items = required_by_service(forms.MultipleChoiceField(
        label="What do you need from the partner?",
        choices=[(item, REQUESTED_ITEM_LABELS[item]) for item in icd.REQUESTED_ITEMS],
        widget=forms.CheckboxSelectMultiple,
        required=False,  # query_request_round3 says what is missing
        error_messages={"invalid_choice": "Choose only items from the list."},
    ))
    justification = required_by_service(forms.CharField(
        label="Justification",
        widget=forms.Textarea,
        required=False,
        help_text="Why the additional information is needed for the case. The partner reads this.",
    ))


class ReferralForm(QueryErrorFormMixin, forms.Form):
    analyst = forms.ModelChoiceField(
        queryset=None, label="FDNS analyst", empty_label="- Select an analyst -",
        error_messages={"required": "Choose the FDNS analyst to refer the results to.",
                        "invalid_choice": "Choose an FDNS analyst from the list."},
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=2000, label="Why FDNS should look at these results",
        error_messages={"required": "Say why FDNS should look at these results.",
                        "max_length": "Shorten the reason to 2,000 characters or fewer."},
    )
    days = forms.IntegerField(
        label="Access for (days)", initial=30, min_value=1, max_value=180,
        help_text="The analyst can open the query until then; you can revoke the referral sooner.",
        error_messages={"required": "Say for how many days (1 to 180) the analyst may see the results.",
                        "invalid": "Enter a whole number of days from 1 to 180.",
                        "min_value": "A referral lasts at least 1 day.", "max_value": "A referral lasts at most 180 days."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.contrib.auth import get_user_model

        from cpms.core.roles import Role

        self.fields["analyst"].queryset = get_user_model().objects.filter(groups__name=Role.FDNS_ANALYST, is_active=True) \
            .order_by("last_name", "first_name", "username")
        self.fields["analyst"].label_from_instance = lambda u: f"{u.get_full_name() or u.get_username()} ({u.get_username()})"


class ReferralRevokeForm(forms.Form):
    reason = forms.CharField(required=False, max_length=2000)
