"""OpenAPI post-processing (drf-spectacular): every operation documents the problem documents it can answer.

The API answers RFC 9457 problem documents (cpms.core.problems) for refusals that are not in the views' own
annotations: 400 (the request breaks the schema), 401 (no or a bad credential), 403 (not allowed), 404 (missing or not
yours, and any /api/ path no route matches), 405, 409 (the state moved on), 414 (URL too long), 415, 422 (well formed,
but a rule the schema cannot state refuses it), 429 (throttled or locked) and 503 (the database is unreachable); 429
and 503 always carry Retry-After. Schemathesis checks every answer against this (tests/cpms/test_api_fuzz.py).
"""

from __future__ import annotations

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {"pointer": {"type": "string"},
                                                                                "detail": {"type": "string"}}}},
    },
}
DESCRIPTIONS = {
    "400": "The request breaks the schema (a problem document, with a JSON pointer per error); a NUL character in any "
           "parameter or field is refused so (PostgreSQL cannot store it)",
    "401": "No credential, or an expired or unknown one",
    "403": "Not allowed for this user",
    "404": "No such resource, or not one this user may see",
    "405": "Method not allowed",
    "409": "Refused: the object's state does not allow it now (reload and look)",
    "415": "Unsupported media type",
    "414": "The URL is too long (CPMS refuses one over 2,048 characters; the web server's own limit answers in HTML)",
    "422": "Refused: the request is well formed but cannot be carried out as asked (the detail says why)",
    "429": "Too many requests (throttled) or the account is locked; see Retry-After",
    "503": "CPMS cannot reach its database; nothing was changed; try again after Retry-After seconds",
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before trying again", "required": True,
                               "schema": {"type": "integer", "minimum": 0}}}
# The web server (gunicorn) answers a request line over its own limit itself, before CPMS sees it, with an HTML page.
WEB_SERVER_HTML = {"text/html": {"schema": {"type": "string"}}}


def add_problem_responses(result, generator, request, public):
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM
    ref = {"$ref": "#/components/schemas/Problem"}
    for path in result.get("paths", {}).values():
        for method, operation in path.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code, description in DESCRIPTIONS.items():
                if code == "405":
                    continue  # documented methods only are called; an undocumented one is a client error anyway
                entry = responses.setdefault(code, {"description": description})
                entry.setdefault("content", {})["application/problem+json"] = {"schema": ref}
                if code in ("429", "503"):
                    entry.setdefault("headers", {}).update(RETRY_AFTER)
                if code == "414":
                    entry["content"].update(WEB_SERVER_HTML)
    return result


# A stored document is served with its own media type (one of the ICD's four).
FILE_RESPONSES = {(200, media_type): bytes for media_type in ("image/jpeg", "image/png", "image/tiff", "application/pdf")}
