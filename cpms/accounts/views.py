"""Signing out, the signed-out page, staying signed in, changing one's password."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpResponse
from django.shortcuts import redirect, render
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
        return JsonResponse({"type": "about:blank", "title": "Locked out", "status": 429, "detail": detail},
                            status=429, content_type="application/problem+json")
    return render(request, "accounts/locked_out.html", {"detail": detail}, status=429)
