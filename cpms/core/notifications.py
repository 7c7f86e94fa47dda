"""Telling people: one place that writes notifications, for a person, a role or the administrators."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.urls import reverse

from .models import Notification
from .roles import Role


def notify(recipients, message: str, *, kind: str = Notification.Kind.ACTION, to: tuple | None = None, url: str = "",
           query=None) -> int:
    """The one way to tell people something. `recipients`: users, user ids (None is skipped) or a Role (its active
    members). `to`: the page it links to as a URL name and its arguments, reversed here, e.g. ("icts-case", case.pk);
    `url` only for pages outside the URL configuration (the admin's). Returns how many were told."""
    if isinstance(recipients, Role):
        user_ids = get_user_model().objects.filter(groups__name=recipients, is_active=True).values_list("pk", flat=True)
    else:
        user_ids = [getattr(r, "pk", r) for r in recipients]
    link = reverse(to[0], args=to[1:]) if to else url
    rows = [Notification(user_id=uid, kind=kind, message=message[:300], url=link[:200], query=query)
            for uid in sorted({u for u in user_ids if u})]
    Notification.objects.bulk_create(rows)
    return len(rows)


def notify_admins(message: str, *, url: str = "") -> int:
    """System administrators: members of the admin role, and superusers."""
    from django.db.models import Q

    users = (get_user_model().objects.filter(Q(groups__name=Role.ADMIN) | Q(is_superuser=True), is_active=True)
             .values_list("pk", flat=True).distinct())
    return notify(users, message, kind=Notification.Kind.FAILED, url=url)


ATTENTION_PAGES = {"inbound_gave_up": "/admin/ident_bridge/inboundattention/{pk}/change/",
                   "outbound_failed": "/admin/ident_bridge/outboxattention/{pk}/change/"}


def notify_admins_of_message(kind: str, row, summary: str) -> int:
    """ident_bridge's attention listener: a message that needs a person goes to the administrators' list."""
    return notify_admins(summary, url=ATTENTION_PAGES[kind].format(pk=row.pk))
