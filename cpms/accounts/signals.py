"""Authentication events on record, from Django's and django-axes' signals."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from . import services
from .models import AuthEvent


@receiver(user_logged_in, dispatch_uid="accounts-login")
def _logged_in(sender, request, user, **kwargs):
    services.auth_event_record(AuthEvent.Kind.LOGIN, request=request, user=user)
    services.session_register(request=request, user=user)


@receiver(user_logged_out, dispatch_uid="accounts-logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        services.auth_event_record(AuthEvent.Kind.LOGOUT, request=request, user=user)
        services.tokens_revoke(request=request, user=user, why="signed out")


@receiver(user_login_failed, dispatch_uid="accounts-login-failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    services.auth_event_record(AuthEvent.Kind.LOGIN_FAILED, request=request, username=(credentials or {}).get("username", ""))


@receiver(user_locked_out, dispatch_uid="accounts-locked-out")
def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    services.auth_event_record(AuthEvent.Kind.LOCKED_OUT, request=request, username=username or "",
                               detail=f"after {services.failure_limit()} failed sign-ins")
