"""Signing out, the signed-out page, staying signed in, changing one's password."""

from __future__ import annotations

from base64 import b32encode
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .models import AuthEvent
from .services import auth_event_record

SIGNED_OUT_REASONS = {
    "idle": "You were signed out after 15 minutes without activity, to protect the information on your screen.",
    "absolute": "You were signed out because your session reached its 12-hour limit. Sign in again to go on.",
}


@require_GET
def signed_out(request):
    return render(request, "accounts/signed_out.html", {"reason": SIGNED_OUT_REASONS.get(request.GET.get("reason", ""))})


@login_required
@require_POST
def keepalive(request):
    """"Stay signed in" on the one-minute warning: this request is activity (SessionTimeoutMiddleware records it)."""
    return HttpResponse(status=204)


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request):
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        auth_event_record(AuthEvent.Kind.PASSWORD_CHANGED, request=request, user=user)
        messages.success(request, "Your password is changed.")
        return redirect("home")
    return render(request, "accounts/password_change.html", {"form": form})


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer once an account or address is locked: a page, or a problem document on the API (429)."""
    from django.conf import settings
    from django.http import JsonResponse

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    detail = (f"Too many failed sign-ins: this account is locked for {minutes} minutes. Try again later, or ask an "
              "administrator to unlock it.")
    if request.path.startswith("/api/"):
        response = JsonResponse({"type": "about:blank", "title": "Locked out", "status": 429, "detail": detail},
                                status=429, content_type="application/problem+json")
    else:
        response = render(request, "accounts/locked_out.html", {"detail": detail}, status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))  # a 429 says when to come back
    return response


# --- the second factor ---------------------------------------------------------------------------------------

ENROL_SESSION_KEY = "cpms_backup_codes"


def _next(request) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if ok else ""


@login_required
@require_http_methods(["GET", "POST"])
def second_factor(request):
    """Enrol an authenticator app the first time (QR code, then its first code), or enter a code (or a backup code)."""
    from . import mfa

    if request.user.is_verified():
        return redirect(_next(request) or "home")
    error = ""
    if not mfa.has_second_factor(request.user):
        device = mfa.enrolment_device(request.user)
        if request.method == "POST":
            codes = mfa.enrol_confirm(request, device, request.POST.get("token", "").strip())
            if codes is not None:
                request.session[ENROL_SESSION_KEY] = codes
                return redirect(reverse("mfa-backup-codes") + ("?" + urlencode({"next": _next(request)}) if _next(request) else ""))
            error = "That code is not right. Enter the six digits your app shows now (they change every 30 seconds)."
        return render(request, "accounts/mfa_enrol.html", {
            "qr": mfa.qr_data_uri(device), "secret": b32encode(device.bin_key).decode().rstrip("="), "error": error,
            "next": _next(request)}, status=200 if not error else 400)
    if request.method == "POST":
        if mfa.verify(request, request.POST.get("token", "")):
            return redirect(_next(request) or "home")
        error = "That code is not right. Enter the six digits your app shows now, or one of your backup codes."
    return render(request, "accounts/mfa_verify.html", {"error": error, "next": _next(request)}, status=200 if not error else 400)


@login_required
@require_GET
def backup_codes(request):
    """The backup codes, shown once right after enrolment."""
    codes = request.session.pop(ENROL_SESSION_KEY, None)
    if not codes:
        return redirect("home")
    return render(request, "accounts/mfa_backup_codes.html", {"codes": codes, "next": _next(request) or reverse("home")})


@login_required
@require_GET
def account(request):
    """Your account: your API token (revocable), your second factor, your recent sign-ins."""
    from datetime import timedelta

    from django.conf import settings
    from django_otp.plugins.otp_static.models import StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from rest_framework.authtoken.models import Token

    token = Token.objects.filter(user=request.user).first()
    return render(request, "accounts/account.html", {
        "token": token, "token_expires": token.created + timedelta(hours=settings.API_TOKEN_TTL_HOURS) if token else None,
        "device": TOTPDevice.objects.filter(user=request.user, confirmed=True).first(),
        "backup_left": StaticToken.objects.filter(device__user=request.user).count(),
        "events": AuthEvent.objects.filter(user=request.user).order_by("-at", "-id")[:10],
    })


@login_required
@require_POST
def token_revoke(request):
    from .services import tokens_revoke

    if tokens_revoke(request=request, user=request.user, why="revoked by its owner"):
        messages.success(request, "Your API token is revoked: programs using it are refused from now on.")
    else:
        messages.info(request, "You have no API token.")
    return redirect("account")
