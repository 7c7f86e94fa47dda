from django import forms


class DomainErrorFormMixin:
    """Show a service's refusal (a cpms.core.errors.DomainError) next to the field it names, or at the top."""

    def add_domain_error(self, exc) -> None:
        self.add_error(exc.field if exc.field in self.fields else None, exc.message)


class CaseSearchForm(forms.Form):
    q = forms.CharField(
        label="Search your cases",
        required=False,
        max_length=100,
        help_text="Receipt number, A-Number or family name.",
        error_messages={"max_length": "Shorten the search to 100 characters or fewer: a receipt number, A-Number or family name."},
    )
