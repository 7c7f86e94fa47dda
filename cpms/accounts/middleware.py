"""Session lifetime after OWASP ASVS 3.3: ended after SESSION_IDLE_SECONDS without activity and SESSION_ABSOLUTE_SECONDS
after sign-in, whatever happens. Background polls (htmx, header X-CPMS-Background) are not activity: a page left open
on a query does not keep its session alive."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

SIGNED_IN_AT = "cpms_signed_in_at"
LAST_ACTIVITY = "cpms_last_activity"


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session") and not request.path_info.startswith("/api/"):
            now = time.time()
            signed_in = request.session.setdefault(SIGNED_IN_AT, now)
            last = request.session.get(LAST_ACTIVITY, now)
            why = ""
            if now - last > settings.SESSION_IDLE_SECONDS:
                why = f"no activity for {settings.SESSION_IDLE_SECONDS // 60} minutes"
            elif now - signed_in > settings.SESSION_ABSOLUTE_SECONDS:
                why = f"signed in more than {settings.SESSION_ABSOLUTE_SECONDS // 3600} hours ago"
            if why:
                from .services import session_end

                session_end(request=request, user=user, why=why)
                logout(request)
                target = reverse("signed-out") + "?reason=" + ("idle" if "activity" in why else "absolute")
                if request.headers.get("HX-Request"):
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
            if not request.headers.get("X-CPMS-Background"):
                request.session[LAST_ACTIVITY] = now
        return self.get_response(request)
