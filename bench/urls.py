"""The benchmark URLconf: CPMS's, plus the baseline view and what-if variants of the inbound door (bench only).

The what-if views are not CPMS code and change nothing in it: they run the door with one cost taken out, so
that bench/inbound_throughput.py --what-if can say how much a suggested fix would buy.
"""

import uuid

from django.conf import settings
from django.db import IntegrityError
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from cpms.urls import urlpatterns as cpms_urlpatterns
from ident_bridge import icd, inbound, routing, views
from ident_bridge.models import InboundMessage, RejectedInbound
from ident_bridge.publish import publish_now


@csrf_exempt
def bare_insert(request):
    """The baseline: a Django view that inserts one row with the ORM and answers, nothing else."""
    RejectedInbound.objects.create(status=202, title="bench", detail="", body_sha256="")
    return JsonResponse({"status": "accepted"}, status=202)


def _no_publish(*args) -> None:
    return None


@csrf_exempt
def door_without_publish(request):
    """What-if: the real door (views.messages -> inbound.receive) with the Celery publish after commit left out.
    Sync workers run one request at a time, so swapping the module attribute for the request's duration is safe."""
    saved = inbound.on_commit_publish
    inbound.on_commit_publish = _no_publish
    try:
        return views.messages(request)
    finally:
        inbound.on_commit_publish = saved


@csrf_exempt
def door_autocommit(request):
    """What-if, a sketch of a leaner common path (valid first copies only; every refusal goes to the real door):
    the same checks, then the reference check *before* the INSERT and the INSERT alone in autocommit, so the
    request makes two statements and no BEGIN/COMMIT round trips; then the same Celery publish."""
    raw = request.body
    try:
        icd.verify_signature(raw, request.headers.get(icd.TIMESTAMP_HEADER), request.headers.get(icd.SIGNATURE_HEADER),
                             settings.IDENT_SHARED_SECRET)
    except icd.SignatureError:
        return views.messages(request)
    parsed = icd.parse(raw, accept_types=icd.IDENT_TO_CPMS)
    if parsed.errors:
        return views.messages(request)
    message = parsed.message
    if routing.unknown_reference_errors(message):
        return views.messages(request)  # (a real fix would look for an earlier copy first: ICD §3)
    try:
        row = InboundMessage.objects.create(message_id=uuid.UUID(message["message_id"]), type=message["type"],
                                            partner=message["partner"], body_sha256=icd.sha256_hex(raw), raw=raw,
                                            ref=routing.reference_of(message))
    except IntegrityError:
        return views.messages(request)  # a retry: the real door answers it from the first copy
    publish_now(inbound.inbound_process_task, row.pk)
    return views._json(202, {"message_id": message["message_id"], "status": "accepted"}, problem=False)


# Same prefix as the real endpoint, so every view passes through the same middleware.
urlpatterns = [
    path("ident/v1/bench-bare", bare_insert),
    path("ident/v1/bench-door-without-publish", door_without_publish),
    path("ident/v1/bench-door-autocommit", door_autocommit),
    *cpms_urlpatterns,
]
