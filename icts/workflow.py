"""The ICTS case's state machine. Nothing else assigns `IctsCase.status`.

    open ─assign─▶ preparing ─submit─▶ in_review ─approve─▶ approved ─transmit─▶ transmitted ─ack─▶ delivered
                     ▲                   │                     │                    └─ack rejected─▶ delivery_failed
                     └──────return───────┘                     └─status changed / over the agreement─▶ blocked
    blocked ─privacy officer shares─▶ approved (transmitted after a fresh check) │ ─withholds─▶ closed
    delivery_failed ─an expired response sent again and acknowledged─▶ delivered
"""

from __future__ import annotations

from django.db import models, transaction

from cpms.core.errors import DomainError


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open (unassigned)"
    PREPARING = "preparing", "Preparing the response"
    IN_REVIEW = "in_review", "In review"
    RETURNED = "returned", "Returned with comments"
    APPROVED = "approved", "Approved (transmitting)"
    TRANSMITTED = "transmitted", "Transmitted"
    DELIVERED = "delivered", "Delivered to the partner"
    DELIVERY_FAILED = "delivery_failed", "Delivery failed"
    BLOCKED = "blocked", "Blocked before transmission"
    CLOSED = "closed", "Closed without a response"


C = CaseStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    C.OPEN: frozenset({C.PREPARING}),
    C.PREPARING: frozenset({C.IN_REVIEW}),
    C.IN_REVIEW: frozenset({C.RETURNED, C.APPROVED}),
    C.RETURNED: frozenset({C.IN_REVIEW}),
    C.APPROVED: frozenset({C.TRANSMITTED, C.BLOCKED, C.RETURNED}),
    C.TRANSMITTED: frozenset({C.DELIVERED, C.DELIVERY_FAILED}),
    C.BLOCKED: frozenset({C.CLOSED, C.APPROVED}),
    C.DELIVERED: frozenset(),
    C.DELIVERY_FAILED: frozenset({C.DELIVERED}),  # an expired response sent again by an administrator
    C.CLOSED: frozenset(),
}
EDITABLE = frozenset({C.PREPARING, C.RETURNED})
ACTIVE = frozenset({C.OPEN, C.PREPARING, C.IN_REVIEW, C.RETURNED, C.APPROVED, C.BLOCKED})


class TransitionNotAllowed(DomainError):
    def __init__(self, current: str, target: str):
        super().__init__(f"An ICTS case that is '{CaseStatus(current).label}' cannot become '{CaseStatus(target).label}'.", code="wrong_state")


def transition(case, to: str, *, actor=None, reason: str = ""):
    from .models import CaseTransition, IctsCase

    with transaction.atomic():
        locked = IctsCase.objects.select_for_update().get(pk=case.pk)
        if to not in TRANSITIONS.get(locked.status, frozenset()):
            raise TransitionNotAllowed(locked.status, to)
        CaseTransition.objects.create(case=locked, from_status=locked.status, to_status=to, actor=actor, reason=reason[:500])
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
    case.status = to
    return locked
