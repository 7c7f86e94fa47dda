"""The ICTS analysts', reviewers' and OBIM analysts' sections of the home page (cpms.core.home)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from cpms.core.home import Section, register, tile
from cpms.core.roles import Role

from .selectors import obim_count, work_queue_count
from .workflow import CaseStatus


def _queue(**params) -> str:
    params.setdefault("status", "")
    return f"{reverse('icts-queue')}?{urlencode(params)}"


@register(Role.ICTS_ANALYST, order=20)
def analyst_section(user) -> Section:
    return Section(title="Your ICTS cases", tiles=[
        tile("Overdue", work_queue_count(user, mine=True, overdue=True), _queue(mine="on", overdue="on"), tone="urgent"),
        tile("Due within 7 days", work_queue_count(user, mine=True, due_soon=True), _queue(mine="on", due_soon="on")),
        tile("Returned to you with comments", work_queue_count(user, mine=True, status=CaseStatus.RETURNED),
             _queue(mine="on", status=CaseStatus.RETURNED), tone="urgent"),
        tile("Assigned to you", work_queue_count(user, mine=True), _queue(mine="on")),
        tile("Unassigned cases you can take", work_queue_count(user, status=CaseStatus.OPEN), _queue(status=CaseStatus.OPEN)),
    ], links=[("Work queue", _queue())], empty="No ICTS case is assigned to you and none is waiting to be taken.")


@register(Role.ICTS_REVIEWER, order=30)
def reviewer_section(user) -> Section:
    return Section(title="ICTS review", tiles=[
        tile("Waiting for your review", work_queue_count(user, status=CaseStatus.IN_REVIEW), _queue(status=CaseStatus.IN_REVIEW),
             tone="urgent"),
        tile("Overdue", work_queue_count(user, overdue=True), _queue(overdue="on"), tone="urgent"),
        tile("Due within 7 days", work_queue_count(user, due_soon=True), _queue(due_soon="on")),
        tile("Unassigned", work_queue_count(user, status=CaseStatus.OPEN), _queue(status=CaseStatus.OPEN),
             hint="Assign them to analysts from the queue."),
        tile("Blocked before transmission", work_queue_count(user, status=CaseStatus.BLOCKED), _queue(status=CaseStatus.BLOCKED)),
    ], links=[("Work queue", _queue())], empty="No ICTS case is waiting for a reviewer.")


@register(Role.OBIM_ANALYST, order=40)
def obim_section(user) -> Section:
    url = reverse("obim-queue")
    return Section(title="Transmitted packages", tiles=[
        tile("Rejected by the partner or IDENT", obim_count(user, delivery="rejected"), f"{url}?delivery=rejected", tone="urgent"),
        tile("Delivered", obim_count(user, delivery="delivered"), f"{url}?delivery=delivered"),
        tile("Transmitted in all", obim_count(user), url),
    ], links=[("Transmitted packages", url)], empty="No response package has been transmitted yet.")
