"""System-use notification: a person accepts the banner before anything else in the browser."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

SESSION_KEY = "system_use_accepted_at"
EXEMPT_PREFIXES = ("/ident/", "/api/", "/static/", "/system-use/", "/healthz")


class SystemUseNotificationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not path.startswith(EXEMPT_PREFIXES) and not request.session.get(SESSION_KEY):
            return redirect(reverse("system-use") + "?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)
