"""What IDENT and the foreign partners answer to each CPMS message (ICD §3), and the partners' own requests.

Pure functions: a CPMS message and the gallery person in, the IDENT → CPMS messages to queue out, each
with the time it falls due. No I/O, no state: `server.Simulator` looks up the person, stores the answers
in its outbound queue in the same transaction that marks the CPMS message processed, and sends them.

Every message built here is checked against the ICD schema before it leaves this module. A failure is a
bug in the simulator, so it raises rather than letting garbage reach CPMS.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from .. import icd
from . import images
from .galleries import GalleryPerson

TEMPLATES = ("uniform-v1", "CAN-v1", "AUS-v1")

# Who signs the partners' answers and requests (ICD `contact`).
CONTACTS = {
    "CAN": {
        "name": "Biometric Analyst",
        "organization": "Immigration, Refugees and Citizenship Canada",
        "email": "biometrics.analyst@example.gc.ca",
    },
    "AUS": {"name": "J. Citizen", "organization": "Department of Home Affairs", "email": "j.citizen@example.gov.au"},
    "GBR": {"name": "Biometric Casework", "organization": "Home Office", "email": "biometric.casework@example.gov.uk"},
    "NZL": {"name": "Identity Services", "organization": "Immigration New Zealand", "email": "identity@example.govt.nz"},
}

# The automatic round 2 carries the full biographic and immigration picture (not the watchlist: that is
# what an officer asks for in round 3).
ROUND_TWO_ELEMENTS = (
    "family_name",
    "given_names",
    "aliases",
    "date_of_birth",
    "gender",
    "country_of_birth",
    "countries_of_citizenship",
    "partner_person_id",
    "immigration_status",
    "immigration_history",
)
# Round 3 and augmentation answers: what each requested item yields. Names and the partner's id always
# come along so CPMS can tie the answer to the person.
ALWAYS_ELEMENTS = ("family_name", "given_names", "partner_person_id")
ITEM_ELEMENTS: dict[str, tuple[str, ...]] = {
    "biographic": ("aliases", "date_of_birth", "gender", "country_of_birth", "countries_of_citizenship"),
    "immigration_status": ("immigration_status",),
    "immigration_history": ("immigration_history",),
    "watchlist_status": ("watchlist_status",),
    "photographs": (),  # answered with an attachment
    "document_images": (),  # answered with an attachment
}

_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UCI = re.compile(r"^(\d{8}|\d{10})$")
_CAN_SEX = {"female": "F", "male": "M", "x": "X", "unknown": "U"}
_AUS_GENDER = {"female": "Female", "male": "Male", "x": "Indeterminate", "unknown": "Unknown"}


class OutboundSchemaError(RuntimeError):
    """The simulator built a message the ICD schema refuses: a simulator bug, never CPMS's problem."""


@dataclass(frozen=True)
class Outgoing:
    """One IDENT → CPMS message, serialised once: every delivery attempt sends exactly `raw`."""

    message: dict
    raw: bytes
    due: float  # epoch seconds; the partner's answer delay is modelled by when the message falls due

    @property
    def message_id(self) -> str:
        return self.message["message_id"]


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def outgoing(message_type: str, partner: str, body: dict, *, due: float) -> Outgoing:
    """Envelope, check against the schema, serialise. `sent_at` is when the message falls due."""
    if message_type not in icd.IDENT_TO_CPMS:
        raise OutboundSchemaError(f"{message_type} is not an IDENT → CPMS message type")
    message = icd.envelope(message_type, partner, body, sent_at=rfc3339(due))
    errors = icd.schema_errors(message)
    if errors:
        listed = "; ".join(f"{e.pointer or '/'}: {e.detail}" for e in errors)
        raise OutboundSchemaError(f"simulator built an invalid {message_type}: {listed}")
    return Outgoing(message, icd.canonical_bytes(message), due)


# --- the pieces of an answer ----------------------------------------------------------------------------


def _person(person: GalleryPerson, names: tuple[str, ...] | list[str]) -> dict:
    elements = person.elements()
    return {name: elements[name] for name in icd.PERSON_ELEMENTS if name in names and name in elements}


def _photograph(person: GalleryPerson) -> dict:
    return icd.attachment(
        filename=f"{person.partner}-{person.partner_person_id}-photograph.png",
        media_type="image/png",
        kind="photograph",
        data=images.photograph_png(person),
    )


def _document(person: GalleryPerson, kind: images.DocumentKind) -> dict:
    # A passport is issued by the person's country; a visa by the partner that holds the gallery.
    issuer = (person.countries_of_citizenship or (person.country_of_birth,))[0] if kind == "passport" else person.partner
    return icd.attachment(
        filename=f"{person.partner}-{person.partner_person_id}-{kind}.jpg",
        media_type="image/jpeg",
        kind=kind,
        data=images.document_jpeg(person, kind=kind, issuer=issuer),
    )


def _requested(person: GalleryPerson, requested_items: list[str]) -> tuple[dict, list[dict]]:
    """The person elements and attachments that answer a round-3 or augmentation request."""
    names = list(ALWAYS_ELEMENTS)
    for item in requested_items:
        names.extend(ITEM_ELEMENTS[item])
    attachments = []
    if "photographs" in requested_items:
        attachments.append(_photograph(person))
    if "document_images" in requested_items:
        attachments.append(_document(person, "visa"))
    return _person(person, names), attachments


def delivery_ack(message: dict, *, due: float) -> Outgoing:
    """IDENT reached the partner: every accepted CPMS message gets one."""
    body = {"acked_message_id": message["message_id"], "status": "delivered"}
    return outgoing("delivery.ack", message["partner"], body, due=due)


def _response(partner: str, refs: dict, person: dict, attachments: list[dict], *, due: float) -> Outgoing:
    body = {**refs, "responder": CONTACTS[partner], "responded_at": rfc3339(due), "person": person, "attachments": attachments}
    return outgoing("query.response", partner, body, due=due)


# --- the partner's behaviour ----------------------------------------------------------------------------


def answer_query_submit(message: dict, person: GalleryPerson | None, *, now: float, delay: float) -> list[Outgoing]:
    """Round 1, and on a match IDENT's automatic round 2 one delay later (ICD §3)."""
    partner, query_ref = message["partner"], message["body"]["query_ref"]
    answers = [delivery_ack(message, due=now)]
    if person is None:
        body = {"query_ref": query_ref, "outcome": "no_match"}
        return [*answers, outgoing("query.result", partner, body, due=now + delay)]
    result = {
        "query_ref": query_ref,
        "outcome": "match",
        "partner_person_id": person.partner_person_id,
        "biographic": person.identity(),
        "second_query_sent": True,
    }
    answers.append(outgoing("query.result", partner, result, due=now + delay))
    attachments = [_photograph(person), _document(person, "passport")]
    refs = {"query_ref": query_ref, "round": 2}
    answers.append(_response(partner, refs, _person(person, ROUND_TWO_ELEMENTS), attachments, due=now + 2 * delay))
    return answers


def answer_query_followup(message: dict, person: GalleryPerson, *, now: float, delay: float) -> list[Outgoing]:
    """Round 3: exactly what the officer's `requested_items` asked for."""
    body = message["body"]
    person_elements, attachments = _requested(person, body["requested_items"])
    refs = {"query_ref": body["query_ref"], "round": 3}
    return [delivery_ack(message, due=now), _response(message["partner"], refs, person_elements, attachments, due=now + delay)]


def answer_request_augment(message: dict, person: GalleryPerson, *, now: float, delay: float) -> list[Outgoing]:
    """USCIS asks the requesting partner for more on the same person; the answer names the augment_ref."""
    body = message["body"]
    person_elements, attachments = _requested(person, body["requested_items"])
    refs = {"augment_ref": body["augment_ref"]}
    return [delivery_ack(message, due=now), _response(message["partner"], refs, person_elements, attachments, due=now + delay)]


def answer_request_reply(message: dict, *, now: float) -> list[Outgoing]:
    """The partner got CPMS's reply; IDENT confirms delivery and nothing else follows."""
    return [delivery_ack(message, due=now)]


# --- the partner's own request (request.received) --------------------------------------------------------


def render_subject(person: GalleryPerson, template: str) -> dict:
    """ICD §5: the subject as the partner's template shapes it. Fields a template cannot express are left
    out (CAN and AUS take only full dates of birth; a UCI is 8 or 10 digits)."""
    full_date = bool(_FULL_DATE.match(person.date_of_birth))
    aliases = [a.as_dict() for a in person.aliases]
    if template == "uniform-v1":
        subject = {**person.identity(), "aliases": aliases, "partner_person_id": person.partner_person_id}
    elif template == "CAN-v1":
        subject = {
            "surname": person.family_name,
            "given_names": person.given_names,
            "sex": _CAN_SEX[person.gender],
            "birth_country": person.country_of_birth,
            "other_names": [f"{a.family_name.upper()}, {a.given_names}" if a.given_names else a.family_name.upper()
                            for a in person.aliases],
        }
        if full_date:
            subject["dob"] = person.date_of_birth
        if _UCI.match(person.partner_person_id):
            subject["uci"] = person.partner_person_id
    elif template == "AUS-v1":
        subject = {
            "family_name": person.family_name,
            "given_names": person.given_names,
            "gender": _AUS_GENDER[person.gender],
            "country_of_birth": person.country_of_birth,
            "also_known_as": aliases,
            "client_id": person.partner_person_id,
        }
        if full_date:
            year, month, day = person.date_of_birth.split("-")
            subject["date_of_birth"] = f"{day}/{month}/{year}"
    else:
        raise ValueError(f"unknown template {template!r}; expected one of {', '.join(TEMPLATES)}")
    return subject


def request_received(
    person: GalleryPerson,
    *,
    partner: str,
    template: str,
    request_ref: str,
    requested_items: list[str],
    reason: str,
    priority: str,
    now: float,
) -> Outgoing:
    """A partner asks USCIS for additional information about a USCIS-sourced biometric match."""
    # The partner's own fingerprint encounter id, stable per request so a re-render is identical.
    encounter = int(hashlib.sha256(request_ref.encode("utf-8")).hexdigest(), 16) % 10**6
    body = {
        "request_ref": request_ref,
        "template": template,
        "requestor": CONTACTS[partner],
        "requested_at": rfc3339(now),
        "reason": reason,
        "priority": priority,
        "fin": person.fin,
        "encounter_id": f"{partner}-FP-{encounter:06d}",
        "subject": render_subject(person, template),
        "requested_items": requested_items,
    }
    return outgoing("request.received", partner, body, due=now)
