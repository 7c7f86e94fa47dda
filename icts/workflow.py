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
# The states in which OBIM sees the package as it was sent, through its own routes (obim-*, api-obim-*) and nothing
# else: ICTS's routes are for the ICTS roles in every state (icts.permissions filters by this set in SQL).
OBIM_VISIBLE = frozenset({C.TRANSMITTED, C.DELIVERED, C.DELIVERY_FAILED})
ACTIVE = frozenset({C.OPEN, C.PREPARING, C.IN_REVIEW, C.RETURNED, C.APPROVED, C.BLOCKED})
REASSIGNABLE = frozenset({C.OPEN, C.PREPARING, C.RETURNED})


# --- who may do what, the one place each rule is written (services, views, API and templates ask these) ------


def _role(user, role: str) -> bool:
    from cpms.core.roles import has_role

    return has_role(user, role)


def case_can_take(case, user) -> bool:
    return case.status == C.OPEN and case.assigned_analyst_id is None and _role(user, "icts_analyst")


def case_can_assign(case, user) -> bool:
    """A reviewer gives the case to an analyst (or another one) while nobody is reviewing or sending it."""
    return _role(user, "icts_reviewer") and case.status in REASSIGNABLE


def case_edit_refusal(case, user) -> tuple[str, str] | None:
    """Why this user may not change the response now, as (code, message); None when they may."""
    if case.assigned_analyst_id != user.pk:
        return "forbidden", "Only the analyst assigned to this case can prepare its response."
    if case.status not in EDITABLE:
        return "wrong_state", f"The response cannot be changed while the case is '{CaseStatus(case.status).label}'."
    return None


def case_can_edit(case, user) -> bool:
    return case_edit_refusal(case, user) is None


def case_can_submit(case, user) -> bool:
    return case_can_edit(case, user) and getattr(case, "package", None) is not None


def case_can_review(case, user) -> bool:
    return _role(user, "icts_reviewer") and case.status == C.IN_REVIEW


def case_visible_to_obim(case) -> bool:
    return case.status in OBIM_VISIBLE


def case_is_overdue(case, now) -> bool:
    return case.status in ACTIVE and case.due_at < now


WORKFLOW = Workflow(model="icts.IctsCase", history="icts.CaseTransition", fk="case", statuses=CaseStatus, table=TRANSITIONS,
                    noun="An ICTS case", reason_max=500)
TransitionNotAllowed = CoreTransitionNotAllowed


def transition(case, to: str, *, actor=None, reason: str = ""):
    return WORKFLOW.move(case, to, actor=actor, reason=reason)
