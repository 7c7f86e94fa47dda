"""RFC 9457 problem documents for the REST API: every error names what to fix, with a JSON pointer."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import DomainError

PROBLEM_CONTENT_TYPE = "application/problem+json"


def _pointers(detail, prefix: str = "") -> list[dict]:
    out: list[dict] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                out += _pointers(value, prefix)
            else:
                out += _pointers(value, f"{prefix}/{str(key).replace('~', '~0').replace('/', '~1')}")
    elif isinstance(detail, list):
        if all(not isinstance(v, (dict, list)) for v in detail):
            out += [{"pointer": prefix, "detail": str(v)} for v in detail]
        else:
            for i, value in enumerate(detail):
                out += _pointers(value, f"{prefix}/{i}")
    else:
        out.append({"pointer": prefix, "detail": str(detail)})
    return out


def problem_response(status_code: int, title: str, detail: str, errors: list[dict] | None = None, *, type_: str | None = None) -> Response:
    body = {"type": type_ or f"urn:cpms:problem:{title.lower().replace(' ', '-')}", "title": title, "status": status_code, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):  # a service's refusal that the view did not map itself
        return domain_problem(exc, exc.http_status)
    if isinstance(exc, Http404):
        return problem_response(404, "Not found", "No such resource, or you may not see it.")
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return problem_response(400, "Invalid request", "The request has errors; see errors for each field.", _pointers(exc.detail))
    detail = exc.detail if isinstance(getattr(exc, "detail", None), str) else str(getattr(exc, "detail", ""))
    title = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed", 409: "Conflict",
             415: "Unsupported media type", 429: "Too many requests"}.get(response.status_code, "Error")
    out = problem_response(response.status_code, title, detail)
    for header in ("WWW-Authenticate", "Allow", "Retry-After"):
        if header in response:
            out[header] = response[header]
    if out.status_code == 429:
        out.setdefault("Retry-After", "1")  # DRF omits it when a throttle cannot say; the schema promises it on every 429
    return out


def domain_problem(exc, status_code: int | None = None, *, pointer_prefix: str = "") -> Response:
    """A service's refusal as a problem document (field → JSON pointer), with its code's status (cpms.core.errors)."""
    status_code = status_code or exc.http_status
    pointer = f"{pointer_prefix}/{exc.field}" if getattr(exc, "field", None) else pointer_prefix
    return problem_response(status_code, "Request refused", exc.message, [{"pointer": pointer, "detail": exc.message}],
                            type_=f"urn:cpms:problem:{exc.code}")
