from django import forms


class CaseSearchForm(forms.Form):
    q = forms.CharField(
        label="Search your cases",
        required=False,
        max_length=100,
        help_text="Receipt number, A-Number or family name.",
        error_messages={"max_length": "Shorten the search to 100 characters or fewer: a receipt number, A-Number or family name."},
    )
