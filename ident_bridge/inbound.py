"""Receiving from IDENT (ICD §1): check, store durably, answer; process later in a task.

The hot path is lean on purpose: one signature check, one schema validation, one reference lookup and
one INSERT in one transaction. A duplicate is detected by the unique index on message_id (the INSERT
fails), not by a SELECT before every insert.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import icd, routing
from .models import InboundMessage, RejectedInbound

log = logging.getLogger(__name__)


@dataclass
class Answer:
    status: int
    body: dict

    @property
    def is_problem(self) -> bool:
        return self.status >= 400


def _refuse(status: int, title: str, detail: str, errors=None, *, message_id: str = "", raw: bytes = b"", remote_addr=None) -> Answer:
    RejectedInbound.objects.create(
        status=status,
        title=title,
        detail=(detail + ("" if not errors else " | " + "; ".join(f"{e.pointer}: {e.detail}" for e in errors)))[:5000],
        message_id=message_id[:64],
        remote_addr=remote_addr,
        body_sha256=icd.sha256_hex(raw) if raw else "",
    )
    return Answer(status, icd.problem(status, title, detail, errors if errors is not None else None))


def receive(*, raw: bytes, content_length: int | None, timestamp: str | None, signature: str | None, remote_addr=None) -> Answer:
    if content_length is not None and content_length > icd.MAX_BODY_BYTES or len(raw) > icd.MAX_BODY_BYTES:
        return _refuse(413, "Payload too large", f"The body exceeds {icd.MAX_BODY_BYTES} bytes (ICD §1).", remote_addr=remote_addr)
    try:
        icd.verify_signature(raw, timestamp, signature, settings.IDENT_SHARED_SECRET)
    except icd.SignatureError as exc:
        return _refuse(401, "Unauthorized", str(exc), [], raw=raw, remote_addr=remote_addr)
    parsed = icd.parse(raw, accept_types=icd.IDENT_TO_CPMS)
    message_id = str((parsed.message or {}).get("message_id", "")) if isinstance(parsed.message, dict) else ""
    if parsed.errors:
        return _refuse(400, "Invalid message", "The message does not satisfy the ICD; see errors.", parsed.errors,
                       message_id=message_id, raw=raw, remote_addr=remote_addr)
    message = parsed.message
    ref_errors = routing.unknown_reference_errors(message)
    if ref_errors:
        return _refuse(400, "Unknown reference", "The message refers to something CPMS does not know.", ref_errors,
                       message_id=message_id, raw=raw, remote_addr=remote_addr)
    digest = icd.sha256_hex(raw)
    accepted = {"message_id": message["message_id"], "status": "accepted"}
    try:
        with transaction.atomic():
            row = InboundMessage.objects.create(
                message_id=uuid.UUID(message["message_id"]),
                type=message["type"],
                partner=message["partner"],
                body_sha256=digest,
                raw=raw,
                ref=routing.reference_of(message),
            )
            from .tasks import inbound_process

            transaction.on_commit(lambda: inbound_process.delay(row.pk))
    except IntegrityError:
        existing = InboundMessage.objects.filter(message_id=message["message_id"]).values_list("body_sha256", flat=True).first()
        if existing == digest:
            return Answer(200, accepted)
        if existing is None:  # the IntegrityError was something else: let it surface as a 500, IDENT retries
            raise
        return _refuse(409, "Conflict", "This message_id was already received with a different body.",
                       [icd.ICDError("/message_id", "already used for a different message")], message_id=message_id, raw=raw,
                       remote_addr=remote_addr)
    return Answer(202, accepted)


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
            message = json.loads(bytes(row.raw).decode("utf-8"))
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
    from django.db.models import F

    InboundMessage.objects.filter(pk=pk).update(attempts=F("attempts") + 1, last_error=error[:2000])


def inbound_stale_ids(limit: int = 200) -> list[int]:
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.INBOUND_STALE_SECONDS)
    return list(
        InboundMessage.objects.filter(processed_at__isnull=True, received_at__lte=cutoff, attempts__lt=MAX_PROCESS_ATTEMPTS)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )
