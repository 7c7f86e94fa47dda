"""System-use notification: a person accepts the banner before anything else in the browser."""

from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

SESSION_KEY = "system_use_accepted_at"
EXEMPT_PREFIXES = ("/ident/", "/api/", "/static/", "/system-use/", "/healthz", "/accounts/signed-out/")


class SystemUseNotificationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not path.startswith(EXEMPT_PREFIXES) and not request.session.get(SESSION_KEY):
            return redirect(reverse("system-use") + "?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)


class DomainErrorMiddleware:
    """The safety net under every page: a service's refusal that a view did not catch (a double click, two people
    acting on one thing at once) is shown as a message on the page the person came from, never as a 500.
    The API has its own (cpms.core.problems: a problem document with the refusal's status)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.contrib import messages
        from django.utils.http import url_has_allowed_host_and_scheme

        from .errors import DomainError

        if not isinstance(exception, DomainError) or request.path_info.startswith(("/api/", "/ident/")):
            return None
        messages.error(request, exception.message)
        from urllib.parse import urlsplit

        back = request.META.get("HTTP_REFERER", "")
        safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure())
        if not safe or urlsplit(back).path == request.path_info:
            back = "/"
        return redirect(back)


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set: what the browser may use (Permissions-Policy), and no caching
    of anything but static files, since nearly every page, API answer and download carries personal data."""

    PERMISSIONS_POLICY = ("accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
                          "payment=(), usb=(), interest-cohort=()")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils.cache import add_never_cache_headers

        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.PERMISSIONS_POLICY)
        if not request.path_info.startswith("/static/") and "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)  # Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private
        return response


class RejectNulMiddleware:
    """A NUL character in the query string or a form field can reach no database column (PostgreSQL refuses it):
    refuse the request up front with a clear 400, never a 500 from deep inside a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import HttpResponse

        if request.path_info.startswith("/ident/"):
            return self.get_response(request)  # the IDENT door reads its raw body and has its own rules (ICD §2)
        bad = next((k for k, values in request.GET.lists() if "\x00" in k or any("\x00" in v for v in values)), None)
        # A form body under /api/ is left to DRF: reading request.POST here would consume it, and DRF would then take
        # a form sent to a JSON-only operation for an empty body (a 400 about missing fields) instead of answering 415.
        # The API's fields refuse a NUL themselves (cpms.core.serializers; the schema's patterns say so).
        form_body = request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                                          "multipart/form-data")
        if bad is None and form_body and not request.path_info.startswith("/api/"):
            bad = next((k for k, values in request.POST.lists() if "\x00" in k or any("\x00" in v for v in values)), None)
        if bad is None:
            return self.get_response(request)
        detail = f"The parameter {bad.replace(chr(0), '')!r} contains a NUL character, which CPMS does not accept."
        if request.path_info.startswith("/api/"):
            import json

            body = {"type": "urn:cpms:problem:invalid-request", "title": "Invalid request", "status": 400, "detail": detail,
                    "errors": [{"pointer": f"/{bad.replace(chr(0), '')}", "detail": "contains a NUL character"}]}
            return HttpResponse(json.dumps(body), status=400, content_type="application/problem+json")
        return HttpResponse(detail, status=400, content_type="text/plain; charset=utf-8")


class ApiUriLengthMiddleware:
    """An API URL longer than MAX_API_URI characters is refused here with a 414 problem document (documented on every
    operation), well under the request-line limit of gunicorn (4,094 bytes by default), whose own 414 is a bare HTML
    page. No API query needs more: every string parameter has a maxLength far below it."""

    MAX_API_URI = 2048

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import JsonResponse

        if request.path_info.startswith("/api/") and len(request.get_full_path()) > self.MAX_API_URI:
            body = {"type": "urn:cpms:problem:uri-too-long", "title": "URI too long", "status": 414,
                    "detail": f"The URL is longer than {self.MAX_API_URI} characters: shorten the query."}
            return JsonResponse(body, status=414, content_type="application/problem+json")
        return self.get_response(request)
