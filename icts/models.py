"""ICTS cases: the analysts' preparation and the reviewers' approval of a response package."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from cpms.core.models import SortedGrant, epoch_ms

from ident_bridge import icd

from .workflow import CaseStatus

PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}


class IctsCase(models.Model):
    partner_request = models.OneToOneField("partner_requests.PartnerRequest", on_delete=models.PROTECT, related_name="icts_case")
    case_number = models.CharField(max_length=20, unique=True)
    priority = models.CharField(max_length=6)
    priority_rank = models.PositiveSmallIntegerField(help_text="0 high, 1 medium, 2 low: sorts the work queue in SQL")
    due_at = models.DateTimeField()
    # The partner request's arrival, copied when the case opens (it never changes): the queue sorts by it in SQL.
    received_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    assigned_analyst = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                         related_name="icts_cases")
    blocked_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority_rank", "due_at", "id"]
        indexes = [
            models.Index(fields=["priority_rank", "due_at", "id"], name="icts_queue_idx"),
            models.Index(fields=["assigned_analyst", "priority_rank", "due_at"], name="icts_mine_idx"),
            models.Index(fields=["status", "priority_rank", "due_at"]),
            models.Index(fields=["due_at", "id"], name="icts_due_idx"),
            models.Index(fields=["received_at", "id"], name="icts_received_idx"),
        ]
        # view_ictscase: work on the case (its analyst, the reviewers, the analysts' pool while unassigned);
        # view_transmitted_package: OBIM analysts, granted at transmission.
        permissions = [("view_transmitted_package", "Can view the package as transmitted")]

    def __str__(self) -> str:
        return self.case_number

    def grant_sort_key(self, codename: str = "") -> int:
        """The work queue's order (priority, then due date) as one integer, sorted ascending; for OBIM's grant on
        the transmitted package, the time of transmission (their queue shows the latest first)."""
        if codename == "view_transmitted_package":
            sent = ResponsePackage.objects.filter(case=self).values_list("transmitted_at", flat=True).first()
            return epoch_ms(sent or self.updated_at)
        return (self.priority_rank << 42) + epoch_ms(self.due_at)


# Object grants on ICTS cases (django-guardian, direct foreign keys: see BenefitCaseUserObjectPermission).
class IctsCaseUserObjectPermission(SortedGrant, UserObjectPermissionBase):
    content_object = models.ForeignKey(IctsCase, on_delete=models.CASCADE, related_name="user_grants")

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "permission", "sort_key", "content_object"], name="icts_user_grant_page_idx")]


class IctsCaseGroupObjectPermission(SortedGrant, GroupObjectPermissionBase):
    content_object = models.ForeignKey(IctsCase, on_delete=models.CASCADE, related_name="group_grants")

    class Meta(GroupObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["group", "permission", "sort_key", "content_object"], name="icts_group_grant_page_idx")]


class CaseTransition(models.Model):
    case = models.ForeignKey(IctsCase, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=CaseStatus.choices)
    to_status = models.CharField(max_length=16, choices=CaseStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case_id", "at", "id"]


class ResponsePackage(models.Model):
    """The response on the uniform template. One package per case; its fields freeze once approved."""

    case = models.OneToOneField(IctsCase, on_delete=models.PROTECT, related_name="package")
    reviewer_name = models.CharField(max_length=200, help_text="Name on the response (ICD package.reviewer)")
    reviewer_organization = models.CharField(max_length=200, default="USCIS")
    reviewer_email = models.EmailField(blank=True)
    reviewer_phone = models.CharField(max_length=40, blank=True)
    person = models.JSONField(default=dict, help_text="ICD §6 data elements the response carries")
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    outbox_message = models.OneToOneField("ident_bridge.OutboxMessage", null=True, blank=True, on_delete=models.PROTECT,
                                          related_name="package")
    transmitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def reviewer_contact(self) -> dict:
        contact = {"name": self.reviewer_name, "organization": self.reviewer_organization}
        if self.reviewer_email:
            contact["email"] = self.reviewer_email
        if self.reviewer_phone:
            contact["phone"] = self.reviewer_phone
        return contact


def package_attachment_path(instance: PackageAttachment, filename: str) -> str:
    return f"packages/{instance.sha256[:2]}/{instance.sha256}"


class PackageAttachment(models.Model):
    """A scanned document uploaded by an analyst: type checked by magic number, size limited, sha256 kept."""

    package = models.ForeignKey(ResponsePackage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    media_type = models.CharField(max_length=40, choices=[(m, m) for m in icd.MEDIA_TYPES])
    kind = models.CharField(max_length=30, choices=[(k, k.replace("_", " ")) for k in icd.ATTACHMENT_KINDS])
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    file = models.FileField(upload_to=package_attachment_path, max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["package_id", "uploaded_at", "id"]
        constraints = [models.UniqueConstraint(fields=["package", "sha256"], name="package_attachment_unique_content")]


class Review(models.Model):
    class Verdict(models.TextChoices):
        APPROVED = "approved", "Approved"
        RETURNED = "returned", "Returned with comments"

    package = models.ForeignKey(ResponsePackage, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    comments = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["package_id", "at", "id"]
        constraints = [models.CheckConstraint(condition=Q(verdict="approved") | ~Q(comments=""), name="review_return_needs_comments")]
