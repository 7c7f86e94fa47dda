"""Read side of ICTS: the work queue (sorted in SQL by priority then due date), the OBIM queue."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from cpms.partner_requests.selectors import request_accuracy

from cpms.core.models import epoch_ms
from cpms.core.permissions import GrantPage, granted_count, granted_page, granted_walk
from cpms.core.roles import Role, has_role

from .models import PRIORITY_RANK, IctsCase, IctsCaseGroupObjectPermission, IctsCaseUserObjectPermission
from .permissions import CASE_VIEW, OBIM_VISIBLE, PACKAGE_VIEW, cases_visible_to, packages_visible_to_obim
from .workflow import ACTIVE


DUE_SOON = timedelta(days=7)
# The queue's orders: the default is the grants' own (priority, then due date); the others walk an index of the case.
SORTS = {
    "priority": ("priority_rank", "due_at", "id"),
    "due": ("due_at", "id"),
    "-due": ("-due_at", "-id"),
    "received": ("received_at", "id"),
    "-received": ("-received_at", "-id"),
}
COUNT_CAP = 1000
_QUEUE_RELATED = ("partner_request__partner", "partner_request__person", "assigned_analyst")


def _queue_filter(user, *, status: str = "", priority: str = "", partner: str = "", mine: bool = False, overdue: bool = False,
                  due_soon: bool = False, include_closed: bool = False, now=None) -> Q:
    now = now or timezone.now()
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
        q &= Q(due_at__lt=now)
    if due_soon:  # due within the week, not yet overdue
        q &= Q(due_at__gte=now, due_at__lt=now + DUE_SOON)
    return q


def work_queue(user, *, sort: str = "priority", **filters):
    """The work queue as a queryset (the API pages it): by priority, then due date, unless another order is asked."""
    qs = cases_visible_to(user).select_related(*_QUEUE_RELATED)
    return qs.filter(_queue_filter(user, **filters)).order_by(*SORTS.get(sort, SORTS["priority"]))


def work_queue_page(user, *, number: int = 1, per_page: int = 50, sort: str = "priority", **filters) -> GrantPage:
    """A page of the work queue. In its own order (priority, then due date) it is read from the grants in their
    order: the same cost for a reviewer who sees every case as for an analyst with a handful. Sorted by a column
    it walks that column's index and probes each case's grant (bench/queues.py measures both)."""
    if not has_role(user, Role.ICTS_ANALYST, Role.ICTS_REVIEWER):
        return GrantPage([], number=1, has_next=False)
    filters = {**filters, "now": filters.get("now") or timezone.now()}  # one "now" for the filter and the key ranges
    if sort in SORTS and sort != "priority":
        ordered = IctsCase.objects.filter(_queue_filter(user, **filters)).order_by(*SORTS[sort])
        page = granted_walk(user, CASE_VIEW, ordered=ordered, queryset=IctsCase.objects.select_related(*_QUEUE_RELATED),
                            user_model=IctsCaseUserObjectPermission, group_model=IctsCaseGroupObjectPermission,
                            number=number, per_page=per_page)
        if page is not None:
            return page
        start = (number - 1) * per_page  # few of the cases are this user's: the grants lead instead
        rows = list(work_queue(user, sort=sort, **filters)[start:start + per_page + 1])
        return GrantPage(rows[:per_page], number=number, has_next=len(rows) > per_page)
    return granted_page(user, CASE_VIEW, queryset=IctsCase.objects.select_related(*_QUEUE_RELATED),
                        user_model=IctsCaseUserObjectPermission, group_model=IctsCaseGroupObjectPermission,
                        where=_queue_filter(user, **filters), descending=False, number=number, per_page=per_page,
                        user_grants_only=bool(filters.get("mine")), key_ranges=_due_key_ranges(**filters))


def _due_key_ranges(*, priority: str = "", overdue: bool = False, due_soon: bool = False, now=None, **_) -> list | None:
    """A due-date filter as sort_key intervals (IctsCase.grant_sort_key: priority_rank << 42, plus the due time in
    ms), one per priority: the queue's page then reads only the grants that can match. It relies on the grants'
    sort_key following the case's due date: set when the case opens (its due date never changes after), and
    grants_refresh_sort_key is what anything that ever moves a due date must call."""
    if not (overdue or due_soon):
        return None
    now = now or timezone.now()
    lo, hi = 0, 1 << 42
    if overdue:
        hi = min(hi, epoch_ms(now))
    if due_soon:
        lo, hi = max(lo, epoch_ms(now)), min(hi, epoch_ms(now + DUE_SOON))
    ranks = [PRIORITY_RANK[priority]] if priority in PRIORITY_RANK else sorted(set(PRIORITY_RANK.values()))
    return [((rank << 42) + lo, (rank << 42) + hi) for rank in ranks] if lo < hi else [(0, 0)]


def work_queue_count(user, *, cap: int = COUNT_CAP, **filters) -> tuple[int, bool]:
    """How many cases match, counted up to `cap`: (count, more_than_cap). Read from the grants like the page, so
    a reviewer's "1,000+" costs what an analyst's "12" does."""
    if not has_role(user, Role.ICTS_ANALYST, Role.ICTS_REVIEWER):
        return 0, False
    return granted_count(user, CASE_VIEW, user_model=IctsCaseUserObjectPermission, group_model=IctsCaseGroupObjectPermission,
                         where=_queue_filter(user, **filters), cap=cap, user_grants_only=bool(filters.get("mine")))


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


def obim_count(user, *, delivery: str = "", cap: int = COUNT_CAP) -> tuple[int, bool]:
    """How many transmitted packages OBIM may read (with that delivery status), up to `cap`."""
    if not has_role(user, Role.OBIM_ANALYST):
        return 0, False
    where = Q(status__in=OBIM_VISIBLE)
    if delivery:
        where &= Q(package__outbox_message__delivery_status=delivery)
    return granted_count(user, PACKAGE_VIEW, user_model=IctsCaseUserObjectPermission, group_model=IctsCaseGroupObjectPermission,
                         where=where, cap=cap)


def case_accuracy(case):
    return request_accuracy(case.partner_request)


def authorised_for(case):
    """What the partner's active agreement lets the response carry (shown beside the form)."""
    from cpms.disclosure.services import active_request_agreement

    return active_request_agreement(case.partner_request.partner_id)


def latest_return(package):
    """The reviewer's comments the analyst is working on: the latest review, when it returned the response."""
    if package is None:
        return None
    review = package.reviews.select_related("reviewer").order_by("-at", "-id").first()
    return review if review is not None and review.verdict == review.Verdict.RETURNED else None
