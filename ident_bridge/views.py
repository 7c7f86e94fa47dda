"""`POST /ident/v1/messages`: the only door IDENT knocks on. Thin: everything is in inbound.receive()."""

import json

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from . import icd, inbound


def _json(status: int, body: dict, *, problem: bool) -> HttpResponse:
    return HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/problem+json" if problem else "application/json",
    )


@csrf_exempt
def messages(request):
    if request.method != "POST":
        resp = _json(405, icd.problem(405, "Method not allowed", "Send messages with POST."), problem=True)
        resp["Allow"] = "POST"
        return resp
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = None
    if length and length > icd.MAX_BODY_BYTES:
        # Refuse before reading the body.
        answer = inbound.receive(raw=b"", content_length=length, timestamp=None, signature=None,
                                 remote_addr=request.META.get("REMOTE_ADDR"))
        return _json(answer.status, answer.body, problem=True)
    answer = inbound.receive(
        raw=request.body,
        content_length=length,
        timestamp=request.headers.get(icd.TIMESTAMP_HEADER),
        signature=request.headers.get(icd.SIGNATURE_HEADER),
        remote_addr=request.META.get("REMOTE_ADDR"),
    )
    return _json(answer.status, answer.body, problem=answer.is_problem)
