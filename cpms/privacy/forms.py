"""The privacy officer's filter forms. The decision on a referral is parsed by partner_requests' ReferralResolveForm:
it is shown on the request's page, which every role with access reads."""

from django import forms

from cpms.core.forms import DomainErrorFormMixin, justification_field
from cpms.core.models import Agreement, Partner
from cpms.disclosure.models import DisclosureRecord
from cpms.disclosure.selectors import DecisionKind
from cpms.disclosure.services import Outcome


class DecisionFilterForm(forms.Form):
    kind = forms.ChoiceField(label="About", required=False, choices=[("", "Anything")] + list(DecisionKind.choices))
    outcome = forms.ChoiceField(label="Outcome", required=False, choices=[("", "Any outcome")] + list(Outcome.choices))
    partner = forms.ChoiceField(label="Partner", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [("", "Any partner")] + [(p.code, p.name) for p in Partner.objects.order_by("name")]

    def filters(self) -> dict:
        """The selector's keyword arguments; an unknown value (an edited URL) means no filter."""
        return dict(self.cleaned_data) if self.is_valid() else {"kind": "", "outcome": "", "partner": ""}


class HeldQueryForm(DomainErrorFormMixin, forms.Form):
    """A privacy officer's decision on a query held before it was sent (query_referral_resolve decides)."""

    outcome = forms.ChoiceField(
        label="Your decision", widget=forms.RadioSelect,
        choices=[(Outcome.SHARE, "Send: the query goes to the partner now, through IDENT"),
                 (Outcome.WITHHOLD, "Withhold: the query is never sent; the officer is told")],
        error_messages={"required": "Choose send or withhold.", "invalid_choice": "Choose send or withhold."},
    )
    justification = justification_field()


class AccountingFilterForm(forms.Form):
    """Filters of the system-wide accounting; an edited URL with an unknown value gets a message, not a 500."""

    date_from = forms.DateField(label="From", required=False, help_text="YYYY-MM-DD, for example 2026-11-01",
                                error_messages={"invalid": "Enter the date as YYYY-MM-DD, for example 2026-11-01."})
    date_to = forms.DateField(label="To", required=False, help_text="YYYY-MM-DD, for example 2026-11-30",
                              error_messages={"invalid": "Enter the date as YYYY-MM-DD, for example 2026-11-30."})
    partner = forms.ChoiceField(label="Partner", required=False)
    agreement = forms.TypedChoiceField(label="Agreement version", required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(label="Exchange", required=False,
                             choices=[("", "Any exchange")] + list(DisclosureRecord.Kind.choices))
    outcome = forms.ChoiceField(label="Outcome", required=False,
                                choices=[("", "Any outcome"), ("disclosed", "Disclosed"), ("not_disclosed", "Not disclosed")]
                                + [(v, label) for v, label in DisclosureRecord.Delivery.choices if v != "delivered"])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [("", "Any partner")] + [(p.code, p.name) for p in Partner.objects.order_by("name")]
        self.fields["agreement"].choices = [("", "Any version")] + [
            (a.pk, a.label) for a in Agreement.objects.select_related("partner").order_by("partner__name", "-version")[:200]]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "“To” is before “From”: swap them.")
        return data

    def filters(self) -> dict:
        """The selector's keyword arguments (no filter for a form with errors: the page shows the errors)."""
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class TimelineFilterForm(forms.Form):
    """Filters of a person's timeline; an edited URL with an unknown value gets a message, not a 500."""

    kind = forms.MultipleChoiceField(label="Kinds of event", required=False, widget=forms.CheckboxSelectMultiple,
                                     help_text="None ticked: every kind but privacy officers' own oversight reads.",
                                     error_messages={"invalid_choice": "Choose kinds of event from the list."})
    partner = forms.ChoiceField(label="Partner", required=False)
    user = forms.CharField(label="User (username or family name)", required=False, max_length=150)
    date_from = forms.DateField(label="From", required=False, widget=forms.DateInput(),
                                error_messages={"invalid": "Enter the date as YYYY-MM-DD, for example 2026-11-25."})
    date_to = forms.DateField(label="To", required=False, widget=forms.DateInput(),
                              error_messages={"invalid": "Enter the date as YYYY-MM-DD, for example 2026-11-25."})

    def __init__(self, *args, **kwargs):
        from .timeline import KINDS

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = list(KINDS.items())
        self.fields["partner"].choices = [("", "Any partner")] + [(p.code, p.name) for p in Partner.objects.order_by("name")]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "“To” is before “From”: swap them.")
        return data

    def filters(self):
        from .timeline import DEFAULT_KINDS, Filters

        data = self.cleaned_data if self.is_valid() else {}
        return Filters(kinds=frozenset(data.get("kind") or DEFAULT_KINDS), partner=data.get("partner") or "",
                       user=(data.get("user") or "").strip(), date_from=data.get("date_from"), date_to=data.get("date_to"))
