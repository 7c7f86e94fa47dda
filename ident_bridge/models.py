"""What crossed the IDENT boundary: every inbound message as received, every outbound one as sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Attention(models.Model):
    """What a person closes when a message could not be processed or delivered (ICD §1: "a person is told")."""

    attention_closed_at = models.DateTimeField(null=True, blank=True)
    attention_closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                            related_name="+")
    attention_note = models.CharField(max_length=1000, blank=True)

    class Meta:
        abstract = True


class InboundMessage(Attention):
    """A message IDENT sent us, stored before we answer 202 (ICD §1). Processed later by a task."""

    message_id = models.UUIDField(unique=True)  # the duplicate check is this unique index, not a SELECT
    type = models.CharField(max_length=20)
    partner = models.CharField(max_length=3)
    body_sha256 = models.CharField(max_length=64)
    raw = models.BinaryField(help_text="the exact bytes received")
    ref = models.CharField(max_length=64, blank=True, help_text="query_ref / request_ref / augment_ref / acked id")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    gave_up_at = models.DateTimeField(null=True, blank=True, help_text="reached the attempt limit; a person must look")

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["received_at"], name="inbound_unprocessed_idx", condition=Q(processed_at__isnull=True)),
            models.Index(fields=["type", "ref"]),
            models.Index(fields=["gave_up_at"], name="inbound_attention_idx",
                         condition=Q(gave_up_at__isnull=False, attention_closed_at__isnull=True)),
        ]
        constraints = [
            # A partner's request is received once: two messages with one request_ref cannot both be accepted,
            # even when they arrive at the same moment (ICD §3: the second is an unknown/duplicate reference, 400).
            models.UniqueConstraint(fields=["partner", "ref"], condition=Q(type="request.received") & ~Q(ref=""),
                                    name="inbound_request_ref_once"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"


class RejectedInbound(models.Model):
    """Security/reject log: a refused inbound message leaves no business data, only this line.

    It never holds a partner's personal data or attachment content: the body's digest, the pointers of what was
    wrong, and a valid message_id at most. Refusals before the signature is known to be good (401, 413, 411) are
    counted on one row per address, status and minute, so unsigned junk cannot grow the table faster than that.
    """

    received_at = models.DateTimeField(auto_now_add=True)
    status = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=100)
    detail = models.TextField()
    pointers = models.JSONField(default=list, blank=True)
    message_id = models.CharField(max_length=64, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    body_sha256 = models.CharField(max_length=64, blank=True)
    bucket = models.DateTimeField(null=True, blank=True, help_text="the minute of an unauthenticated refusal")
    count = models.PositiveIntegerField(default=1)
    last_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["status", "remote_addr", "bucket"], condition=Q(bucket__isnull=False),
                                    name="rejected_unsigned_one_row_per_minute"),
        ]


class OutboxMessage(Attention):
    """A message to IDENT, written in the same transaction as the business change that causes it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending (to be sent or retried)"
        SENT = "sent", "Accepted by IDENT"
        REJECTED = "rejected", "Rejected by IDENT (4xx)"
        EXPIRED = "expired", "Gave up after the retry horizon"

    class Delivery(models.TextChoices):
        UNKNOWN = "", "Not yet known"
        DELIVERED = "delivered", "Delivered to the partner"
        REJECTED = "rejected", "Rejected by the partner"

    message_id = models.UUIDField(unique=True)
    type = models.CharField(max_length=20)
    partner = models.CharField(max_length=3)
    ref = models.CharField(max_length=64, blank=True)
    raw = models.BinaryField(help_text="the exact bytes sent on every attempt (same message_id, same body)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retried_at = models.DateTimeField(null=True, blank=True, help_text="an administrator sent it again; the horizon restarts")
    sent_at = models.DateTimeField(null=True, blank=True)
    delivery_status = models.CharField(max_length=10, choices=Delivery.choices, blank=True, default="")
    delivery_detail = models.CharField(max_length=1000, blank=True)
    delivery_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="outbox_pending_idx", condition=Q(status="pending")),
            models.Index(fields=["type", "ref"]),
            models.Index(fields=["created_at"], name="outbox_attention_idx",
                         condition=(Q(status__in=["rejected", "expired"]) | Q(delivery_status="rejected"))
                         & Q(attention_closed_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id} ({self.status})"

    @property
    def needs_attention(self) -> bool:
        failed = self.status in (self.Status.REJECTED, self.Status.EXPIRED) or self.delivery_status == self.Delivery.REJECTED
        return failed and self.attention_closed_at is None


class InboundAttention(InboundMessage):
    """Admin's list of inbound messages that could not be processed after every attempt."""

    class Meta:
        proxy = True
        verbose_name = "inbound message needing attention"
        verbose_name_plural = "inbound messages needing attention"

    @classmethod
    def open_items(cls):
        """Given up on and not yet closed by an administrator (the partial index inbound_attention_idx)."""
        return cls.objects.filter(gave_up_at__isnull=False, attention_closed_at__isnull=True, processed_at__isnull=True)


class OutboxAttention(OutboxMessage):
    """Admin's list of outbound messages that IDENT refused, the partner rejected, or that expired."""

    class Meta:
        proxy = True
        verbose_name = "outbound message needing attention"
        verbose_name_plural = "outbound messages needing attention"

    @classmethod
    def open_items(cls):
        """Refused, rejected or expired, and not yet closed by an administrator (the partial index outbox_attention_idx)."""
        failed = Q(status__in=[OutboxMessage.Status.REJECTED, OutboxMessage.Status.EXPIRED]) | Q(
            delivery_status=OutboxMessage.Delivery.REJECTED)
        return cls.objects.filter(failed, attention_closed_at__isnull=True)
