"""The second factor (django-otp): TOTP enrolled at the first sign-in, ten single-use backup codes, an administrator's
reset. Every page but the sign-in, the second-factor pages and sign-out needs a verified session.

A seam for PIV or single sign-on at the proxy (off by default): with MFA_TRUSTED_PROXY_HEADER set, a request that
carries that header (which the proxy sets only after its own certificate or SSO check, and strips from clients)
counts as verified. Never set it unless the proxy guarantees both.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import AuthEvent
from .services import auth_event_record

EXEMPT_PREFIXES = ("/accounts/", "/static/", "/system-use/", "/api/", "/ident/", "/healthz")
BACKUP_CODES = 10


def has_second_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def trusted_by_proxy(request) -> bool:
    header = settings.MFA_TRUSTED_PROXY_HEADER
    return bool(header) and request.META.get(header) == "verified"


class SecondFactorRequiredMiddleware:
    """After sign-in, every page waits for the second factor (enrolment the first time)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        request.second_factor_by_proxy = trusted_by_proxy(request)  # read by the page chrome (cpms.core.context_processors)
        if (user is not None and user.is_authenticated and not user.is_verified() and not request.second_factor_by_proxy
                and not request.path_info.startswith(EXEMPT_PREFIXES) and not request.path_info.startswith("/admin/logout")):
            return redirect(reverse("mfa") + "?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)


def enrolment_device(user) -> TOTPDevice:
    """The unconfirmed TOTP device being enrolled (one at a time; a new sign-in reuses it)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URI as an SVG QR code in a data: URI (img-src allows data:, no inline script or style)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)


def enrol_confirm(request, device: TOTPDevice, token: str) -> list[str] | None:
    """The first code from the app confirms the device; ten backup codes are made (shown once) and the session is
    verified. None when the code is wrong."""
    if not device.verify_token(token):
        auth_event_record(AuthEvent.Kind.MFA_FAILED, request=request, user=request.user, detail="enrolment code refused")
        return None
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = backup_codes_new(request.user)
        otp_login(request, device)
        auth_event_record(AuthEvent.Kind.MFA_ENROLLED, request=request, user=request.user)
    return codes


def backup_codes_new(user) -> list[str]:
    static, _ = StaticDevice.objects.get_or_create(user=user, name="Backup codes", defaults={"confirmed": True})
    static.token_set.all().delete()
    codes = [f"{secrets.randbelow(10**8):08d}" for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=c) for c in codes)
    return codes


def verify(request, token: str) -> bool:
    device = match_token(request.user, (token or "").replace(" ", ""))
    if device is None:
        auth_event_record(AuthEvent.Kind.MFA_FAILED, request=request, user=request.user, detail="code refused")
        return False
    otp_login(request, device)
    if isinstance(device, StaticDevice):
        auth_event_record(AuthEvent.Kind.MFA_BACKUP_USED, request=request, user=request.user,
                          detail=f"{device.token_set.count()} backup codes left")
    return True


def second_factor_reset(*, actor, user, request=None) -> None:
    """An administrator resets a user's second factor (lost phone): the next sign-in enrols again. On record."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        auth_event_record(AuthEvent.Kind.MFA_RESET, request=request, user=user,
                          detail=f"reset by {actor.get_full_name() or actor.get_username()}")
