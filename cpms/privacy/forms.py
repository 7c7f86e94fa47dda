"""The privacy officer's filter forms. The decision on a referral is parsed by partner_requests' ReferralResolveForm:
it is shown on the request's page, which every role with access reads."""

from django import forms

from cpms.core.models import Partner
from cpms.disclosure.services import Outcome


class DecisionFilterForm(forms.Form):
    outcome = forms.ChoiceField(label="Outcome", required=False, choices=[("", "Any outcome")] + list(Outcome.choices))
    partner = forms.ChoiceField(label="Partner", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [("", "Any partner")] + [(p.code, p.name) for p in Partner.objects.order_by("name")]

    def filters(self) -> dict:
        """The selector's keyword arguments; an unknown value (an edited URL) means no filter."""
        return dict(self.cleaned_data) if self.is_valid() else {"outcome": "", "partner": ""}
