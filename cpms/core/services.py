"""Writes that belong to the core app."""

from datetime import timedelta

from django.utils import timezone

from django.db import transaction

from .errors import DomainError
from .models import Agreement, BenefitCase, Notification
from .permissions import case_grants_sync
from .roles import Role, has_role


def notifications_mark_read(*, actor, ids=None) -> int:
    """Mark the actor's own notifications read (all unread ones when ids is None)."""
    qs = Notification.objects.filter(user=actor, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


class CaseError(Exception):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def case_set_officers(*, actor, case: BenefitCase, officers) -> BenefitCase:
    """Assign exactly these officers to the case; their object grants follow in the same transaction.

    `actor` is None for system work (demo data, the admin's save after its own permission check).
    """
    officers = list(officers)
    not_officers = [u.get_username() for u in officers if not has_role(u, Role.OFFICER, Role.SUPERVISOR)]
    if not_officers:
        raise CaseError(f"Only asylum/refugee officers can be assigned to a case: {', '.join(not_officers)}.",
                        field="assigned_officers")
    with transaction.atomic():
        case.assigned_officers.set(officers)
        case_grants_sync(case)
    return case


# --- agreements: a published version is never edited; a change is a new version ------------------------------


class AgreementError(DomainError):
    pass


_VERSIONED_FIELDS = ("partner", "title", "appendix_a_ref", "signed_on", "is_active", "allows_uscis_queries",
                     "allows_partner_requests", "authorised_data_elements", "authorised_attachment_kinds",
                     "asylum_disclosure_authorised", "legal_authority")


def agreement_new_version(*, actor, source: Agreement) -> Agreement:
    """A draft copy of a published version, to be edited, reviewed and published; the source stays as it is."""
    with transaction.atomic():
        source = Agreement.objects.select_for_update().get(pk=source.pk)
        if source.status != Agreement.Status.PUBLISHED:
            raise AgreementError("Start a new version from a published one; this one is still a draft: edit it instead.",
                                 code="wrong_state")
        family = Agreement.objects.filter(partner=source.partner, appendix_a_ref=source.appendix_a_ref)
        pending = family.exclude(status=Agreement.Status.PUBLISHED).first()
        if pending is not None:
            raise AgreementError(f"Version {pending.version} of this agreement is already being prepared "
                                 f"({pending.get_status_display().lower()}): finish or delete it first.", code="wrong_state")
        latest = max(family.values_list("version", flat=True))
        return Agreement.objects.create(
            **{f: getattr(source, f) for f in _VERSIONED_FIELDS}, version=latest + 1, status=Agreement.Status.DRAFT,
            supersedes=source, drafted_by=actor, effective_from=timezone.localdate(),
            change_note=f"Draft based on version {source.version}",
        )


def agreement_submit_for_review(*, actor, agreement: Agreement) -> Agreement:
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.status != Agreement.Status.DRAFT:
            raise AgreementError(f"Version {locked.version} is {locked.get_status_display().lower()}, not a draft.",
                                 code="wrong_state")
        locked.full_clean()
        locked.status = Agreement.Status.IN_REVIEW
        locked.save(update_fields=["status"])
    return locked


def agreement_return_to_draft(*, actor, agreement: Agreement) -> Agreement:
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.status != Agreement.Status.IN_REVIEW:
            raise AgreementError(f"Version {locked.version} is not in review.", code="wrong_state")
        locked.status = Agreement.Status.DRAFT
        locked.save(update_fields=["status"])
    return locked


def agreement_publish(*, actor, agreement: Agreement) -> Agreement:
    """Put a reviewed version in force from its effective date. The version it supersedes ends the day before, so
    one version of an agreement is in force on any day, and disclosures keep pointing at the one they left under."""
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.status != Agreement.Status.IN_REVIEW:
            raise AgreementError(f"Only a version in review can be published; version {locked.version} is "
                                 f"{locked.get_status_display().lower()}.", code="wrong_state")
        previous = Agreement.objects.select_for_update().get(pk=locked.supersedes_id) if locked.supersedes_id else None
        if previous is not None and locked.effective_from <= previous.effective_from:
            raise AgreementError(f"Version {locked.version} must take effect after version {previous.version} did "
                                 f"({previous.effective_from:%-d %b %Y}).", field="effective_from")
        locked.full_clean()
        locked.status, locked.published_by, locked.published_at = Agreement.Status.PUBLISHED, actor, timezone.now()
        locked.save(update_fields=["status", "published_by", "published_at"])
        if previous is not None and (previous.effective_to is None or previous.effective_to >= locked.effective_from):
            previous.effective_to = locked.effective_from - timedelta(days=1)
            previous.save(update_fields=["effective_to"])
    return locked
