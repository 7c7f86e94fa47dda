"""The error handlers. The 500 handler: a database outage is a 503 the client may retry (a problem document on the API
and at IDENT's door, a plain page in the browser); anything else is a 500 in the same two forms. Never an HTML stack page.

Under /api/, the 400, 403 and 404 that Django answers itself (a path no route matches, such as /api/v1/cases/0.5/,
before any authentication; a malformed request refused before a view) are RFC 9457 problem documents like every
other API answer: an API client must never have to parse an HTML page. Pages keep their HTML."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

MACHINE_PREFIXES = ("/api/", "/ident/")
API_PREFIX = "/api/"


def _api_problem(status: int, title: str, detail: str) -> JsonResponse:
    doc = {"type": f"urn:cpms:problem:{title.lower().replace(' ', '-')}", "title": title, "status": status, "detail": detail}
    return JsonResponse(doc, status=status, content_type="application/problem+json")


@csrf_exempt  # a refusal: nothing is read or written, so a POST without a CSRF token gets the same 404
def api_not_found(request, *args, **kwargs):
    """Any /api/ path no API route matches (the last route under /api/, cpms/urls.py): a 404 problem document before
    authentication, also with DEBUG on, where Django would answer its HTML debug page instead of handler404. A GET
    without the trailing slash of a real route is redirected to it, as Django's APPEND_SLASH would."""
    from django.http import HttpResponsePermanentRedirect
    from django.urls import Resolver404, resolve

    if request.method in ("GET", "HEAD") and not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not api_not_found:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return page_not_found(request)


def page_not_found(request, exception=None, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if request.path_info.startswith(API_PREFIX):
        return _api_problem(404, "Not found", "No such resource, or you may not see it. The API's paths are in "
                                              "/api/schema/.")
    return defaults.page_not_found(request, exception, template_name=template_name)


def bad_request(request, exception=None, template_name=defaults.ERROR_400_TEMPLATE_NAME):
    if request.path_info.startswith(API_PREFIX):
        return _api_problem(400, "Invalid request", "The request is malformed and was refused before it was read.")
    return defaults.bad_request(request, exception, template_name=template_name)


def permission_denied(request, exception=None, template_name=defaults.ERROR_403_TEMPLATE_NAME):
    if request.path_info.startswith(API_PREFIX):
        return _api_problem(403, "Forbidden", "You may not do this.")
    return defaults.permission_denied(request, exception, template_name=template_name)


def server_error(request, *args, **kwargs):
    exc = sys.exc_info()[1]
    unavailable = isinstance(exc, (OperationalError, InterfaceError))
    status = 503 if unavailable else 500
    if request.path_info.startswith(MACHINE_PREFIXES):
        doc = {"type": "urn:cpms:problem:" + ("service-unavailable" if unavailable else "internal-error"),
               "title": "Service unavailable" if unavailable else "Internal error", "status": status,
               "detail": "CPMS cannot reach its database right now; nothing was changed. Try again shortly." if unavailable
               else "CPMS failed while handling the request; nothing was changed. Try again, and tell an administrator "
                    "if it happens again."}
        response = JsonResponse(doc, status=status, content_type="application/problem+json")
    else:
        if not unavailable:
            response = HttpResponse(loader.get_template("500.html").render(), status=500)  # no request: as Django's own
        else:  # no template rendering that might need the database (context processors, the session)
            response = HttpResponse("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>CPMS is unavailable"
                                    "</title></head><body><main><h1>CPMS is unavailable for a moment</h1><p>Nothing was "
                                    "changed. Try again in a minute.</p></main></body></html>", status=503)
    if unavailable:
        response["Retry-After"] = "30"
    return response
