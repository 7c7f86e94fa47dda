"""USCIS-initiated international queries and everything a partner sends back.

Partner data (Match, PartnerResponse, ResponseAttachment) lives in its own tables: it is sequestered from
the USCIS record and only reached through the access helpers in permissions.py.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from guardian.models import UserObjectPermissionBase

from ident_bridge import icd

from .workflow import QueryStatus

REASON_CHOICES = [(r, r.replace("_", " ").capitalize()) for r in icd.REASONS]
PRIORITY_CHOICES = [(p, p.capitalize()) for p in icd.PRIORITIES]
MAX_ROUNDS = 3  # ICD §3: round 1 (submit), round 2 (automatic after a match), round 3 (officer's follow-up)


class InternationalQuery(models.Model):
    query_ref = models.CharField(max_length=64, unique=True)
    case = models.ForeignKey("core.BenefitCase", on_delete=models.PROTECT, related_name="queries")
    person = models.ForeignKey("core.Person", on_delete=models.PROTECT, related_name="international_queries")
    partner = models.ForeignKey("core.Partner", on_delete=models.PROTECT, related_name="+")
    agreement = models.ForeignKey("core.Agreement", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=20, choices=REASON_CHOICES)
    priority = models.CharField(max_length=6, choices=PRIORITY_CHOICES)
    encounter_id = models.CharField(max_length=40, blank=True, help_text="ICD §4: sent with the query when given")
    requestor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=QueryStatus.choices, default=QueryStatus.SUBMITTED)
    overdue_since = models.DateTimeField(null=True, blank=True)
    next_screen_at = models.DateTimeField(null=True, blank=True, help_text="held for CIS: when the sweep asks CIS again")
    # The form's (or API client's Idempotency-Key) token: a double submit creates one query, not two.
    submission_key = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "international queries"
        indexes = [
            models.Index(fields=["case", "-created_at"]),
            models.Index(fields=["status", "updated_at"]),
            models.Index(fields=["person", "-created_at"]),
            models.Index(fields=["-updated_at", "id"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["requestor", "submission_key"], name="query_unique_submission_key",
                                    condition=Q(submission_key__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.query_ref


class QueryRound(models.Model):
    """One round: what CPMS sent (round 1 and 3) or IDENT sent on our behalf (round 2), and when it was answered."""

    query = models.ForeignKey(InternationalQuery, on_delete=models.CASCADE, related_name="rounds")
    number = models.PositiveSmallIntegerField()
    outbox_message = models.OneToOneField(
        "ident_bridge.OutboxMessage", null=True, blank=True, on_delete=models.PROTECT, related_name="query_round"
    )
    requested_items = models.JSONField(default=list, blank=True)
    justification = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, blank=True, help_text="round 1: match / no_match; rounds 2-3: response")

    class Meta:
        ordering = ["query_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["query", "number"], name="query_round_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1) & Q(number__lte=MAX_ROUNDS), name="query_round_number_1_to_3"),
        ]
        indexes = [models.Index(fields=["answered_at", "started_at"], name="round_unanswered_idx", condition=Q(answered_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.query_id} round {self.number}"


class QueryTransition(models.Model):
    """History of the query's state machine: written by workflow.transition() in the same transaction."""

    query = models.ForeignKey(InternationalQuery, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=QueryStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=QueryStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["query_id", "at", "id"]


class Match(models.Model):
    """A biometric match reported by a partner (round 1 of our query), with the minimal identity data.

    The same model will record the USCIS-sourced match behind a partner's request (partner-request issue).
    """

    class Source(models.TextChoices):
        PARTNER_RESULT = "partner_result", "Partner's answer to a USCIS query"
        USCIS_SOURCED = "uscis_sourced", "USCIS-sourced match behind a partner's request"

    source = models.CharField(max_length=20, choices=Source.choices, default=Source.PARTNER_RESULT)
    partner = models.ForeignKey("core.Partner", on_delete=models.PROTECT, related_name="+")
    query = models.OneToOneField(InternationalQuery, null=True, blank=True, on_delete=models.CASCADE, related_name="match")
    partner_request = models.OneToOneField("partner_requests.PartnerRequest", null=True, blank=True, on_delete=models.CASCADE,
                                           related_name="match")
    person = models.ForeignKey("core.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="the USCIS person the match is to")
    partner_person_id = models.CharField(max_length=64, blank=True)
    biographic = models.JSONField(default=dict, help_text="ICD §6 identity elements only")
    inbound_message = models.ForeignKey("ident_bridge.InboundMessage", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "matches"
        indexes = [models.Index(fields=["partner", "partner_person_id"])]
        constraints = [
            models.CheckConstraint(condition=Q(query__isnull=False) ^ Q(partner_request__isnull=False), name="match_has_one_origin"),
        ]


class PartnerResponse(models.Model):
    """A partner's `query.response`: round 2 or 3 of a query, or the answer to an augmentation request."""

    query = models.ForeignKey(InternationalQuery, null=True, blank=True, on_delete=models.CASCADE, related_name="responses")
    round = models.OneToOneField(QueryRound, null=True, blank=True, on_delete=models.CASCADE, related_name="response")
    augmentation = models.OneToOneField("partner_requests.Augmentation", null=True, blank=True, on_delete=models.CASCADE,
                                        related_name="response")
    responder = models.JSONField(default=dict)
    responded_at = models.DateTimeField()
    person = models.JSONField(default=dict, help_text="ICD §6 data elements as received")
    inbound_message = models.OneToOneField("ident_bridge.InboundMessage", on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["query_id", "round__number"]
        constraints = [
            models.CheckConstraint(condition=Q(round__isnull=False) ^ Q(augmentation__isnull=False), name="response_answers_one_thing"),
        ]


def attachment_path(instance: ResponseAttachment, filename: str) -> str:
    # Content-addressed: the name says nothing about the person, and a file is never overwritten.
    return f"partner/{instance.sha256[:2]}/{instance.sha256}"


class ResponseAttachment(models.Model):
    response = models.ForeignKey(PartnerResponse, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveSmallIntegerField()
    filename = models.CharField(max_length=255)
    media_type = models.CharField(max_length=40, choices=[(m, m) for m in icd.MEDIA_TYPES])
    kind = models.CharField(max_length=30, choices=[(k, k.replace("_", " ")) for k in icd.ATTACHMENT_KINDS])
    # What CPMS keeps, shows and hands on: an image is the re-encoded copy (ident_bridge.filecheck), a PDF the bytes as
    # received. `received_sha256` is the partner's (ICD §7, checked at receipt); the bytes it names stay in the raw
    # inbound message (`response.inbound_message`, the evidence), at /body/attachments/<position>.
    sha256 = models.CharField(max_length=64)
    received_sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    file = models.FileField(upload_to=attachment_path, max_length=200)

    class Meta:
        ordering = ["response_id", "position"]
        constraints = [models.UniqueConstraint(fields=["response", "position"], name="response_attachment_position")]

    @property
    def is_image(self) -> bool:
        return self.media_type.startswith("image/") and self.media_type != "image/tiff"


# --- FDNS referrals -------------------------------------------------------------------------------------------


class InternationalQueryUserObjectPermission(UserObjectPermissionBase):
    """Object grants on one query (django-guardian, direct foreign key): an FDNS analyst's referral."""

    content_object = models.ForeignKey(InternationalQuery, on_delete=models.CASCADE, related_name="user_grants")

    class Meta(UserObjectPermissionBase.Meta):
        pass


class FdnsReferral(models.Model):
    """An officer or supervisor refers a query's results to one FDNS fraud analyst, with a reason, for a time.

    The analyst reads the query only while the referral is active (not expired, not revoked): the guardian
    grant is made and removed with it, and the access check requires both.
    """

    query = models.ForeignKey(InternationalQuery, on_delete=models.PROTECT, related_name="fdns_referrals")
    analyst = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="fdns_referrals")
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["analyst", "-created_at"]),
            models.Index(fields=["expires_at"], name="fdns_referral_active_idx", condition=Q(revoked_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.query} -> {self.analyst}"

    @property
    def is_active(self) -> bool:
        from django.utils import timezone

        return self.revoked_at is None and self.expires_at > timezone.now()
