"""ICD §5: each partner's request template, normalised to the uniform one; and the accuracy check.

Names are kept exactly as received (NFC-normalised). Comparison folds diacritics and transliterates other
scripts to Latin, so "Nguyễn" and "NGUYEN", or "Петренко" and "Petrenko", are the same name.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date


from cpms.core.models import fold_for_search
from ident_bridge.icd import ICDError

CAN_SEX = {"F": "female", "M": "male", "X": "x", "U": "unknown"}
AUS_GENDER = {"Female": "female", "Male": "male", "Indeterminate": "x", "Unknown": "unknown"}


def nfc(value: str | None) -> str:
    return unicodedata.normalize("NFC", value or "")


def _alias(family_name: str, given_names: str = "") -> dict:
    out = {"family_name": nfc(family_name).strip()}
    if given_names and given_names.strip():
        out["given_names"] = nfc(given_names).strip()
    return out


def _real_date(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


def normalise_subject(template: str, subject: dict, *, pointer: str = "/body/subject") -> tuple[dict, list[ICDError]]:
    """The subject in the uniform-v1 template, and errors for what the schema lets through but is not real
    (31/02/1988). The subject is schema-valid for its template when this is called."""
    errors: list[ICDError] = []
    out: dict = {}
    if template == "uniform-v1":
        out = {k: v for k, v in subject.items()}
        out["family_name"] = nfc(subject["family_name"])
        if "given_names" in subject:
            out["given_names"] = nfc(subject["given_names"])
        if "aliases" in subject:
            out["aliases"] = [_alias(a["family_name"], a.get("given_names", "")) for a in subject["aliases"]]
        dob = subject.get("date_of_birth")
        if dob and len(dob) == 10 and not _real_date(int(dob[:4]), int(dob[5:7]), int(dob[8:])):
            errors.append(ICDError(f"{pointer}/date_of_birth", f"{dob} is not a real date"))
    elif template == "CAN-v1":
        out["family_name"] = nfc(subject["surname"])
        if "given_names" in subject:
            out["given_names"] = nfc(subject["given_names"])
        if "dob" in subject:
            dob = subject["dob"]
            if not _real_date(int(dob[:4]), int(dob[5:7]), int(dob[8:])):
                errors.append(ICDError(f"{pointer}/dob", f"{dob} is not a real date"))
            out["date_of_birth"] = dob
        if "sex" in subject:
            out["gender"] = CAN_SEX[subject["sex"]]
        if "birth_country" in subject:
            out["country_of_birth"] = subject["birth_country"]
        if "other_names" in subject:
            aliases = []
            for i, raw in enumerate(subject["other_names"]):
                family, _, given = raw.partition(",")
                if not family.strip():
                    errors.append(ICDError(f"{pointer}/other_names/{i}", 'expected "SURNAME, Given names"'))
                    continue
                aliases.append(_alias(family, given))
            out["aliases"] = aliases
        if "uci" in subject:
            out["partner_person_id"] = subject["uci"]
    elif template == "AUS-v1":
        out["family_name"] = nfc(subject["family_name"])
        if "given_names" in subject:
            out["given_names"] = nfc(subject["given_names"])
        if "date_of_birth" in subject:
            d, m, y = subject["date_of_birth"].split("/")
            if not _real_date(int(y), int(m), int(d)):
                errors.append(ICDError(f"{pointer}/date_of_birth", f"{subject['date_of_birth']} is not a real date"))
            out["date_of_birth"] = f"{y}-{m}-{d}"
        if "gender" in subject:
            out["gender"] = AUS_GENDER[subject["gender"]]
        if "country_of_birth" in subject:
            out["country_of_birth"] = subject["country_of_birth"]
        if "also_known_as" in subject:
            out["aliases"] = [_alias(a["family_name"], a.get("given_names", "")) for a in subject["also_known_as"]]
        if "client_id" in subject:
            out["partner_person_id"] = subject["client_id"]
    else:
        errors.append(ICDError("/body/template", f"unknown template {template}"))
    return out, errors


# --- accuracy check ---------------------------------------------------------------------------------------

def fold_name(value: str) -> tuple[str, ...]:
    """Name tokens with diacritics folded and other scripts transliterated, order-free (the People search's folding,
    cpms.core.models.fold_for_search, as a sorted tuple)."""
    return tuple(sorted(fold_for_search(value).split()))


def _name_forms(family: str, given: str, aliases: list[dict]) -> set[tuple[str, ...]]:
    forms = {fold_name(f"{family} {given}")}
    forms |= {fold_name(f"{a.get('family_name', '')} {a.get('given_names', '')}") for a in aliases or []}
    # CJK names transliterate syllable by syllable ("李伟" → "Li Wei" vs "LiWei"): compare joined forms too.
    return forms | {("".join(f),) for f in forms}


def dates_agree(a: str, b: str) -> bool:
    """Partial dates agree when every component both give is equal ("1979-05" agrees with "1979-05-14")."""
    parts_a, parts_b = (a or "").split("-"), (b or "").split("-")
    return all(x == y for x, y in zip(parts_a, parts_b, strict=False) if x and y)


@dataclass(frozen=True)
class Discrepancy:
    element: str
    partner: str
    uscis: str
    note: str


def accuracy_check(subject: dict, person) -> list[Discrepancy]:
    """Where the partner's (normalised) data and the USCIS record disagree: name, DOB, country of birth, gender."""
    out: list[Discrepancy] = []
    partner_forms = _name_forms(subject.get("family_name", ""), subject.get("given_names", ""), subject.get("aliases", []))
    uscis_forms = _name_forms(person.family_name, person.given_names, person.aliases)
    if not partner_forms & uscis_forms:
        out.append(Discrepancy("name", f"{subject.get('family_name', '')}, {subject.get('given_names', '')}",
                               f"{person.family_name}, {person.given_names}",
                               "no form of the name (aliases, diacritics folded, transliterated) matches"))
    dob = subject.get("date_of_birth", "")
    if dob and person.date_of_birth and not dates_agree(dob, person.date_of_birth):
        out.append(Discrepancy("date_of_birth", dob, person.date_of_birth, "dates of birth differ"))
    cob = subject.get("country_of_birth", "")
    if cob and person.country_of_birth and cob != person.country_of_birth:
        out.append(Discrepancy("country_of_birth", cob, person.country_of_birth, "countries of birth differ"))
    gender = subject.get("gender", "")
    if gender not in ("", "unknown") and person.gender not in ("", "unknown") and gender != person.gender:
        out.append(Discrepancy("gender", gender, person.gender, "genders differ"))
    return out
