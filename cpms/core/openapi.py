"""OpenAPI post-processing (drf-spectacular): every operation documents the problem documents it can answer.

The API answers RFC 9457 problem documents (cpms.core.problems) for refusals that are not in the views' own
annotations: 400 (the request is wrong), 401 (no or a bad credential), 403 (not allowed), 404 (missing or not yours),
405, 409 (the state moved on), 415, 422 and 429 (throttled or locked). Schemathesis checks every answer against this.
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
    "400": "The request has errors (a problem document, with a JSON pointer per error)",
    "401": "No credential, or an expired or unknown one",
    "403": "Not allowed for this user",
    "404": "No such resource, or not one this user may see",
    "405": "Method not allowed",
    "409": "Refused: the object's state does not allow it now (reload and look)",
    "415": "Unsupported media type",
    "422": "Refused: the request cannot be carried out as asked",
    "429": "Too many requests (throttled) or the account is locked; see Retry-After",
}


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
    return result


# A stored document is served with its own media type (one of the ICD's four).
FILE_RESPONSES = {(200, media_type): bytes for media_type in ("image/jpeg", "image/png", "image/tiff", "application/pdf")}
