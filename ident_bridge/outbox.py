"""Transactional outbox: messages to IDENT are rows written with the business change, sent after commit.

Delivery is at-least-once on our side and exactly-once in effect: every attempt carries the same
message_id and the same bytes, and IDENT answers a duplicate with 200 without processing it again (ICD §1).
A relay claims a row with a lease (a conditional UPDATE), so two relays never send the same row at once;
a relay that dies mid-send leaves a lease that expires, and the sweep sends the row again.
"""

from __future__ import annotations

import logging
import random
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import icd
from .models import OutboxMessage
from .publish import on_commit_publish, publish_now
from .transport import BridgeError, Transport

log = logging.getLogger(__name__)


class OutboundMessageInvalid(Exception):
    """A message we built does not satisfy the ICD schema: a bug, never sent."""


class OutboundMessageTooLarge(Exception):
    """The message's bytes exceed what IDENT accepts (ICD §1): nothing was written; the caller tells a person."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"the message is {size} bytes; IDENT accepts at most {limit}")
        self.size, self.limit = size, limit


def outbox_enqueue(*, message_type: str, partner: str, body: dict, ref: str = "") -> OutboxMessage:
    """Write one outbound message. Must run inside the caller's business transaction. The size limit is checked here,
    once, on the very bytes that will be sent (a package of documents is encoded once, not once more to measure it)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_enqueue must run inside the business transaction (transaction.atomic).")
    message = icd.envelope(message_type, partner, body)
    errors = icd.schema_errors(message)
    if errors:
        raise OutboundMessageInvalid("; ".join(f"{e.pointer}: {e.detail}" for e in errors))
    raw = icd.canonical_bytes(message)
    if len(raw) > icd.MAX_BODY_BYTES:
        raise OutboundMessageTooLarge(len(raw), icd.MAX_BODY_BYTES)
    row = OutboxMessage.objects.create(
        message_id=uuid.UUID(message["message_id"]),
        type=message_type,
        partner=partner,
        ref=ref,
        raw=raw,
        next_attempt_at=timezone.now(),
    )
    from .tasks import outbox_relay

    on_commit_publish(outbox_relay.delay, row.pk)
    return row


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with full jitter, capped."""
    base = settings.OUTBOX_BACKOFF_BASE_SECONDS * (2 ** min(max(attempts - 1, 0), 20))
    capped = min(base, settings.OUTBOX_BACKOFF_MAX_SECONDS)
    return capped / 2 + random.uniform(0, capped / 2)


def _claim(pk: int) -> bool:
    now = timezone.now()
    claimed = (
        OutboxMessage.objects.filter(pk=pk, status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS), attempts=F("attempts") + 1)
    )
    return claimed == 1


def default_transport() -> Transport:
    return Transport(settings.IDENT_URL, settings.IDENT_SHARED_SECRET, timeout=settings.IDENT_TIMEOUT_SECONDS)


def outbox_deliver(pk: int, *, transport: Transport | None = None) -> str | None:
    """Try to send one message now. Returns the new status, or None if it was not ours to send.

    Never holds a transaction open across the network call.
    """
    if not _claim(pk):
        return None
    row = OutboxMessage.objects.get(pk=pk)
    try:
        (transport or default_transport()).post(bytes(row.raw))
    except BridgeError as exc:
        if exc.permanent:
            return _record_rejected(row, exc)
        return _record_retry(row, exc)
    from . import routing

    with transaction.atomic():
        row.status, row.sent_at, row.last_error = OutboxMessage.Status.SENT, timezone.now(), ""
        OutboxMessage.objects.filter(pk=pk).update(status=row.status, sent_at=row.sent_at, lease_until=None, last_error="")
        routing.outbound_sent(row)
    log.info("outbox %s %s sent after %d attempt(s)", row.type, row.message_id, row.attempts)
    return OutboxMessage.Status.SENT


def _record_retry(row: OutboxMessage, exc: BridgeError) -> str:
    now = timezone.now()
    if now - (row.retried_at or row.created_at) > timedelta(hours=settings.OUTBOX_RETRY_HORIZON_HOURS):
        return _record_failure(row, OutboxMessage.Status.EXPIRED, f"gave up after {row.attempts} attempts: {exc.detail}")
    delay = backoff_seconds(row.attempts)
    OutboxMessage.objects.filter(pk=row.pk).update(
        next_attempt_at=now + timedelta(seconds=delay), lease_until=None, last_error=exc.detail[:2000]
    )
    log.warning("outbox %s %s attempt %d failed (%s); retry in %.1f s", row.type, row.message_id, row.attempts, exc.detail, delay)
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        # Fast path only: if Redis loses this, the sweep finds the row by next_attempt_at.
        from .tasks import outbox_relay

        publish_now(lambda pk: outbox_relay.apply_async((pk,), countdown=delay), row.pk)
    return OutboxMessage.Status.PENDING


def _record_rejected(row: OutboxMessage, exc: BridgeError) -> str:
    detail = exc.detail
    if exc.problem and exc.problem.get("errors"):
        detail += " — " + "; ".join(f"{e.get('pointer')}: {e.get('detail')}" for e in exc.problem["errors"][:10])
    return _record_failure(row, OutboxMessage.Status.REJECTED, detail)


def _record_failure(row: OutboxMessage, status: str, detail: str) -> str:
    from . import routing

    with transaction.atomic():
        OutboxMessage.objects.filter(pk=row.pk).update(status=status, lease_until=None, last_error=detail[:2000])
        row.status = status
        row.last_error = detail
        routing.outbound_failed(row)
    log.error("outbox %s %s %s: %s", row.type, row.message_id, status, detail)
    return status


def outbox_due_ids(limit: int = 200) -> list[int]:
    now = timezone.now()
    return list(
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def outbox_record_delivery(*, acked_message_id: str, status: str, detail: str = "") -> OutboxMessage | None:
    """ICD `delivery.ack`: IDENT says whether our message reached the partner. The first ack decides for good (ICD §3):
    receipt refuses a contradicting one (409), and one applied late (a sweep, a retried task) changes nothing."""
    from . import routing

    row = OutboxMessage.objects.select_for_update().filter(message_id=acked_message_id).first()
    if row is None:
        return None
    if row.delivery_status:
        return row
    row.delivery_status = status
    row.delivery_detail = detail[:1000]
    row.delivery_at = timezone.now()
    row.save(update_fields=["delivery_status", "delivery_detail", "delivery_at"])
    if status == OutboxMessage.Delivery.REJECTED:
        routing.outbound_failed(row)
    else:
        routing.outbound_delivered(row)
    return row


# Types whose expired message may be sent again by an administrator: answers the partner is owed. A query's
# message is not (its query failed when the message expired; the officer sends a new one).
RETRYABLE_WHEN_EXPIRED = frozenset({"request.reply", "request.augment"})


def outbox_retry_expired(pk: int) -> bool:
    """Send an expired message again with the same message_id and bytes (IDENT answers a duplicate with 200)."""
    now = timezone.now()
    updated = OutboxMessage.objects.filter(pk=pk, status=OutboxMessage.Status.EXPIRED, type__in=RETRYABLE_WHEN_EXPIRED).update(
        status=OutboxMessage.Status.PENDING, next_attempt_at=now, retried_at=now, lease_until=None, attempts=0,
        attention_closed_at=None, attention_closed_by=None, attention_note="")
    if updated:
        on_commit_publish(_relay, pk)
    return bool(updated)


def _relay(pk: int) -> None:
    from .tasks import outbox_relay

    outbox_relay.delay(pk)
