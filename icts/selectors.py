"""Read side of ICTS: the work queue (sorted in SQL by priority then due date), the OBIM queue."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from cpms.partner_requests.selectors import request_accuracy

from cpms.core.permissions import GrantPage, granted_page
from cpms.core.roles import Role, has_role

from .models import IctsCase, IctsCaseGroupObjectPermission, IctsCaseUserObjectPermission
from .permissions import CASE_VIEW, OBIM_VISIBLE, PACKAGE_VIEW, cases_visible_to, packages_visible_to_obim
from .workflow import ACTIVE


def _queue_filter(user, *, status: str = "", priority: str = "", partner: str = "", mine: bool = False, overdue: bool = False,
                  include_closed: bool = False) -> Q:
    q = Q()
    if not include_closed and not status:
        q &= Q(status__in=ACTIVE)
    if status:
        q &= Q(status=status)
    if priority:
        q &= Q(priority=priority)
    if partner:
        q &= Q(partner_request__partner_id=partner)
    if mine:
        q &= Q(assigned_analyst_id=user.pk)
    if overdue:
        q &= Q(due_at__lt=timezone.now())
    return q


def work_queue(user, **filters):
    """The work queue as a queryset (the API pages it): by priority, then due date."""
    qs = cases_visible_to(user).select_related("partner_request__partner", "assigned_analyst")
    return qs.filter(_queue_filter(user, **filters)).order_by("priority_rank", "due_at", "id")


def work_queue_page(user, *, number: int = 1, per_page: int = 50, **filters) -> GrantPage:
    """A page of the work queue read from the grants in their order (priority, then due date): the same cost
    for a reviewer who sees every case as for an analyst with a handful (bench/queues.py)."""
    if not has_role(user, Role.ICTS_ANALYST, Role.ICTS_REVIEWER):
        return GrantPage([], number=1, has_next=False)
    return granted_page(user, CASE_VIEW, queryset=IctsCase.objects.select_related("partner_request__partner", "assigned_analyst"),
                        user_model=IctsCaseUserObjectPermission, group_model=IctsCaseGroupObjectPermission,
                        where=_queue_filter(user, **filters), descending=False, number=number, per_page=per_page,
                        user_grants_only=bool(filters.get("mine")))


def obim_queue(user, *, delivery: str = ""):
    qs = packages_visible_to_obim(user).select_related("partner_request__partner", "package__outbox_message")
    if delivery:
        qs = qs.filter(Q(package__outbox_message__delivery_status=delivery))
    return qs.order_by("-package__transmitted_at", "-id")


def obim_queue_page(user, *, delivery: str = "", number: int = 1, per_page: int = 50) -> GrantPage:
    """A page of OBIM's transmitted packages, latest first, read from their grants (sort_key: the time sent)."""
    if not has_role(user, Role.OBIM_ANALYST):
        return GrantPage([], number=1, has_next=False)
    where = Q(status__in=OBIM_VISIBLE)
    if delivery:
        where &= Q(package__outbox_message__delivery_status=delivery)
    return granted_page(user, PACKAGE_VIEW, queryset=IctsCase.objects.select_related("partner_request__partner",
                                                                                     "package__outbox_message"),
                        user_model=IctsCaseUserObjectPermission, group_model=IctsCaseGroupObjectPermission, where=where,
                        descending=True, number=number, per_page=per_page)


def case_accuracy(case):
    return request_accuracy(case.partner_request)


def authorised_for(case):
    """What the partner's active agreement lets the response carry (shown beside the form)."""
    from cpms.disclosure.services import active_request_agreement

    return active_request_agreement(case.partner_request.partner_id)
