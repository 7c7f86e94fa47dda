"""The IDENT ⇄ CPMS interface control document (ICD v1) in code: envelope, schema, signing, attachments.

Nothing here touches the database or the network: CPMS's inbound/outbound code and the IDENT simulator
both build on it, so the two sides of the contract cannot drift apart. The schema file is a verbatim copy
of `shared/ident-icd.schema.json` (a test checks that it stays identical).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker

SCHEMA_PATH = Path(__file__).with_name("schema") / "ident-icd.schema.json"

MAX_BODY_BYTES = 25 * 1024 * 1024  # §1
CLOCK_WINDOW_SECONDS = 300  # §1
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # §7, decoded
MAX_ATTACHMENTS = 20  # §7

TIMESTAMP_HEADER = "X-Ident-Timestamp"
SIGNATURE_HEADER = "X-Ident-Signature"

# §3: who sends what.
CPMS_TO_IDENT = frozenset({"query.submit", "query.followup", "request.reply", "request.augment"})
IDENT_TO_CPMS = frozenset({"query.result", "query.response", "request.received", "delivery.ack"})

PARTNERS = ("CAN", "AUS", "GBR", "NZL")
REASONS = ("visa_applicant", "application", "refugee_claimant", "asylum_claimant", "enforcement", "absconder", "other")
PRIORITIES = ("high", "medium", "low")
REQUESTED_ITEMS = (
    "biographic",
    "immigration_status",
    "immigration_history",
    "watchlist_status",
    "photographs",
    "document_images",
)
GENDERS = ("female", "male", "x", "unknown")
MEDIA_TYPES = ("image/jpeg", "image/png", "image/tiff", "application/pdf")
ATTACHMENT_KINDS = ("photograph", "passport", "visa", "marriage_certificate", "identity_document", "other_document")
# §6: the person data elements, and the subset a round-1 match may carry.
PERSON_ELEMENTS = (
    "family_name",
    "given_names",
    "aliases",
    "date_of_birth",
    "gender",
    "race",
    "country_of_birth",
    "countries_of_citizenship",
    "a_number",
    "fin",
    "partner_person_id",
    "immigration_status",
    "immigration_history",
    "watchlist_status",
)
IDENTITY_ELEMENTS = ("family_name", "given_names", "date_of_birth", "gender", "country_of_birth")


@dataclass(frozen=True)
class ICDError:
    """One error in a message, named by the RFC 6901 JSON pointer of the offending field."""

    pointer: str
    detail: str

    def as_dict(self) -> dict:
        return {"pointer": self.pointer, "detail": self.detail}


class SignatureError(Exception):
    """Signature missing or wrong, or timestamp outside the clock window (401)."""


# --- serialisation and signing -------------------------------------------------------------------------


def canonical_bytes(message: dict) -> bytes:
    """The bytes we send for a message. Stored once in the outbox so that every retry is byte-identical."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_message_id() -> str:
    return str(uuid.uuid4())


def envelope(message_type: str, partner: str, body: dict, *, message_id: str | None = None, sent_at: str | None = None) -> dict:
    """§2: exactly message_id, type, sent_at, partner, body."""
    return {
        "message_id": message_id or new_message_id(),
        "type": message_type,
        "sent_at": sent_at or now_rfc3339(),
        "partner": partner,
        "body": body,
    }


def sign(raw_body: bytes, secret: str, timestamp: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + raw_body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(raw_body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: sign(raw_body, secret, ts),
    }


def verify_signature(raw_body: bytes, timestamp_header: str | None, signature_header: str | None, secret: str, *, now: float | None = None) -> None:
    """Raise SignatureError unless the headers carry a valid signature inside the clock window."""
    if not timestamp_header or not signature_header:
        raise SignatureError(f"The {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers are required.")
    try:
        ts = int(timestamp_header)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} must be integer seconds since the Unix epoch.") from None
    current = time.time() if now is None else now
    if abs(current - ts) > CLOCK_WINDOW_SECONDS:
        raise SignatureError(
            f"{TIMESTAMP_HEADER} is {int(current - ts)} s from the receiver's clock; the window is ±{CLOCK_WINDOW_SECONDS} s."
        )
    expected = sign(raw_body, secret, ts)
    if not hmac.compare_digest(expected.encode("ascii"), signature_header.strip().encode("ascii", "replace")):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body and timestamp.")


# --- schema validation ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _pointer(parts) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _leaf_errors(error) -> list[ICDError]:
    """Turn one jsonschema error into errors that point at the offending field.

    `oneOf` failures (request.reply, query.result, query.response) are resolved to the branch the message
    was trying to be: the branch with the fewest errors, ignoring branches ruled out by a `const`.
    """
    path = list(error.absolute_path)
    if error.validator == "oneOf" and error.context:
        branches: dict[int, list] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        plausible = {k: v for k, v in branches.items() if not any(e.validator == "const" for e in v)} or branches
        if plausible:
            best = min(plausible.values(), key=len)
            out: list[ICDError] = []
            for sub in best:
                out.extend(_leaf_errors(sub))
            if out:
                return out
        return [ICDError(_pointer(path), "does not match any of the allowed shapes for this field")]
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {}))) if isinstance(error.instance, dict) else []
        if extra:
            return [ICDError(_pointer(path + [name]), "is not an allowed member here") for name in extra]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        return [ICDError(_pointer(path + [missing]) if missing else _pointer(path), "is required")]
    if error.validator == "not" and error.validator_value and isinstance(error.instance, dict):
        return [ICDError(_pointer(path), "carries members that may not appear together: " + error.message)]
    return [ICDError(_pointer(path), error.message)]


def schema_errors(message) -> list[ICDError]:
    errors: list[ICDError] = []
    for error in sorted(_validator().iter_errors(message), key=lambda e: list(map(str, e.absolute_path))):
        errors.extend(_leaf_errors(error))
    # The same pointer can be reported twice by overlapping keywords; keep the first of each.
    seen: set[tuple[str, str]] = set()
    unique = []
    for e in errors:
        if (e.pointer, e.detail) not in seen:
            seen.add((e.pointer, e.detail))
            unique.append(e)
    return unique


# --- attachments ---------------------------------------------------------------------------------------

_MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
    "application/pdf": (b"%PDF-",),
}


def sniff_media_type(data: bytes) -> str | None:
    """The media type that the bytes' magic number says, among the ICD's four, or None."""
    for media_type, prefixes in _MAGIC.items():
        if any(data.startswith(p) for p in prefixes):
            return media_type
    return None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def attachment(*, filename: str, media_type: str, kind: str, data: bytes) -> dict:
    return {
        "filename": filename,
        "media_type": media_type,
        "kind": kind,
        "sha256": sha256_hex(data),
        "content_base64": base64.b64encode(data).decode("ascii"),
    }


@dataclass(frozen=True)
class DecodedAttachment:
    pointer: str
    filename: str
    media_type: str
    kind: str
    sha256: str
    data: bytes


def message_attachments(message: dict) -> list[tuple[str, dict]]:
    """(pointer, attachment) for every attachment a (schema-valid) message carries."""
    body = message.get("body") or {}
    found: list[tuple[str, dict]] = []
    if isinstance(body.get("attachments"), list):
        found += [(f"/body/attachments/{i}", a) for i, a in enumerate(body["attachments"])]
    package = body.get("package")
    if isinstance(package, dict) and isinstance(package.get("attachments"), list):
        found += [(f"/body/package/attachments/{i}", a) for i, a in enumerate(package["attachments"])]
    return found


def decode_attachments(message: dict) -> tuple[list[DecodedAttachment], list[ICDError]]:
    """§7: decode each attachment and check sha256, magic number and size. Any error refuses the message."""
    decoded: list[DecodedAttachment] = []
    errors: list[ICDError] = []
    items = message_attachments(message)
    if len(items) > MAX_ATTACHMENTS:
        errors.append(ICDError(items[MAX_ATTACHMENTS][0], f"at most {MAX_ATTACHMENTS} attachments per message"))
    for pointer, att in items:
        try:
            data = base64.b64decode(att["content_base64"], validate=True)
        except (binascii.Error, ValueError):
            errors.append(ICDError(pointer + "/content_base64", "is not valid base64"))
            continue
        if len(data) > MAX_ATTACHMENT_BYTES:
            errors.append(ICDError(pointer + "/content_base64", f"decodes to {len(data)} bytes; the limit is {MAX_ATTACHMENT_BYTES}"))
            continue
        if sha256_hex(data) != att["sha256"]:
            errors.append(ICDError(pointer + "/sha256", "is not the SHA-256 of the decoded content"))
            continue
        actual = sniff_media_type(data)
        if actual != att["media_type"]:
            errors.append(
                ICDError(pointer + "/media_type", f"says {att['media_type']} but the content is {actual or 'of an unrecognised type'}")
            )
            continue
        decoded.append(DecodedAttachment(pointer, att["filename"], att["media_type"], att["kind"], att["sha256"], data))
    return decoded, errors


# --- whole-message check -------------------------------------------------------------------------------


@dataclass
class Parsed:
    message: dict | None
    errors: list[ICDError]
    attachments: list[DecodedAttachment]


def parse(raw_body: bytes, *, accept_types: frozenset[str]) -> Parsed:
    """Parse and check one message body: JSON, schema, direction, attachments. Signature is checked apart."""
    try:
        message = json.loads(raw_body.decode("utf-8"))
    except UnicodeDecodeError:
        return Parsed(None, [ICDError("", "the body is not UTF-8")], [])
    except json.JSONDecodeError as exc:
        return Parsed(None, [ICDError("", f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")], [])
    errors = schema_errors(message)
    if errors:
        return Parsed(message if isinstance(message, dict) else None, errors, [])
    if message["type"] not in accept_types:
        return Parsed(message, [ICDError("/type", f"{message['type']} is not a message this receiver accepts")], [])
    attachments, att_errors = decode_attachments(message)
    return Parsed(message, att_errors, attachments if not att_errors else [])


def problem(status: int, title: str, detail: str, errors: list[ICDError] | None = None, *, type_: str | None = None) -> dict:
    """An RFC 9457 problem document as the ICD §1 shapes it."""
    doc = {
        "type": type_ or f"urn:cpms:problem:{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        doc["errors"] = [e.as_dict() for e in errors]
    return doc
