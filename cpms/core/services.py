"""Writes that belong to the core app."""

from django.utils import timezone

from django.db import transaction

from .models import BenefitCase, Notification
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
