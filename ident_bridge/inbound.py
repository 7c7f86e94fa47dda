"""Receiving from IDENT (ICD §1): check, store durably, answer; process later in a task.

The hot path is lean on purpose: one signature check, one schema validation, one reference lookup and
one INSERT in one transaction. A duplicate is detected by the unique index on message_id (the INSERT
fails), not by a SELECT before every insert.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from . import handlers, icd, routing
from .models import InboundMessage, RejectedInbound
from .publish import on_commit_publish

log = logging.getLogger(__name__)


@dataclass
class Answer:
    status: int
    body: dict

    @property
    def is_problem(self) -> bool:
        return self.status >= 400


# Refusals that come before the sender is known (no valid signature yet): counted per address and minute.
UNAUTHENTICATED = frozenset({401, 411, 413})


def _uuid_or_blank(value) -> str:
    """A message_id for the reject log only when it is a real UUID (never a sender's arbitrary string)."""
    if not isinstance(value, str) or len(value) != 36:
        return ""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return ""


def _refuse(status: int, title: str, detail: str, errors=None, *, message_id: str = "", raw: bytes = b"",
            remote_addr=None, signed: bool | None = None) -> Answer:
    """Answer with a problem document and write one line of the reject log (outside any business transaction)."""
    record_rejection(status=status, title=title, detail=detail, pointers=[e.pointer for e in errors or []],
                     message_id=_uuid_or_blank(message_id), body_sha256=icd.sha256_hex(raw) if raw else "",
                     remote_addr=remote_addr, signed=signed)
    return Answer(status, icd.problem(status, title, detail, errors if errors is not None else None))


def record_rejection(*, status: int, title: str, detail: str, pointers: list[str], message_id: str = "", body_sha256: str = "",
                     remote_addr=None, signed: bool | None = None) -> None:
    now = timezone.now()
    addr = remote_addr or "0.0.0.0"
    if signed is None:
        signed = status not in UNAUTHENTICATED
    if not signed:
        bucket = now.replace(second=0, microsecond=0)
        with transaction.atomic():
            updated = RejectedInbound.objects.filter(status=status, remote_addr=addr, bucket=bucket).update(
                count=F("count") + 1, last_at=now)
            if updated:
                return
            try:
                with transaction.atomic():
                    RejectedInbound.objects.create(status=status, title=title, detail=detail[:1000], remote_addr=addr,
                                                   bucket=bucket, last_at=now, body_sha256=body_sha256)
            except IntegrityError:  # another request made this minute's row first
                RejectedInbound.objects.filter(status=status, remote_addr=addr, bucket=bucket).update(
                    count=F("count") + 1, last_at=now)
        return
    RejectedInbound.objects.create(status=status, title=title, detail=detail[:1000], pointers=pointers[:100],
                                   message_id=message_id, remote_addr=addr, body_sha256=body_sha256, last_at=now)


class _FirstCopyRefused(Exception):
    def __init__(self, errors: list[icd.ICDError]):
        self.errors = errors


def _answer_for_existing(message_id: str, digest: str, remote_addr) -> Answer | None:
    """ICD §3: the same message_id again is answered from the first copy, whatever became of it (a reuse of the id
    for another body is a 409, and a line in the reject log)."""
    existing = InboundMessage.objects.filter(message_id=message_id).values_list("body_sha256", flat=True).first()
    if existing is None:
        return None
    if existing == digest:
        return Answer(200, {"message_id": message_id, "status": "accepted"})
    record_rejection(status=409, title="Conflict", detail="message_id reused for a different body", pointers=["/message_id"],
                     message_id=message_id, body_sha256=digest, remote_addr=remote_addr)
    return Answer(409, icd.problem(409, "Conflict", "This message_id was already received with a different body.",
                                   [icd.ICDError("/message_id", "already used for a different message")]))


def receive(*, raw: bytes, content_length: int | None, timestamp: str | None, signature: str | None, remote_addr=None,
            now: float | None = None) -> Answer:
    """ICD §1 and §3, in this order: size, signature, the message_id (a retry is answered from its first copy),
    then the rules of §2 and the schema, then, for a first copy only, its references. The first copy is stored and
    committed before 202 is answered; a message that fails any check leaves nothing but a reject-log line."""
    if content_length is not None and content_length > icd.MAX_BODY_BYTES or len(raw) > icd.MAX_BODY_BYTES:
        return _refuse(413, "Payload too large", f"The body exceeds {icd.MAX_BODY_BYTES} bytes (ICD §1).", remote_addr=remote_addr)
    if content_length is not None and len(raw) != content_length:
        # ICD §2: a sender that stopped early (or a body cut in transit) is refused before its signature is read: a
        # signature over the bytes that did arrive would otherwise make a half-sent message look whole.
        return _refuse(400, "Invalid message", f"The body is {len(raw)} bytes but Content-Length says {content_length} (ICD §2).",
                       [icd.ICDError("", f"is {len(raw)} bytes, not the {content_length} that Content-Length declares")],
                       remote_addr=remote_addr, signed=False)
    try:
        icd.verify_signature(raw, timestamp, signature, settings.IDENT_SHARED_SECRET, now=now)
    except icd.SignatureError as exc:
        return _refuse(401, "Unauthorized", str(exc), [], raw=raw, remote_addr=remote_addr)
    digest = icd.sha256_hex(raw)
    parsed = icd.parse(raw, accept_types=icd.IDENT_TO_CPMS)
    if parsed.errors:
        message_id = _message_id_in(parsed.message)
        if message_id:
            earlier = _answer_for_existing(message_id, digest, remote_addr)
            if earlier is not None:  # a retry of a message accepted before (or a conflicting reuse of its id)
                return earlier
        return _refuse(400, "Invalid message", "The message does not satisfy the ICD; see errors.", parsed.errors,
                       message_id=message_id, raw=raw, remote_addr=remote_addr)
    message = parsed.message
    message_id = message["message_id"]
    try:
        with transaction.atomic():
            # The unique index on message_id decides: a retry fails this INSERT (and waits for a concurrent first
            # copy to commit or roll back), so the common path costs no SELECT.
            row = InboundMessage.objects.create(
                message_id=uuid.UUID(message_id), type=message["type"], partner=message["partner"], body_sha256=digest,
                raw=raw, ref=routing.reference_of(message),
            )
            errors = routing.unknown_reference_errors(message)
            if errors:
                raise _FirstCopyRefused(errors)
            on_commit_publish(inbound_process_task, row.pk)
    except handlers.ReferenceConflict as exc:
        return _refuse(409, "Conflict", "The message contradicts one CPMS already accepted; nothing was changed.",
                       exc.errors, message_id=message_id, raw=raw, remote_addr=remote_addr)
    except _FirstCopyRefused as exc:
        return _refuse(400, "Unknown reference", "The message refers to something CPMS does not know, or already has.",
                       exc.errors, message_id=message_id, raw=raw, remote_addr=remote_addr)
    except IntegrityError:
        earlier = _answer_for_existing(message_id, digest, remote_addr)
        if earlier is not None:
            return earlier
        if message["type"] == "request.received":  # the request_ref's unique index: another message has it
            return _refuse(400, "Unknown reference", "The message refers to something CPMS does not know, or already has.",
                           [icd.ICDError("/body/request_ref", "was already received from this partner in another message")],
                           message_id=message_id, raw=raw, remote_addr=remote_addr)
        raise
    return Answer(202, {"message_id": message_id, "status": "accepted"})


def _message_id_in(message) -> str:
    """The message_id of a message that failed its checks, if it carries a well-formed one."""
    return _uuid_or_blank(message.get("message_id")) if isinstance(message, dict) else ""


def inbound_process_task(pk: int) -> None:
    from .tasks import inbound_process

    inbound_process.delay(pk)


class NotReady(Exception):
    """The message depends on one that has not been processed yet (e.g. round 2 before round 1's result)."""


class Ignored(Exception):
    """The message is valid but has nothing left to do (e.g. an answer to a query that has since failed)."""


MAX_PROCESS_ATTEMPTS = 50


def inbound_process(pk: int) -> str:
    """Apply one stored inbound message to the business data, exactly once. Safe to call repeatedly."""
    try:
        with transaction.atomic():
            row = InboundMessage.objects.select_for_update().get(pk=pk)
            if row.processed_at is not None:
                return "already processed"
            message, _ = icd.loads(bytes(row.raw))
            note = ""
            try:
                with transaction.atomic():
                    routing.handle_inbound(message, row)
            except Ignored as exc:
                note = f"ignored: {exc}"
                log.warning("inbound %s %s %s", row.type, row.message_id, note)
            row.processed_at = timezone.now()
            row.attempts += 1
            row.last_error = note
            row.save(update_fields=["processed_at", "attempts", "last_error"])
            return note or "processed"
    except NotReady as exc:
        _record_attempt(pk, f"not ready: {exc}")
        return "not ready"
    except Exception as exc:  # recorded for admins; the sweep retries it
        _record_attempt(pk, f"{exc.__class__.__name__}: {exc}")
        raise


def _record_attempt(pk: int, error: str) -> None:
    """Count a failed attempt; at the limit the message is given up and a person is told (once)."""
    InboundMessage.objects.filter(pk=pk).update(attempts=F("attempts") + 1, last_error=error[:2000])
    with transaction.atomic():
        row = (InboundMessage.objects.select_for_update()
               .filter(pk=pk, processed_at__isnull=True, gave_up_at__isnull=True, attempts__gte=MAX_PROCESS_ATTEMPTS).first())
        if row is None:
            return
        row.gave_up_at = timezone.now()
        row.save(update_fields=["gave_up_at"])
        log.error("inbound %s %s given up after %d attempts: %s", row.type, row.message_id, row.attempts, row.last_error)
        routing.inbound_gave_up(row)


def inbound_retry(pk: int, *, actor=None) -> bool:
    """An administrator sends a given-up message round again (after fixing what stopped it)."""
    updated = InboundMessage.objects.filter(pk=pk, processed_at__isnull=True).update(
        attempts=0, gave_up_at=None, attention_closed_at=None, attention_closed_by=None, attention_note="")
    if updated:
        on_commit_publish(inbound_process_task, pk)
    return bool(updated)


def inbound_stale_ids(limit: int = 200) -> list[int]:
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.INBOUND_STALE_SECONDS)
    return list(
        InboundMessage.objects.filter(processed_at__isnull=True, received_at__lte=cutoff, attempts__lt=MAX_PROCESS_ATTEMPTS)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
