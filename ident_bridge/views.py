"""`POST /ident/v1/messages`: the only door IDENT knocks on. Thin: reading the body is here, everything else is in
inbound.receive(). Every answer, whatever went wrong, is an ICD answer or an RFC 9457 problem document."""

import logging

import orjson
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt

from . import icd, inbound

log = logging.getLogger(__name__)

# A body over the limit is still read (and thrown away) up to this much, so that a client that writes the whole body
# before it reads the answer (Python's urllib, curl without Expect) sees the 413 rather than a broken pipe. Past it
# the connection is closed.
DRAIN_LIMIT_BYTES = 64 * 1024 * 1024
CHUNK = 1024 * 1024


def _json(status: int, body: dict, *, problem: bool) -> HttpResponse:
    return HttpResponse(
        orjson.dumps(body),
        status=status,
        content_type="application/problem+json" if problem else "application/json",
    )


def _problem(status: int, title: str, detail: str, **headers) -> HttpResponse:
    resp = _json(status, icd.problem(status, title, detail), problem=True)
    for name, value in headers.items():
        resp[name.replace("_", "-")] = value
    return resp


def _drain(stream, length: int) -> None:
    left = min(length, DRAIN_LIMIT_BYTES)
    while left > 0:
        try:
            chunk = stream.read(min(CHUNK, left))
        except Exception:  # the client stopped sending, or the stream has less than it declared: answer anyway
            break
        if not chunk:
            break
        left -= len(chunk)


def _read_body(request) -> tuple[bytes | None, int | None, HttpResponse | None]:
    """(body, declared length, refusal). Chunked bodies are read where the server de-chunks them (gunicorn sets
    `wsgi.input_terminated`); elsewhere they are answered 411, never read as empty (which would be a false 401)."""
    meta = request.META
    chunked = "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    raw_length = meta.get("CONTENT_LENGTH") or ""
    if chunked and not raw_length:
        if not meta.get("wsgi.input_terminated"):
            return None, None, _problem(411, "Length required", "Send the message with a Content-Length header (ICD §1).")
        data = meta["wsgi.input"].read(icd.MAX_BODY_BYTES + 1)
        if len(data) > icd.MAX_BODY_BYTES:
            _drain(meta["wsgi.input"], DRAIN_LIMIT_BYTES)
            return None, len(data), None
        return data, None, None
    try:
        length = int(raw_length or 0)
    except ValueError:
        return None, None, _problem(400, "Invalid request", "Content-Length is not a number.")
    if length < 0:
        return None, None, _problem(400, "Invalid request", "Content-Length is negative.")
    if length > icd.MAX_BODY_BYTES:
        _drain(request, length)  # request.read() is bounded by Content-Length (Django's LimitedStream)
        return None, length, None
    return request.body, length, None


@csrf_exempt
def messages(request):
    if request.method != "POST":
        return _problem(405, "Method not allowed", "Send messages with POST.", Allow="POST")
    try:
        raw, length, refusal = _read_body(request)
        if refusal is not None:
            inbound.record_rejection(status=refusal.status_code, title="Refused before reading", detail=refusal.reason_phrase,
                                     pointers=[], remote_addr=request.META.get("REMOTE_ADDR"))
            return refusal
        answer = inbound.receive(
            raw=raw or b"",
            content_length=length,
            timestamp=request.headers.get(icd.TIMESTAMP_HEADER),
            signature=request.headers.get(icd.SIGNATURE_HEADER),
            remote_addr=request.META.get("REMOTE_ADDR"),
        )
    except (OperationalError, InterfaceError) as exc:
        # The database is down or unreachable: nothing was stored, IDENT retries (ICD §1). A real server fault.
        log.error("inbound message not stored: database unavailable: %s", exc)
        return _problem(503, "Service unavailable", "CPMS cannot store the message right now; send it again later.",
                        Retry_After="30")
    except DatabaseError as exc:
        log.exception("inbound message not stored: database error")
        return _problem(500, "Internal error", f"CPMS could not store the message ({exc.__class__.__name__}); send it again.")
    except Exception:
        log.exception("inbound message: unexpected error")
        return _problem(500, "Internal error", "CPMS failed while receiving the message; send it again.")
    return _json(answer.status, answer.body, problem=answer.is_problem)
