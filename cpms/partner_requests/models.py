"""Foreign partners' requests (ICD `request.received`), kept as received and normalised; augmentations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from cpms.queries.models import PRIORITY_CHOICES, REASON_CHOICES

from .workflow import RequestStatus


class PartnerRequest(models.Model):
    partner = models.ForeignKey("core.Partner", on_delete=models.PROTECT, related_name="+")
    request_ref = models.CharField(max_length=64)
    inbound_message = models.OneToOneField("ident_bridge.InboundMessage", on_delete=models.PROTECT, related_name="+")
    template = models.CharField(max_length=12)
    subject_as_received = models.JSONField(help_text="exactly as the partner sent it, in its own template")
    subject = models.JSONField(help_text="normalised to the uniform-v1 template")
    requestor = models.JSONField()
    requested_at = models.DateTimeField()
    reason = models.CharField(max_length=20, choices=REASON_CHOICES)
    priority = models.CharField(max_length=6, choices=PRIORITY_CHOICES)
    fin = models.CharField(max_length=16)
    encounter_id = models.CharField(max_length=40)
    requested_items = models.JSONField(default=list)
    person = models.ForeignKey("core.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="partner_requests")
    status = models.CharField(max_length=20, choices=RequestStatus.choices, default=RequestStatus.RECEIVED)
    cis_attempts = models.PositiveIntegerField(default=0)
    next_check_at = models.DateTimeField(null=True, blank=True)
    reply_message = models.OneToOneField("ident_bridge.OutboxMessage", null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="partner_request")
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["partner", "request_ref"], name="partner_request_unique_ref")]
        indexes = [
            models.Index(fields=["status", "-received_at"]),
            models.Index(fields=["next_check_at"], name="request_awaiting_cis_idx", condition=Q(status="awaiting_cis")),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.request_ref}"


class RequestTransition(models.Model):
    partner_request = models.ForeignKey(PartnerRequest, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=RequestStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=RequestStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner_request_id", "at", "id"]


class Augmentation(models.Model):
    """USCIS asks the partner of a matched request for more on the same person (ICD `request.augment`)."""

    partner_request = models.ForeignKey(PartnerRequest, on_delete=models.PROTECT, related_name="augmentations")
    augment_ref = models.CharField(max_length=64, unique=True)
    requested_items = models.JSONField()
    justification = models.TextField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    outbox_message = models.OneToOneField("ident_bridge.OutboxMessage", on_delete=models.PROTECT, related_name="augmentation")
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
