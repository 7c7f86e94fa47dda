"""The ICTS case's state machine. Nothing else assigns `IctsCase.status`.

    open ─assign─▶ preparing ─submit─▶ in_review ─approve─▶ approved ─transmit─▶ transmitted ─ack─▶ delivered
                     ▲                   │                     │                    └─ack rejected─▶ delivery_failed
                     └──────return───────┘                     └─status changed / over the agreement─▶ blocked
    blocked ─privacy officer shares─▶ approved (transmitted after a fresh check) │ ─withholds─▶ closed
    delivery_failed ─an expired response sent again and acknowledged─▶ delivered
"""

from __future__ import annotations

from django.db import models

from cpms.core.workflow import TransitionNotAllowed as CoreTransitionNotAllowed
from cpms.core.workflow import Workflow


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


WORKFLOW = Workflow(model="icts.IctsCase", history="icts.CaseTransition", fk="case", statuses=CaseStatus, table=TRANSITIONS,
                    noun="An ICTS case", reason_max=500)
TransitionNotAllowed = CoreTransitionNotAllowed


def transition(case, to: str, *, actor=None, reason: str = ""):
    return WORKFLOW.move(case, to, actor=actor, reason=reason)
