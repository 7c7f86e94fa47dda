"""What crossed the IDENT boundary: every inbound message as received, every outbound one as sent."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class InboundMessage(models.Model):
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

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["received_at"], name="inbound_unprocessed_idx", condition=Q(processed_at__isnull=True)),
            models.Index(fields=["type", "ref"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"


class RejectedInbound(models.Model):
    """Security/reject log: a refused inbound message leaves no business data, only this line."""

    received_at = models.DateTimeField(auto_now_add=True)
    status = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=100)
    detail = models.TextField()
    message_id = models.CharField(max_length=64, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    body_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-received_at"]


class OutboxMessage(models.Model):
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
    sent_at = models.DateTimeField(null=True, blank=True)
    delivery_status = models.CharField(max_length=10, choices=Delivery.choices, blank=True, default="")
    delivery_detail = models.CharField(max_length=1000, blank=True)
    delivery_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="outbox_pending_idx", condition=Q(status="pending")),
            models.Index(fields=["type", "ref"]),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id} ({self.status})"
