"""The foreign partners' galleries: whom each partner's fingerprint search finds, by FIN.

Fixed, seeded data so that the demo, docs/simulator.md and the tests agree on who matches where:

    FIN1000000001  CAN only       Amal Haddad (SYR, 1985-04-12, female)
    FIN1000000002  AUS only       Nguyễn Thị Minh (VNM, 1988-07-03, female)
    FIN1000000003  CAN and AUS    Петренко Олег / Petrenko Oleg (UKR, 1979; AUS only knows "1979-05")
    FIN1000000004  nowhere
    FIN1000000005  CAN only       李 伟 / Li Wei (CHN, 1992-11-30, male)

Any other FIN matches nowhere; the GBR and NZL galleries are empty. Names are kept in the script the
partner holds them in (ICD §5: any script, NFC-normalised); `document_name` is the Latin form printed on
travel documents and is used only to draw the generated document images and their MRZ.

A partner's own request (`request.received`) is about someone the partner encountered, which needs no
prior match in its search gallery: `request_subject` gives the person a request is about (the partner's
gallery person; else the person the demo knows under that FIN, as this partner recorded them; else a
stable generic person). The FINs of CPMS's demo persons are in `DEMO_REQUEST_FINS`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

from .. import icd


@dataclass(frozen=True)
class Alias:
    family_name: str
    given_names: str = ""

    def as_dict(self) -> dict:
        return {"family_name": self.family_name, **({"given_names": self.given_names} if self.given_names else {})}


@dataclass(frozen=True)
class HistoryEvent:
    date: str
    event: str
    detail: str = ""

    def as_dict(self) -> dict:
        return {"date": self.date, "event": self.event, **({"detail": self.detail} if self.detail else {})}


@dataclass(frozen=True)
class GalleryPerson:
    """One person as one partner's gallery holds them. Frozen and hashable so generated images can be cached."""

    partner: str
    fin: str
    partner_person_id: str  # CAN: an 8 or 10-digit UCI; AUS: a client id
    family_name: str
    given_names: str
    date_of_birth: str  # YYYY-MM-DD, or partial YYYY-MM / YYYY where the partner only knows that much
    gender: str  # ICD §4 uniform vocabulary
    country_of_birth: str
    countries_of_citizenship: tuple[str, ...]
    document_name: tuple[str, str]  # (family, given) in Latin letters, as on the passport's data page
    aliases: tuple[Alias, ...] = ()
    immigration_status: tuple[str, str] | None = None  # (status, as_of)
    immigration_history: tuple[HistoryEvent, ...] = ()
    watchlist_status: tuple[tuple[str, str], ...] = ()  # (type, status_date); empty means "checked, nothing"

    def identity(self) -> dict:
        """ICD §6: the round-1 `biographic` of a match, limited to what confirms identity."""
        return {
            "family_name": self.family_name,
            "given_names": self.given_names,
            "date_of_birth": self.date_of_birth,
            "gender": self.gender,
            "country_of_birth": self.country_of_birth,
        }

    def elements(self) -> dict:
        """Every ICD §6 person data element this gallery holds; callers pick what a round may carry."""
        elements = {
            **self.identity(),
            "aliases": [a.as_dict() for a in self.aliases],
            "countries_of_citizenship": list(self.countries_of_citizenship),
            "partner_person_id": self.partner_person_id,
            "immigration_history": [e.as_dict() for e in self.immigration_history],
            "watchlist_status": [{"type": t, "status_date": d} for t, d in self.watchlist_status],
        }
        if self.immigration_status is not None:
            status, as_of = self.immigration_status
            elements["immigration_status"] = {"status": status, "as_of": as_of}
        return elements


_PEOPLE = (
    GalleryPerson(
        partner="CAN",
        fin="FIN1000000001",
        partner_person_id="12345678",
        family_name="Haddad",
        given_names="Amal",
        date_of_birth="1985-04-12",
        gender="female",
        country_of_birth="SYR",
        countries_of_citizenship=("SYR",),
        document_name=("Haddad", "Amal"),
        aliases=(Alias("حداد", "أمل"),),
        immigration_status=("Protected person", "2019-03-18"),
        immigration_history=(
            HistoryEvent("2016-02-10", "Arrival", "Toronto Pearson (YYZ), government-assisted refugee resettlement"),
            HistoryEvent("2016-02-10", "Permanent residence granted", "Resettled refugee class"),
            HistoryEvent("2019-03-18", "Protected person status confirmed", "Immigration and Refugee Board"),
        ),
    ),
    GalleryPerson(
        partner="AUS",
        fin="FIN1000000002",
        partner_person_id="88213344",
        family_name="Nguyễn",
        given_names="Thị Minh",
        date_of_birth="1988-07-03",
        gender="female",
        country_of_birth="VNM",
        countries_of_citizenship=("VNM",),
        document_name=("Nguyen", "Thi Minh"),
        aliases=(Alias("Nguyen", "Thi Minh"),),
        immigration_status=("Bridging visa E (subclass 050)", "2024-02-01"),
        immigration_history=(
            HistoryEvent("2023-11-05", "Arrival", "Sydney (SYD), visitor visa (subclass 600)"),
            HistoryEvent("2024-01-15", "Protection visa application lodged", "Subclass 866"),
            HistoryEvent("2024-02-01", "Bridging visa granted", "Subclass 050, pending protection decision"),
        ),
    ),
    GalleryPerson(
        partner="CAN",
        fin="FIN1000000003",
        partner_person_id="1122334455",
        family_name="Петренко",
        given_names="Олег",
        date_of_birth="1979-05-14",
        gender="male",
        country_of_birth="UKR",
        countries_of_citizenship=("UKR",),
        document_name=("Petrenko", "Oleg"),
        aliases=(Alias("Petrenko", "Oleg"),),
        immigration_status=("Temporary resident, open work permit", "2022-04-01"),
        immigration_history=(
            HistoryEvent("2022-03-28", "Arrival", "Montréal (YUL), Canada-Ukraine authorization for emergency travel"),
            HistoryEvent("2022-04-01", "Work permit issued", "Open work permit, valid three years"),
        ),
        watchlist_status=(("Document fraud alert (historical)", "2014-06-30"),),
    ),
    GalleryPerson(
        partner="AUS",
        fin="FIN1000000003",
        partner_person_id="88990011",
        family_name="Petrenko",
        given_names="Oleg",
        date_of_birth="1979-05",
        gender="male",
        country_of_birth="UKR",
        countries_of_citizenship=("UKR",),
        document_name=("Petrenko", "Oleg"),
        aliases=(Alias("Петренко", "Олег"),),
        immigration_status=("Temporary humanitarian visa (subclass 786)", "2023-01-10"),
        immigration_history=(
            HistoryEvent("2022-05-02", "Arrival", "Melbourne (MEL), visitor visa (subclass 600)"),
            HistoryEvent("2023-01-10", "Visa granted", "Temporary humanitarian concern, subclass 786"),
        ),
    ),
    GalleryPerson(
        partner="CAN",
        fin="FIN1000000005",
        partner_person_id="87654321",
        family_name="李",
        given_names="伟",
        date_of_birth="1992-11-30",
        gender="male",
        country_of_birth="CHN",
        countries_of_citizenship=("CHN",),
        document_name=("Li", "Wei"),
        aliases=(Alias("Li", "Wei"),),
        immigration_status=("Study permit holder", "2023-08-20"),
        immigration_history=(
            HistoryEvent("2018-08-25", "Arrival", "Vancouver (YVR), study permit"),
            HistoryEvent("2023-08-20", "Study permit extended", "Graduate studies, University of British Columbia"),
        ),
    ),
)

GALLERIES: dict[str, dict[str, GalleryPerson]] = {partner: {} for partner in icd.PARTNERS}
for _person in _PEOPLE:
    GALLERIES[_person.partner][_person.fin] = _person


def lookup(partner: str, fin: str) -> GalleryPerson | None:
    """The person a partner's fingerprint search finds for a FIN, or None (a no-match)."""
    return GALLERIES.get(partner, {}).get(fin)


# (family, given, gender, country of birth, Latin document name) for partners' requests about a FIN that
# is in no gallery: a partner asking about its own encounter does not need a prior match with USCIS.
# None of them shares a name with a demo person, so an unknown FIN never looks like a known one.
_GENERIC_SUBJECTS = (
    ("García López", "María José", "female", "MEX", ("Garcia Lopez", "Maria Jose")),
    ("Johansson", "Erik", "male", "SWE", ("Johansson", "Erik")),
    ("田中", "結衣", "female", "JPN", ("Tanaka", "Yui")),
)


def generic_person(partner: str, fin: str) -> GalleryPerson:
    """A stable made-up subject for (partner, FIN), so the same request always renders the same way."""
    seed = int(hashlib.sha256(f"{partner}:{fin}".encode("ascii")).hexdigest(), 16)
    family, given, gender, country, document_name = _GENERIC_SUBJECTS[seed % len(_GENERIC_SUBJECTS)]
    return GalleryPerson(
        partner=partner,
        fin=fin,
        partner_person_id=f"{seed % 10**8:08d}",  # 8 digits: also a valid CAN UCI
        family_name=family,
        given_names=given,
        date_of_birth=f"{1960 + seed % 40}-{1 + seed // 40 % 12:02d}-{1 + seed // 480 % 28:02d}",
        gender=gender,
        country_of_birth=country,
        countries_of_citizenship=(country,),
        document_name=document_name,
    )



# --- whom a partner's own request is about ---------------------------------------------------------------

# The persons CPMS's demo data holds in CIS (docs/demo-data.md), and what CPMS is expected to do when a
# partner asks about them. The simulator's page offers them in its FIN list; `manage.py sim_send_request
# --all-demo` sends one request for each. Keep this the only copy of the list.
DEMO_REQUEST_FINS: list[tuple[str, str]] = [
    # Labels follow docs/demo-data.md (what CPMS's local CIS index says about each person).
    ("FIN1000000001", "asylum applicant; CAN/AUS agreements carry the Secretary's authorisation → ICTS case"),
    ("FIN1000000002", "refugee; authorisation → ICTS case"),
    ("FIN1000000003", "asylum applicant and T nonimmigrant → no_match (8 U.S.C. 1367)"),
    ("FIN1000000004", "U applicant → no_match (8 U.S.C. 1367)"),
    ("FIN1000000005", "VAWA self-petitioner → no_match (8 U.S.C. 1367)"),
    ("FIN1000000006", "lawful permanent resident → no_match"),
    ("FIN1000000007", "asylee who fears persecution in AUS: CAN → ICTS case, AUS → no_match"),
    ("FIN1000000008", "CIS answer incomplete → waits, then a privacy officer"),
    ("FIN1000000009", "U application denied, appeals exhausted → ICTS case"),
    ("FIN9999999999", "unknown to USCIS → no_match"),
]

# Demo persons no partner's search gallery holds (so an officer's query about them stays a no-match), but
# whom a partner may have encountered and ask USCIS about. `partner` and `partner_person_id` are filled in
# per asking partner by `request_subject`. Names as in CPMS's demo data, in the script the partner holds.
_ENCOUNTERED = {
    person.fin: person
    for person in (
        GalleryPerson(
            partner="",
            fin="FIN1000000004",
            partner_person_id="",
            family_name="Mukendi",
            given_names="Jean-Baptiste",
            date_of_birth="1990-02-14",
            gender="male",
            country_of_birth="COD",
            countries_of_citizenship=("COD",),
            document_name=("Mukendi", "Jean Baptiste"),
            aliases=(Alias("Mukendi Kabasele", "Jean-Baptiste"),),
            immigration_status=("Visitor visa application refused", "2025-06-30"),
            immigration_history=(HistoryEvent("2025-05-12", "Visitor visa application lodged", "Biometrics enrolled"),),
        ),
        GalleryPerson(
            partner="",
            fin="FIN1000000006",
            partner_person_id="",
            family_name="Kowalski",
            given_names="Marta",
            date_of_birth="1975-03-02",
            gender="female",
            country_of_birth="POL",
            countries_of_citizenship=("POL",),
            document_name=("Kowalska", "Marta"),
            aliases=(Alias("Kowalska", "Marta"),),
            immigration_status=("Work visa application pending", "2025-09-01"),
            immigration_history=(HistoryEvent("2025-09-01", "Skilled work visa application lodged", "Biometrics enrolled"),),
        ),
        GalleryPerson(
            partner="",
            fin="FIN1000000007",
            partner_person_id="",
            family_name="Okafor",
            given_names="Chinedu",
            date_of_birth="1983-09-09",
            gender="male",
            country_of_birth="NGA",
            countries_of_citizenship=("NGA",),
            document_name=("Okafor", "Chinedu"),
            aliases=(Alias("Okafor", "Chinedu Emmanuel"),),
            immigration_status=("Protection claim pending", "2025-08-18"),
            immigration_history=(HistoryEvent("2025-08-18", "Protection claim lodged", "At the port of entry"),),
        ),
        GalleryPerson(
            partner="",
            fin="FIN1000000008",
            partner_person_id="",
            family_name="Haidari",
            given_names="Yusuf",
            date_of_birth="1999-01-20",
            gender="male",
            country_of_birth="AFG",
            countries_of_citizenship=("AFG",),
            document_name=("Haidari", "Yusuf"),
            aliases=(Alias("حیدری", "یوسف"),),
            immigration_status=("Humanitarian visa application pending", "2025-07-07"),
            immigration_history=(HistoryEvent("2025-07-07", "Humanitarian visa application lodged", "Offshore, biometrics enrolled"),),
        ),
        GalleryPerson(
            partner="",
            fin="FIN1000000009",
            partner_person_id="",
            family_name="Santos",
            given_names="Lucía",
            date_of_birth="1987-06-05",
            gender="female",
            country_of_birth="HND",
            countries_of_citizenship=("HND",),
            document_name=("Santos", "Lucia"),
            aliases=(Alias("Santos Mejía", "Lucía"),),
            immigration_status=("Asylum claim pending", "2025-10-02"),
            immigration_history=(HistoryEvent("2025-10-02", "Asylum claim lodged", "Inland office, biometrics enrolled"),),
        ),
    )
}


def _partner_id(partner: str, fin: str) -> str:
    # 8 digits: a valid CAN UCI and AUS client id; stable per (partner, FIN) so a re-sent request matches.
    return f"{int(hashlib.sha256(f'{partner}:{fin}:encounter'.encode('ascii')).hexdigest(), 16) % 10**8:08d}"


def request_subject(partner: str, fin: str) -> GalleryPerson:
    """The person `partner` asks USCIS about when its encounter matched `fin` (and whom it answers a
    `request.augment` about): its own gallery person; else the demo person known under that FIN, as this
    partner recorded them (identity only: another partner's immigration records are not this one's);
    else a stable generic person. Deterministic, so a request and its augmentations agree."""
    own = lookup(partner, fin)
    if own is not None:
        return own
    encountered = _ENCOUNTERED.get(fin)
    if encountered is not None:
        return replace(encountered, partner=partner, partner_person_id=_partner_id(partner, fin))
    elsewhere = next((GALLERIES[other][fin] for other in icd.PARTNERS if fin in GALLERIES[other]), None)
    if elsewhere is not None:
        return replace(
            elsewhere,
            partner=partner,
            partner_person_id=_partner_id(partner, fin),
            immigration_status=None,
            immigration_history=(),
            watchlist_status=(),
        )
    return generic_person(partner, fin)
