"""Read side of ICTS: the work queue (sorted in SQL by priority then due date), the OBIM queue."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from cpms.partner_requests.normalise import accuracy_check

from .permissions import cases_visible_to, packages_visible_to_obim
from .workflow import ACTIVE


def work_queue(user, *, status: str = "", priority: str = "", partner: str = "", mine: bool = False, overdue: bool = False,
               include_closed: bool = False):
    qs = cases_visible_to(user).select_related("partner_request__partner", "assigned_analyst")
    if not include_closed and not status:
        qs = qs.filter(status__in=ACTIVE)
    if status:
        qs = qs.filter(status=status)
    if priority:
        qs = qs.filter(priority=priority)
    if partner:
        qs = qs.filter(partner_request__partner_id=partner)
    if mine:
        qs = qs.filter(assigned_analyst=user)
    if overdue:
        qs = qs.filter(due_at__lt=timezone.now())
    return qs.order_by("priority_rank", "due_at", "id")


def obim_queue(user, *, delivery: str = ""):
    qs = packages_visible_to_obim(user).select_related("partner_request__partner", "package__outbox_message")
    if delivery:
        qs = qs.filter(Q(package__outbox_message__delivery_status=delivery))
    return qs.order_by("-package__transmitted_at", "-id")


def case_accuracy(case):
    req = case.partner_request
    return accuracy_check(req.subject, req.person) if req.person else []


def authorised_for(case):
    """What the partner's active agreement lets the response carry (shown beside the form)."""
    from cpms.partner_requests.services import active_request_agreement

    return active_request_agreement(case.partner_request.partner_id)
