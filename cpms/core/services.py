"""Writes that belong to the core app."""

from django.utils import timezone

from .models import Notification


def notifications_mark_read(*, actor, ids=None) -> int:
    """Mark the actor's own notifications read (all unread ones when ids is None)."""
    qs = Notification.objects.filter(user=actor, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())
