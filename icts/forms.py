"""ICTS forms. They only parse what a person typed into the shapes the services take; the services decide what
is allowed (who may prepare, what the agreement authorises, which verdicts need comments)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django import forms
from django.core.exceptions import ValidationError

from cpms.core.models import Gender, Partner, normalise_a_number, nfc
from cpms.core.labels import ELEMENT_LABELS, KIND_LABELS, country_label  # noqa: F401  (re-exported for the views)
from ident_bridge import icd

from .models import Review
from .services import IctsError, attachment_too_big
from .selectors import SORTS
from .workflow import CaseStatus

ELEMENT_HINTS = {
    "aliases": "One per line, as FAMILY, Given names (for example HADAD, Amal).",
    "date_of_birth": "YYYY-MM-DD, or YYYY-MM or YYYY when only part is known.",
    "country_of_birth": "ISO 3166-1 alpha-3 code, for example SYR.",
    "countries_of_citizenship": "ISO 3166-1 alpha-3 codes separated by commas, for example SYR, CAN.",
    "a_number": "A followed by 9 digits, for example A012345678 (7 and 8 digit forms are padded).",
    "fin": "10 to 16 upper-case letters or digits.",
    "partner_person_id": "The partner's own identifier for the person (from the request).",
    "immigration_status": "The status in words, for example Asylee.",
    "immigration_history": "One event per line, as YYYY-MM-DD | event | detail (the detail is optional).",
    "watchlist_status": "One entry per line, as type | YYYY-MM-DD.",
}
MULTILINE = frozenset({"aliases", "immigration_history", "watchlist_status"})

_COUNTRY = re.compile(r"^[A-Z]{3}$")
_FIN = re.compile(r"^[A-Z0-9]{10,16}$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class IctsErrorFormMixin:
    def add_icts_error(self, exc: IctsError) -> None:
        """Show a service refusal next to the field (or data elements) it names, or at the top of the form."""
        named = [f for f in exc.fields if f in self.fields]
        if named:
            self.add_error(None, exc.message)
            each = ("The agreement does not authorise this element: untick “include” to leave it out of the response."
                    if exc.code == "exceeds_agreement" else
                    "Check this element: the ICD does not accept it in this form (see the message above).")
            for name in named:
                self.add_error(name, each)
        else:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)


# --- the work queue ----------------------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    """The queue's filters and order, all in the URL (a filtered queue is a link to keep or share)."""

    status = forms.ChoiceField(label="Status", required=False,
                               choices=[("", "Active cases")] + list(CaseStatus.choices))
    priority = forms.ChoiceField(label="Priority", required=False,
                                 choices=[("", "Any priority"), ("high", "High"), ("medium", "Medium"), ("low", "Low")])
    partner = forms.ChoiceField(label="Partner", required=False)
    mine = forms.BooleanField(label="Assigned to me", required=False)
    overdue = forms.BooleanField(label="Overdue only", required=False)
    due_soon = forms.BooleanField(label="Due within 7 days", required=False)
    sort = forms.ChoiceField(required=False, choices=[(key, key) for key in SORTS])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].choices = [("", "Any partner")] + [(p.code, p.name) for p in Partner.objects.order_by("name")]

    def filters(self) -> dict:
        """The selector's keyword arguments (without the order); an unknown value (an edited URL) means no filter."""
        if not self.is_valid():
            return {"status": "", "priority": "", "partner": "", "mine": False, "overdue": False, "due_soon": False}
        return {k: v for k, v in self.cleaned_data.items() if k != "sort"}

    def order(self) -> str:
        return (self.cleaned_data.get("sort") if self.is_valid() else "") or "priority"


class BulkAssignForm(forms.Form):
    """A reviewer gives the cases ticked on a page of the queue to one analyst (`cases`: the ticked ids)."""

    MAX_CASES = 100
    analyst = forms.TypedChoiceField(coerce=int, required=True, label="Assign the ticked cases to", error_messages={
        "required": "Choose the analyst to assign the ticked cases to.",
        "invalid_choice": "Choose an analyst from the list: only active ICTS analysts can be assigned.",
    })

    def __init__(self, *args, analysts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["analyst"].choices = [("", "Choose an analyst")] + [
            (a.pk, a.get_full_name() or a.get_username()) for a in analysts]

    def clean(self):
        data = super().clean()
        raw = self.data.getlist("cases") if hasattr(self.data, "getlist") else []
        ids = sorted({int(v) for v in raw if str(v).isdigit()})
        if not ids:
            raise ValidationError("Tick the cases to assign, then choose the analyst.")
        if len(ids) > self.MAX_CASES:
            raise ValidationError(f"Assign at most {self.MAX_CASES} cases at a time.")
        data["cases"] = ids
        return data


class AssignForm(forms.Form):
    """No analyst: the person posting takes the case. A reviewer may name an analyst."""

    analyst = forms.IntegerField(required=False, min_value=1,
                                 error_messages={"invalid": "Choose an analyst from the list.",
                                                 "min_value": "Choose an analyst from the list."})


# --- the response package ----------------------------------------------------------------------------------


@dataclass
class ElementRow:
    name: str
    label: str
    include: forms.BoundField
    value: forms.BoundField
    as_of: forms.BoundField | None
    authorised: bool

    def reads_as(self) -> str:
        """Countries as people read them ("Syria (SYR), Canada (CAN)") beside the codes the ICD carries."""
        if self.name not in ("country_of_birth", "countries_of_citizenship"):
            return ""
        codes = [c.strip().upper() for c in str(self.value.value() or "").split(",") if c.strip()]
        return ", ".join(country_label(c) for c in codes)


class PackageForm(IctsErrorFormMixin, forms.Form):
    """The response on the uniform template (ICD §6). `person` holds the parsed elements once the form is valid."""

    reviewer_name = forms.CharField(label="Reviewer name", max_length=200,
                                    error_messages={"required": "Give the reviewer's name: the partner sees it on the response."},
                                    help_text="The ICTS reviewer who will approve this response, not you: the partner "
                                              "sees this name on the response.")
    reviewer_organization = forms.CharField(label="Organization", max_length=200, required=False, initial="USCIS")
    reviewer_email = forms.EmailField(label="Email (optional)", max_length=254, required=False,
                                      error_messages={"invalid": "Write the email address as name@example.gov, or leave it empty."})
    reviewer_phone = forms.CharField(label="Phone (optional)", max_length=40, required=False,
                                     error_messages={"max_length": "Shorten the phone number to 40 characters or fewer."})

    def __init__(self, *args, authorised=(), carried=(), **kwargs):
        """Only what the agreement authorises is offered, and what the saved response already carries (so that it
        can be taken out): an element the agreement does not authorise cannot be added here."""
        super().__init__(*args, **kwargs)
        self.authorised = set(authorised)
        self.offered = [name for name in icd.PERSON_ELEMENTS if name in self.authorised or name in set(carried)]
        self.person: dict = {}
        for name in self.offered:
            label = ELEMENT_LABELS[name]
            self.fields[f"include_{name}"] = forms.BooleanField(label=f"Include {label.lower()}", required=False)
            if name == "gender":
                field = forms.ChoiceField(label=label, required=False, choices=[("", "- Select -")] + list(Gender.choices),
                                          error_messages={"invalid_choice": "Choose female, male, X or unknown."})
            elif name in MULTILINE:
                field = forms.CharField(label=label, required=False, widget=forms.Textarea)
            else:
                field = forms.CharField(label=label, required=False, max_length=200,
                                        error_messages={"max_length": f"Shorten the {label.lower()} to 200 characters or fewer."})
            field.help_text = ELEMENT_HINTS.get(name, "")
            self.fields[name] = field
        if "immigration_status" in self.offered:
            self.fields["immigration_status_as_of"] = forms.CharField(label="Status as of (optional)", required=False,
                                                                      max_length=10, help_text="YYYY-MM-DD")

    def not_offered(self) -> list[str]:
        """The data elements left out because the agreement does not authorise them, by label."""
        return [ELEMENT_LABELS[name] for name in icd.PERSON_ELEMENTS if name not in self.offered]

    def element_rows(self) -> list[ElementRow]:
        return [
            ElementRow(name, ELEMENT_LABELS[name], self[f"include_{name}"], self[name],
                       self["immigration_status_as_of"] if name == "immigration_status" else None, name in self.authorised)
            for name in self.offered
        ]

    def clean(self):
        data = super().clean()
        person = {}
        for name in self.offered:
            if not data.get(f"include_{name}") or name in self.errors:
                continue
            try:
                value = _PARSERS[name](data.get(name) or "")
                if name == "immigration_status":
                    value = _immigration_status(value, data.get("immigration_status_as_of") or "")
            except ValidationError as exc:
                self.add_error("immigration_status_as_of" if exc.code == "as_of" else name, exc)
                continue
            person[name] = value
        self.person = person
        return data


def _required(label: str):
    def check(text: str) -> str:
        text = nfc(text.strip())
        if not text:
            raise ValidationError(f"Write the {label}, or untick “include” to leave it out of the response.")
        return text
    return check


def _partial_date(text: str) -> str:
    text = text.strip()
    m = _PARTIAL_DATE.match(text)
    try:
        if not m:
            raise ValueError
        year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
        date(year, month, day)
    except ValueError:
        raise ValidationError("Write the date of birth as YYYY-MM-DD (or YYYY-MM, or YYYY if only the year is known), "
                              "for example 1985-04-12.") from None
    return text


def _full_date(text: str, what: str) -> str:
    text = text.strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValidationError(f"Write {what} as YYYY-MM-DD, for example 2024-03-01 (you wrote “{text}”).") from None


def _country(text: str, what: str = "the country of birth") -> str:
    code = text.strip().upper()
    if not _COUNTRY.match(code):
        raise ValidationError(f"Write {what} as a 3-letter ISO 3166-1 code, for example SYR (you wrote “{text.strip()}”).")
    return code


def _countries(text: str) -> list[str]:
    codes = [c for c in (p.strip() for p in text.split(",")) if c]
    if not codes:
        raise ValidationError("Write at least one country code, for example SYR, or untick “include”.")
    if len(codes) > 10:
        raise ValidationError("The ICD allows at most 10 countries of citizenship; remove some.")
    return [_country(c, "each country") for c in codes]


def _gender(text: str) -> str:
    if text not in icd.GENDERS:
        raise ValidationError("Choose female, male, X or unknown, or untick “include”.")
    return text


def _a_number(text: str) -> str:
    try:
        return normalise_a_number(text)
    except ValidationError:
        raise ValidationError("Write the A-Number as A followed by 9 digits, for example A012345678.") from None


def _fin(text: str) -> str:
    fin = text.strip().upper()
    if not _FIN.match(fin):
        raise ValidationError("Write the FIN as 10 to 16 upper-case letters or digits, for example FIN1000000001.")
    return fin


def _partner_person_id(text: str) -> str:
    ref = text.strip()
    if not _REF.match(ref):
        raise ValidationError("Write the partner person ID as up to 64 letters, digits, dots, colons or hyphens, "
                              "starting with a letter or digit.")
    return ref


def _lines(text: str, label: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValidationError(f"Write at least one line of {label}, or untick “include”.")
    return lines


def _aliases(text: str) -> list[dict]:
    out = []
    for n, line in enumerate(_lines(text, "aliases"), 1):
        family, _, given = (nfc(p.strip()) for p in line.partition(","))
        if not family:
            raise ValidationError(f"Line {n}: write the family name before the comma, as FAMILY, Given names.")
        out.append({"family_name": family, "given_names": given} if given else {"family_name": family})
    if len(out) > 50:
        raise ValidationError("The ICD allows at most 50 aliases; remove some.")
    return out


def _history(text: str) -> list[dict]:
    out = []
    for n, line in enumerate(_lines(text, "immigration history"), 1):
        parts = [p.strip() for p in line.split("|", 2)]
        if len(parts) < 2 or not parts[1]:
            raise ValidationError(f"Line {n}: write YYYY-MM-DD | event | detail, for example 2019-06-01 | Asylum granted | Newark.")
        entry = {"date": _full_date(parts[0], f"the date on line {n}"), "event": parts[1][:200]}
        if len(parts) == 3 and parts[2]:
            entry["detail"] = parts[2]
        out.append(entry)
    return out


def _watchlist(text: str) -> list[dict]:
    out = []
    for n, line in enumerate(_lines(text, "watchlist status"), 1):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 2 or not parts[0]:
            raise ValidationError(f"Line {n}: write type | YYYY-MM-DD, for example none | 2026-01-01.")
        out.append({"type": parts[0][:100], "status_date": _full_date(parts[1], f"the date on line {n}")})
    return out


def _immigration_status(status: str, as_of: str) -> dict:
    value = {"status": status}
    if as_of.strip():
        try:
            value["as_of"] = _full_date(as_of, "the “as of” date")
        except ValidationError as exc:
            raise ValidationError(exc.messages[0], code="as_of") from None
    return value


_PARSERS = {
    "family_name": _required("family name"),
    "given_names": _required("given names"),
    "aliases": _aliases,
    "date_of_birth": _partial_date,
    "gender": _gender,
    "race": _required("race"),
    "country_of_birth": _country,
    "countries_of_citizenship": _countries,
    "a_number": _a_number,
    "fin": _fin,
    "partner_person_id": _partner_person_id,
    "immigration_status": _required("immigration status"),
    "immigration_history": _history,
    "watchlist_status": _watchlist,
}


def _format(name: str, value) -> dict:
    """An element of a package's person back into the form's text fields."""
    if name == "aliases":
        return {name: "\n".join(f"{a.get('family_name', '')}, {a.get('given_names', '')}".rstrip(", ") for a in value)}
    if name == "countries_of_citizenship":
        return {name: ", ".join(value)}
    if name == "immigration_status":
        return {name: value.get("status", ""), "immigration_status_as_of": value.get("as_of", "")}
    if name == "immigration_history":
        return {name: "\n".join(" | ".join(p for p in (h["date"], h["event"], h.get("detail", "")) if p) for h in value)}
    if name == "watchlist_status":
        return {name: "\n".join(f"{w['type']} | {w['status_date']}" for w in value)}
    return {name: value}


def package_initial(*, case, package, authorised, cis_status: dict | None = None) -> dict:
    """What the form shows first: the saved package, or the USCIS record (and the partner's ID for the person).
    From the record, the elements that have a value and that the agreement authorises start ticked. `cis_status` is
    the immigration status CIS gave ({"status", "as_of"}), passed when the partner asked for it."""
    if package is not None:
        initial = {"reviewer_name": package.reviewer_name, "reviewer_organization": package.reviewer_organization,
                   "reviewer_email": package.reviewer_email, "reviewer_phone": package.reviewer_phone}
        for name, value in package.person.items():
            if name in _PARSERS:
                initial |= _format(name, value) | {f"include_{name}": True}
        return initial
    req = case.partner_request
    person = req.person
    record = {
        "family_name": person.family_name, "given_names": person.given_names, "aliases": person.aliases,
        "date_of_birth": person.date_of_birth, "gender": person.gender if person.gender != "unknown" else "",
        "country_of_birth": person.country_of_birth, "countries_of_citizenship": person.citizenships,
        "a_number": person.a_number or "", "fin": person.fin or "",
        "partner_person_id": req.subject.get("partner_person_id", ""),
    } if person else {}
    if cis_status and cis_status.get("status"):
        record["immigration_status"] = cis_status
    # Not the analyst's own name: the reviewer on the response is the ICTS reviewer who approves it (the analyst
    # never reviews their own work), and the partner and OBIM read that name (issue 18, finding 8).
    initial = {"reviewer_organization": "USCIS"}
    for name, value in record.items():
        if value:
            initial |= _format(name, value)
            initial[f"include_{name}"] = name in set(authorised)
    return initial


class UploadForm(IctsErrorFormMixin, forms.Form):
    kind = forms.ChoiceField(label="Kind of document", choices=[("", "- Select -")] + list(KIND_LABELS.items()),
                             error_messages={"required": "Choose what kind of document this is.",
                                             "invalid_choice": "Choose a kind of document from the list: only the kinds the "
                                                               "agreement authorises are offered."})
    file = forms.FileField(label="File", help_text="A scan as JPEG, PNG, TIFF or PDF, up to 10 MB.",
                           error_messages={"required": "Choose a file to upload.",
                                           "empty": "The file is empty: choose the scanned document again.",
                                           "invalid": "Choose a file to upload."})

    def __init__(self, *args, kinds=None, **kwargs):
        """`kinds`: the attachment kinds the agreement authorises; only those are offered."""
        super().__init__(*args, **kwargs)
        if kinds is not None:
            self.fields["kind"].choices = [("", "- Select -")] + [(k, v) for k, v in KIND_LABELS.items() if k in set(kinds)]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        too_big = attachment_too_big(upload.size)  # asked before the bytes are read into memory
        if too_big:
            raise ValidationError(too_big.message)
        return upload


class ReviewForm(IctsErrorFormMixin, forms.Form):
    verdict = forms.ChoiceField(label="Your decision", widget=forms.RadioSelect,
                                choices=[(Review.Verdict.APPROVED, "Approve and transmit to the partner"),
                                         (Review.Verdict.RETURNED, "Return to the analyst with comments")],
                                error_messages={"required": "Choose approve or return.",
                                                "invalid_choice": "Choose approve or return."})
    comments = forms.CharField(label="Comments", widget=forms.Textarea, required=False, max_length=4000,
                               help_text="Needed when you return the response: say what the analyst should change.",
                               error_messages={"max_length": "Shorten the comments to 4,000 characters or fewer."})


def package_data(initial: dict) -> dict:
    """The saved response as a browser would post it, so that a refusal at submission can be shown on a bound form
    with the refused elements marked."""
    return {k: ("on" if v is True else v) for k, v in initial.items() if v not in (None, False)}
