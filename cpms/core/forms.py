from django import forms


class DomainErrorFormMixin:
    """Show a service's refusal (a cpms.core.errors.DomainError) next to the field it names, or at the top."""

    def add_domain_error(self, exc) -> None:
        self.add_error(exc.field if exc.field in self.fields else None, exc.message)


def required_by_service(field: forms.Field) -> forms.Field:
    """A field the service refuses to go without, in its own words (the form leaves the check to it): marked required
    on the page like any other required field (core/_field.html reads `marked_required`)."""
    field.marked_required = True
    return field


class CaseSearchForm(forms.Form):
    q = forms.CharField(
        label="Search your cases",
        required=False,
        max_length=100,
        help_text="Receipt number, A-Number, FIN or a name, in any script or in Latin letters.",
        error_messages={"max_length": "Shorten the search to 100 characters or fewer: a receipt number, A-Number, FIN or name."},
    )


def justification_field(help_text: str = "Why you decided this. It is kept with the decision for the privacy record; the "
                                         "partner never sees it.") -> forms.CharField:
    """The justification of a privacy officer's decision (required by the service, which says so)."""
    return required_by_service(forms.CharField(
        label="Justification", widget=forms.Textarea, required=False, max_length=4000, help_text=help_text,
        error_messages={"max_length": "Shorten the justification to 4,000 characters or fewer."},
    ))
