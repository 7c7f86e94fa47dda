"""Telling people: one place that writes notifications, for a person, a role or the administrators."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from .models import Notification
from .roles import Role


def notify_users(user_ids, message: str, *, kind: str = Notification.Kind.ACTION, url: str = "", query=None) -> int:
    rows = [Notification(user_id=uid, kind=kind, message=message[:300], url=url[:200], query=query)
            for uid in sorted({u for u in user_ids if u})]
    Notification.objects.bulk_create(rows)
    return len(rows)


def notify_role(role: str, message: str, *, url: str = "", kind: str = Notification.Kind.ACTION) -> int:
    users = get_user_model().objects.filter(groups__name=role, is_active=True).values_list("pk", flat=True)
    return notify_users(users, message, kind=kind, url=url)


def notify_admins(message: str, *, url: str = "") -> int:
    """System administrators: members of the admin role, and superusers."""
    from django.db.models import Q

    users = (get_user_model().objects.filter(Q(groups__name=Role.ADMIN) | Q(is_superuser=True), is_active=True)
             .values_list("pk", flat=True).distinct())
    return notify_users(users, message, kind=Notification.Kind.FAILED, url=url)


ATTENTION_PAGES = {"inbound_gave_up": "/admin/ident_bridge/inboundattention/{pk}/change/",
                   "outbound_failed": "/admin/ident_bridge/outboxattention/{pk}/change/"}


def notify_admins_of_message(kind: str, row, summary: str) -> int:
    """ident_bridge's attention listener: a message that needs a person goes to the administrators' list."""
    return notify_admins(summary, url=ATTENTION_PAGES[kind].format(pk=row.pk))
