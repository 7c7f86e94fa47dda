"""Plain-language names for the ICD's codes: data elements, attachment kinds, requested items, reasons, priorities.

The one place a person-facing label is written: forms, pages, PDFs, the accounting and the access log read it here,
so no page shows `a_number` or `marriage_certificate`.
"""

from __future__ import annotations

from ident_bridge import icd

ELEMENT_LABELS = {
    "family_name": "Family name",
    "given_names": "Given names",
    "aliases": "Aliases",
    "date_of_birth": "Date of birth",
    "gender": "Gender",
    "race": "Race",
    "country_of_birth": "Country of birth",
    "countries_of_citizenship": "Countries of citizenship",
    "a_number": "A-Number",
    "fin": "FIN",
    "partner_person_id": "Partner person ID",
    "immigration_status": "Immigration status",
    "immigration_history": "Immigration history",
    "watchlist_status": "Watchlist status",
}
KIND_LABELS = {
    "photograph": "Photograph",
    "passport": "Passport",
    "visa": "Visa",
    "marriage_certificate": "Marriage certificate",
    "identity_document": "Identity document",
    "other_document": "Other document",
}
REQUESTED_ITEM_LABELS = {
    "biographic": "Biographic",
    "immigration_status": "Immigration status",
    "immigration_history": "Immigration history",
    "watchlist_status": "Watchlist status",
    "photographs": "Photographs",
    "document_images": "Document images",
}
REASON_LABELS = {
    "visa_applicant": "Visa applicant",
    "application": "Application for a benefit",
    "refugee_claimant": "Refugee claimant",
    "asylum_claimant": "Asylum claimant",
    "enforcement": "Enforcement",
    "absconder": "Absconder",
    "other": "Other",
}
PRIORITY_LABELS = {"high": "High", "medium": "Medium", "low": "Low"}
# What the accounting of disclosures lists as sent: the person's data elements, and what a query or follow-up carries.
DISCLOSED_LABELS = ELEMENT_LABELS | {
    "fingerprints": "Fingerprints (through IDENT)",
    "reason": "Why USCIS asks",
    "encounter_id": "Encounter ID",
    "requested_items": "Items requested",
    "justification": "Justification",
}

# The access log: what was read (app_label.model) and why (the purpose of use of the reader's role).
READ_OBJECT_LABELS = {
    "queries.internationalquery": "A query and the partner's answers",
    "queries.responseattachment": "A partner's document",
    "queries.partnerresponse": "A partner's answer to an augmentation",
    "icts.ictscase": "An ICTS case and the partner's request",
    "icts.packageattachment": "A document of a USCIS response",
    "partner_requests.partnerrequest": "A partner's request",
    "core.person": "A person's accounting or timeline",
    "disclosure.disclosurerecord": "The accounting of disclosures, system-wide",
}
PURPOSE_LABELS = {
    "case_adjudication": "Case adjudication",
    "icts_response": "ICTS response preparation",
    "obim_retrieval": "OBIM retrieval",
    "fdns_review": "FDNS referral review",
    "privacy_oversight": "Privacy oversight",
    "administration": "Administration",
}

# Every code of the ICD's vocabularies has its label (tests/cpms/test_labels.py checks the same).
assert set(ELEMENT_LABELS) == set(icd.PERSON_ELEMENTS)
assert set(KIND_LABELS) == set(icd.ATTACHMENT_KINDS)
assert set(REQUESTED_ITEM_LABELS) == set(icd.REQUESTED_ITEMS)
assert set(REASON_LABELS) == set(icd.REASONS)
assert set(PRIORITY_LABELS) == set(icd.PRIORITIES)


def label(table: dict[str, str], code: str) -> str:
    """The label of a code, or the code made readable when a newer ICD adds one the table lacks."""
    return table.get(code) or code.replace("_", " ").capitalize()


def country_name(code: str) -> str:
    """A country by name alone, where the code would only repeat it ("Canada"); the code itself when pycountry does
    not know it."""
    import pycountry

    if not code:
        return ""
    country = pycountry.countries.get(alpha_3=code.upper())
    return (getattr(country, "common_name", None) or getattr(country, "name", None) if country else None) or code


def country_label(code: str) -> str:
    """A country by name with its ISO 3166-1 alpha-3 code, as people read it: "Syria (SYR)" (pycountry's data)."""
    if not code:
        return ""
    name = country_name(code)
    return f"{name} ({code.upper()})" if name != code else code


def time_left(due, now) -> tuple[str, str]:
    """Time left against a due date in words, and its tone for the badge: ("Overdue by 2 days", "overdue"),
    ("Due in 5 hours", "soon"), ("Due in 3 days", "")."""
    seconds = (due - now).total_seconds()
    late = seconds < 0
    span = abs(seconds)
    if span < 3600:
        amount = f"{max(round(span / 60), 1)} min"
    elif span < 36 * 3600:
        hours = round(span / 3600)
        amount = f"{hours} hour{'s' if hours != 1 else ''}"
    else:
        amount = f"{round(span / 86400)} days"
    if late:
        return f"Overdue by {amount}", "overdue"
    return f"Due in {amount}", "soon" if seconds < 86400 else ""
