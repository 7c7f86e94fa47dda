"""ICD §5 templates normalised to uniform-v1; the accuracy check's name folding."""

import unicodedata
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from cpms.partner_requests.normalise import accuracy_check, dates_agree, fold_name, normalise_subject
from ident_bridge import icd


def test_can_template():
    out, errors = normalise_subject("CAN-v1", {
        "surname": "Haddad", "given_names": "Amal", "dob": "1985-04-12", "sex": "F", "birth_country": "SYR",
        "other_names": ["HADDAD, Amal Y.", "AL-HADDAD,"], "uci": "12345678",
    })
    assert errors == []
    assert out == {"family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-12", "gender": "female",
                   "country_of_birth": "SYR", "aliases": [{"family_name": "HADDAD", "given_names": "Amal Y."},
                                                          {"family_name": "AL-HADDAD"}],
                   "partner_person_id": "12345678"}


def test_aus_template_day_first_dates_and_indeterminate_gender():
    out, errors = normalise_subject("AUS-v1", {
        "family_name": "Nguyễn", "given_names": "Thị Minh", "date_of_birth": "03/07/1988", "gender": "Indeterminate",
        "country_of_birth": "VNM", "also_known_as": [{"family_name": "Nguyen", "given_names": "Thi Minh"}], "client_id": "88213344",
    })
    assert errors == []
    assert out["date_of_birth"] == "1988-07-03" and out["gender"] == "x" and out["partner_person_id"] == "88213344"
    assert out["aliases"] == [{"family_name": "Nguyen", "given_names": "Thi Minh"}]


def test_uniform_partial_dates_pass_through():
    for dob in ("1979", "1979-05", "1979-05-14"):
        out, errors = normalise_subject("uniform-v1", {"family_name": "Petrenko", "date_of_birth": dob})
        assert errors == [] and out["date_of_birth"] == dob


def test_impossible_dates_are_errors_with_pointers():
    assert normalise_subject("AUS-v1", {"family_name": "X", "date_of_birth": "31/02/1988"})[1][0].pointer == "/body/subject/date_of_birth"
    assert normalise_subject("CAN-v1", {"surname": "X", "dob": "1988-02-30"})[1][0].pointer == "/body/subject/dob"
    assert normalise_subject("uniform-v1", {"family_name": "X", "date_of_birth": "1988-04-31"})[1]


def test_names_in_other_scripts_are_kept_nfc():
    decomposed = unicodedata.normalize("NFD", "Nguyễn")
    out, _ = normalise_subject("uniform-v1", {"family_name": decomposed, "given_names": "Олег"})
    assert out["family_name"] == unicodedata.normalize("NFC", "Nguyễn") and out["given_names"] == "Олег"


_day = st.integers(1, 28)
_month = st.integers(1, 12)
_year = st.integers(1900, 2025)


@settings(deadline=None)
@given(d=_day, m=_month, y=_year, g=st.sampled_from(["Female", "Male", "Indeterminate", "Unknown"]),
       # Control characters are refused at the door (ICD §2), so normalisation never sees them.
       name=st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_aus_normalisation_is_uniform_schema_valid(d, m, y, g, name):
    subject = {"family_name": name, "date_of_birth": f"{d:02d}/{m:02d}/{y}", "gender": g}
    out, errors = normalise_subject("AUS-v1", subject)
    assert errors == []
    assert out["date_of_birth"] == f"{y}-{m:02d}-{d:02d}"
    message = icd.envelope("request.received", "AUS", {
        "request_ref": "R1", "template": "uniform-v1", "requestor": {"name": "x"}, "requested_at": "2026-01-01T00:00:00Z",
        "reason": "other", "priority": "low", "fin": "FIN1000000001", "encounter_id": "ENC-000001", "subject": out,
        "requested_items": ["biographic"],
    })
    assert [e for e in icd.schema_errors(message) if e.pointer.startswith("/body/subject")] == []


@settings(deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=20).filter(lambda s: s.strip() and "," not in s),
                          st.text(max_size=20).filter(lambda s: "," not in s)), max_size=5))
def test_can_other_names_round_trip(pairs):
    strings = [f"{f}, {g}" for f, g in pairs]
    out, errors = normalise_subject("CAN-v1", {"surname": "X", "other_names": strings})
    assert errors == []
    assert [a["family_name"] for a in out["aliases"]] == [unicodedata.normalize("NFC", f).strip() for f, _ in pairs]


def test_fold_name_matches_diacritics_scripts_and_order():
    assert fold_name("Nguyễn Thị Minh") == fold_name("NGUYEN, Thi Minh") == fold_name("Thi Minh Nguyen")
    assert fold_name("Петренко Олег") == fold_name("Petrenko Oleg")
    assert fold_name("Haddad") != fold_name("Hadad")


def test_dates_agree_on_what_both_give():
    assert dates_agree("1979-05", "1979-05-14") and dates_agree("1979", "1979-12-31")
    assert not dates_agree("1979-06", "1979-05-14")


def _person(**kw):
    base = dict(family_name="Петренко", given_names="Олег", aliases=[], date_of_birth="1979-05-14", country_of_birth="UKR", gender="male")
    return SimpleNamespace(**(base | kw))


def test_accuracy_check_reports_each_disagreement():
    subject = {"family_name": "Petrenko", "given_names": "Oleg", "date_of_birth": "1979-06", "country_of_birth": "RUS", "gender": "female"}
    found = {d.element for d in accuracy_check(subject, _person())}
    assert found == {"date_of_birth", "country_of_birth", "gender"}


def test_accuracy_check_uses_aliases_and_cjk_joining():
    person = _person(family_name="李", given_names="伟", aliases=[], date_of_birth="1992-11-30", country_of_birth="CHN")
    assert accuracy_check({"family_name": "Li", "given_names": "Wei"}, person) == []
    assert [d.element for d in accuracy_check({"family_name": "Wang", "given_names": "Fang"}, person)] == ["name"]
