"""The IDENT ⇄ CPMS interface control document (ICD v1.2) in code: envelope, schema, signing, attachments.

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
import math
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import jsonschema_rs
import orjson

SCHEMA_PATH = Path(__file__).with_name("schema") / "ident-icd.schema.json"

MAX_BODY_BYTES = 25 * 1024 * 1024  # §1
CLOCK_WINDOW_SECONDS = 300  # §1
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # §7, decoded

# The receiver's clock for the ±300 s window; tests pin it (`now=` or this name), never the machine's clock.
clock = time.time

TIMESTAMP_HEADER = "X-Ident-Timestamp"
SIGNATURE_HEADER = "X-Ident-Signature"

# §3: who sends what.
CPMS_TO_IDENT = frozenset({"query.submit", "query.followup", "request.reply", "request.augment", "disclosure.correction"})
IDENT_TO_CPMS = frozenset({"query.result", "query.response", "request.received", "delivery.ack"})

# The vocabularies and caps are read from the schema (ICD §4-§7), the one place they are written; a new version of the
# schema brings its own. The transport's limits (§1) are not in the schema and stay above.
_SCHEMA_DOC = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
_DEFS = _SCHEMA_DOC["$defs"]
MESSAGE_TYPES = tuple(_SCHEMA_DOC["properties"]["type"]["enum"])
PARTNERS = tuple(_SCHEMA_DOC["properties"]["partner"]["enum"])
REASONS = tuple(_DEFS["reason"]["enum"])
PRIORITIES = tuple(_DEFS["priority"]["enum"])
REQUESTED_ITEMS = tuple(_DEFS["requested_items"]["items"]["enum"])
GENDERS = tuple(_DEFS["gender"]["enum"])
MEDIA_TYPES = tuple(_DEFS["attachment"]["properties"]["media_type"]["enum"])
ATTACHMENT_KINDS = tuple(_DEFS["attachment"]["properties"]["kind"]["enum"])
MAX_ATTACHMENTS = _DEFS["attachments"]["maxItems"]  # §7
# §6: the person data elements, and the subset a round-1 match may carry.
PERSON_ELEMENTS = tuple(_DEFS["person"]["properties"])
IDENTITY_ELEMENTS = tuple(_DEFS["identity_biographic"]["properties"])
if CPMS_TO_IDENT | IDENT_TO_CPMS != set(MESSAGE_TYPES):
    raise RuntimeError("ICD §3's directions must name every message type the schema has")


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
    current = clock() if now is None else now
    if abs(current - ts) > CLOCK_WINDOW_SECONDS:
        raise SignatureError(
            f"{TIMESTAMP_HEADER} is {int(current - ts)} s from the receiver's clock; the window is ±{CLOCK_WINDOW_SECONDS} s."
        )
    expected = sign(raw_body, secret, ts)
    if not hmac.compare_digest(expected.encode("ascii"), signature_header.strip().encode("ascii", "replace")):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body and timestamp.")


# --- schema validation ---------------------------------------------------------------------------------
# jsonschema-rs: JSON Schema 2020-12 with every `format` enforced (a date-time or date must be a real calendar
# instant or day) and ECMA-262 regular expressions (`$` only at the very end), as ICD §2 requires. The Python
# `jsonschema` package checks formats only with optional extras and runs patterns through `re`, where `$` also
# matches before a trailing newline; bench/icd_validation.py measures the two.


def _schema() -> dict:
    return _SCHEMA_DOC


@lru_cache(maxsize=1)
def _validator():
    return jsonschema_rs.validator_for(_schema(), validate_formats=True)


@lru_cache(maxsize=1)
def _person_validator():
    return jsonschema_rs.validator_for({"$ref": "#/$defs/person", "$defs": _schema()["$defs"]}, validate_formats=True)


def _pointer(parts) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _kind_name(error) -> str:
    return type(error.kind).__name__


def _leaf_errors(error) -> list[ICDError]:
    """Turn one jsonschema-rs error into errors that point at the offending field.

    `oneOf` failures (request.reply, query.result, query.response) are resolved to the branch the message
    was trying to be: the branch with the fewest errors, ignoring branches ruled out by a `const`.
    """
    path = list(error.instance_path)
    kind = _kind_name(error)
    if kind in ("OneOfNotValid", "AnyOf") and getattr(error.kind, "context", None):
        branches = [list(b) for b in error.kind.context]
        plausible = [b for b in branches if b and not any(_kind_name(e) == "Constant" for e in b)] or [b for b in branches if b]
        if plausible:
            best = min(plausible, key=len)
            out: list[ICDError] = []
            for sub in best:
                out.extend(_leaf_errors(sub))
            if out:
                return out
        return [ICDError(_pointer(path), "does not match any of the allowed shapes for this field")]
    if kind == "AdditionalProperties" and isinstance(error.instance, dict):
        allowed = set(_subschema(error.schema_path[:-1]).get("properties", {}))
        extra = sorted(set(error.instance) - allowed)
        if extra:
            return [ICDError(_pointer(path + [name]), "is not an allowed member here") for name in extra]
    if kind == "Required":
        missing = error.kind.as_dict().get("property")
        if isinstance(missing, str):
            return [ICDError(_pointer(path + [missing]), "is required")]
    if kind == "Not" and isinstance(error.instance, dict):
        return [ICDError(_pointer(path), "carries members that may not appear together")]
    if kind == "Format":
        fmt = error.kind.as_dict().get("format", "")
        return [ICDError(_pointer(path), f"is not a valid {fmt}" + (" (a real calendar date and time, RFC 3339)"
                                                                     if fmt == "date-time" else
                                                                     " (a real calendar day, YYYY-MM-DD)" if fmt == "date" else ""))]
    return [ICDError(_pointer(path), error.message)]


def _subschema(schema_path) -> dict:
    node = _schema()
    for part in schema_path:
        node = node[part]
    return node if isinstance(node, dict) else {}


def _collect(validator, instance) -> list[ICDError]:
    if validator.is_valid(instance):  # the common path: one pass in Rust, no error objects built
        return []
    errors: list[ICDError] = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.instance_path))):
        errors.extend(_leaf_errors(error))
    # The same pointer can be reported twice by overlapping keywords; keep the first of each.
    seen: set[tuple[str, str]] = set()
    unique = []
    for e in errors:
        if (e.pointer, e.detail) not in seen:
            seen.add((e.pointer, e.detail))
            unique.append(e)
    return unique


def schema_errors(message) -> list[ICDError]:
    """The schema and the §2 rules for strings, numbers and nesting, on a parsed message."""
    return value_errors(message) or _collect(_validator(), message)


def person_errors(person) -> list[ICDError]:
    """A `person` (ICD §6) on its own, pointers relative to it: the ICTS response form checks with this."""
    return value_errors(person, depth_offset=3) or _collect(_person_validator(), person)


# --- ICD §2: strings, numbers, nesting ------------------------------------------------------------------

MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 15
# Free-text members: the only strings that may carry control characters other than U+0000 (line breaks, tabs).
FREE_TEXT_KEYS = frozenset({"justification", "detail", "text"})
# Attachment content is checked by its strict base64 decoding (any control character refuses it, with its pointer):
# walking megabytes of it with the control-character regex cost 20 ms per 2 MB (bench/icd_validation.py).
DECODED_ELSEWHERE = frozenset({"content_base64"})
_NUL_OR_SURROGATE = re.compile("[\x00\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class _LongNumber(str):
    """A JSON number token with more digits than ICD §2 allows, kept as text (never converted)."""


def _digits(token: str) -> int:
    return sum(c.isdigit() for c in token)


def _parse_int(token: str):
    return _LongNumber(token) if _digits(token) > MAX_NUMBER_DIGITS else int(token)


def _parse_float(token: str):
    return _LongNumber(token) if _digits(token) > MAX_NUMBER_DIGITS else float(token)


def _string_error(value: str, *, free_text: bool) -> str | None:
    bad = (_NUL_OR_SURROGATE if free_text else _CONTROL).search(value)
    if bad is None:
        return None
    ch = bad.group()
    if ch == "\x00":
        return "contains U+0000, which no string may contain (ICD §2)"
    if "\ud800" <= ch <= "\udfff":
        return "contains an unpaired surrogate, which no string may contain (ICD §2)"
    return f"contains the control character U+{ord(ch):04X}; only free-text fields may (ICD §2)"


def value_errors(value, *, depth_offset: int = 0) -> list[ICDError]:
    """ICD §2 on a parsed value: no U+0000 or unpaired surrogate anywhere, no other control character outside free
    text, numbers of at most 15 digits, nesting of at most 32 levels. Iterative: any depth is walked safely."""
    errors: list[ICDError] = []
    stack: list[tuple[object, tuple, int, bool]] = [(value, (), 1 + depth_offset, False)]
    while stack and len(errors) < 50:
        node, path, depth, free_text = stack.pop()
        if isinstance(node, dict):
            if depth > MAX_DEPTH:
                errors.append(ICDError(_pointer(path), f"nests deeper than {MAX_DEPTH} levels (ICD §2)"))
                continue
            for key, child in node.items():
                problem_ = _string_error(key, free_text=False)
                if problem_:
                    errors.append(ICDError(_pointer(path), "has a member name that " + problem_))
                    continue
                if key in DECODED_ELSEWHERE and isinstance(child, str):
                    continue
                stack.append((child, path + (key,), depth + 1, key in FREE_TEXT_KEYS))
        elif isinstance(node, list):
            if depth > MAX_DEPTH:
                errors.append(ICDError(_pointer(path), f"nests deeper than {MAX_DEPTH} levels (ICD §2)"))
                continue
            stack.extend((child, path + (i,), depth + 1, False) for i, child in enumerate(node))
        elif isinstance(node, _LongNumber):
            errors.append(ICDError(_pointer(path), f"is a number of {_digits(node)} digits; at most {MAX_NUMBER_DIGITS} (ICD §2)"))
        elif isinstance(node, str):
            problem_ = _string_error(node, free_text=free_text)
            if problem_:
                errors.append(ICDError(_pointer(path), problem_))
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if node and len(str(abs(node))) > MAX_NUMBER_DIGITS:
                errors.append(ICDError(_pointer(path), f"is a number of more than {MAX_NUMBER_DIGITS} digits (ICD §2)"))
        elif isinstance(node, float):
            if not math.isfinite(node) or _digits(repr(node).split("e")[0]) > MAX_NUMBER_DIGITS:
                errors.append(ICDError(_pointer(path), f"is a number of more than {MAX_NUMBER_DIGITS} digits (ICD §2)"))
    return sorted(errors, key=lambda e: e.pointer)


def loads(raw_body: bytes):
    """Parse a body: (value, errors). orjson on the common path; the standard library, which can say where a
    body breaks the rules (with number tokens kept as text and every object's members seen in order), when orjson
    refuses it, a float needs its digits, or the body may repeat a member name (ICD §2)."""
    try:
        value = orjson.loads(raw_body)
    except orjson.JSONDecodeError:
        pass
    else:
        has_float, members, colons = _census(value)
        if not has_float and raw_body.count(b":") == members + colons and not _may_escape_colon(raw_body):
            return value, []
    try:
        text = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [ICDError("", f"the body is not UTF-8 (byte {exc.start})")]
    repeated: list[bool] = []
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                           parse_constant=lambda name: _LongNumber(name), object_pairs_hook=_members(repeated))
    except json.JSONDecodeError as exc:
        return None, [ICDError("", f"the body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
    except RecursionError:
        return None, [ICDError(deep_pointer(text), f"nests deeper than {MAX_DEPTH} levels (ICD §2)")]
    if repeated:
        return None, _repeated_member_errors(value)
    return value, []


# --- ICD §2: no object has two members with the same name -----------------------------------------------------
# orjson keeps the last of two members with the same name, silently. Rather than give up its speed, the common path
# proves there was none: every member of the parsed value stands for one `:` of the body, and every other `:` of the
# body is inside a string. So when the body's colons equal the parsed members plus the colons in the parsed strings,
# no member was dropped; when a member was, its colon (and whatever its value held) is left over. Only a colon written
# as an escape (\u003a) breaks the count, the other way round: such a body takes the exact, slower path.


def _census(value) -> tuple[bool, int, int]:
    """(any float, members of every object, colons in every string and member name) of a value orjson parsed (exact
    built-in types, so `type() is` stands for isinstance at a third of its cost). A string is searched for a colon
    before its colons are counted: the search is memchr-fast over megabytes of base64, the count is not
    (bench/icd_validation.py)."""
    has_float, members, colons = False, 0, 0
    stack = [value]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict:
            members += len(node)
            for key in node:
                if ":" in key:
                    colons += key.count(":")
            children = node.values()
        elif kind is list:
            children = node
        else:
            has_float = has_float or kind is float
            continue
        for child in children:
            kind = type(child)
            if kind is str:
                if ":" in child:
                    colons += child.count(":")
            elif kind is dict or kind is list:
                stack.append(child)
            elif kind is float:
                has_float = True
    return has_float, members, colons


def _may_escape_colon(raw_body: bytes) -> bool:
    # A backslash is looked for first (memchr); most bodies have none, and the longer searches cost 20x more.
    return b"\\" in raw_body and (b"\\u003a" in raw_body or b"\\u003A" in raw_body)


class _Repeated(dict):
    """An object whose body named a member twice (the names, in the order their second use came)."""

    names: list[str]


def _members(repeated: list[bool]):
    def build(pairs):
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen: set[str] = set()
        again = []
        for key, _ in pairs:
            if key in seen:
                again.append(key)
            seen.add(key)
        flagged = _Repeated(obj)
        flagged.names = again
        repeated.append(True)
        return flagged

    return build


def _repeated_member_errors(value) -> list[ICDError]:
    errors: list[ICDError] = []
    stack: list[tuple[object, tuple]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Repeated):
            errors += [ICDError(_pointer(path + (name,)), "names a member a second time in the same object; each name may "
                                                           "appear once (ICD §2)") for name in dict.fromkeys(node.names)]
        if isinstance(node, dict):
            stack.extend((child, path + (key,)) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((child, path + (i,)) for i, child in enumerate(node))
    return sorted(errors, key=lambda e: e.pointer)


def deep_pointer(text: str, limit: int = MAX_DEPTH) -> str:
    """The JSON pointer of the first container nested deeper than `limit`, found by a scan that never recurses
    (for bodies too deep for the parser itself)."""
    stack: list[list] = []  # per open container: [kind, member name or index]
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if stack and stack[-1][0] == "{":
                stack[-1][1] = text[i + 1:j]  # a key, or a string value after it (harmless: overwritten by the next key)
            i = j + 1
            continue
        if ch in "{[":
            if len(stack) >= limit:
                return _pointer(entry[1] for entry in stack if entry[1] is not None)
            stack.append([ch, 0 if ch == "[" else None])
        elif ch in "}]":
            if stack:
                stack.pop()
        elif ch == "," and stack and stack[-1][0] == "[":
            stack[-1][1] += 1
        i += 1
    return ""


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
        from .filecheck import UnsafeFile, inspect  # the content itself: active PDFs, images that do not decode

        try:
            inspect(data)
        except UnsafeFile as exc:
            errors.append(ICDError(pointer + "/content_base64", str(exc)))
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
    message, errors = loads(raw_body)
    if errors:
        return Parsed(None, errors, [])
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
