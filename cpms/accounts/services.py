"""The only code that writes authentication events and users' sessions."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import transaction

from .models import AuthEvent, UserSession


def failure_limit() -> int:
    return settings.AXES_FAILURE_LIMIT


def _client(request) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    meta = getattr(request, "META", {})
    return meta.get("REMOTE_ADDR") or None, (meta.get("HTTP_USER_AGENT") or "")[:300]


def auth_event_record(kind: str, *, request=None, user=None, username: str = "", detail: str = "") -> AuthEvent:
    ip, agent = _client(request)
    if user is None and username:
        user = get_user_model().objects.filter(username=username).first()
    return AuthEvent.objects.create(kind=kind, user=user, username=(username or getattr(user, "username", ""))[:150],
                                    ip_address=ip, user_agent=agent, detail=detail[:300])


def session_register(*, request, user) -> list[str]:
    """Record the new session; end the oldest beyond SESSION_LIMIT_PER_USER (ASVS 3.3: a bounded number of sessions)."""
    key = request.session.session_key
    if not key:
        request.session.save()
        key = request.session.session_key
    with transaction.atomic():
        UserSession.objects.get_or_create(session_key=key, defaults={"user": user})
        held = list(UserSession.objects.select_for_update().filter(user=user).order_by("created_at", "id"))
        evicted = held[: max(len(held) - settings.SESSION_LIMIT_PER_USER, 0)]
        keys = [s.session_key for s in evicted]
        if keys:
            Session.objects.filter(session_key__in=keys).delete()
            UserSession.objects.filter(session_key__in=keys).delete()
            auth_event_record(AuthEvent.Kind.SESSION_EVICTED, request=request, user=user,
                              detail=f"{len(keys)} older session(s) ended: at most {settings.SESSION_LIMIT_PER_USER} at once")
    return keys


def session_end(*, request, user, why: str) -> None:
    auth_event_record(AuthEvent.Kind.SESSION_EXPIRED, request=request, user=user, detail=why)


def tokens_revoke(*, request=None, user, why: str) -> int:
    """Sign-out (and an administrator's reset) revoke the user's API token."""
    from rest_framework.authtoken.models import Token

    deleted, _ = Token.objects.filter(user=user).delete()
    if deleted:
        auth_event_record(AuthEvent.Kind.TOKEN_REVOKED, request=request, user=user, detail=why)
    return deleted
