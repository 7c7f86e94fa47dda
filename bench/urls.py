from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from cpms.urls import urlpatterns as cpms_urlpatterns
from ident_bridge.models import RejectedInbound


@csrf_exempt
def bare_insert(request):
    """The baseline: a Django view that inserts one row with the ORM and answers, nothing else."""
    RejectedInbound.objects.create(status=202, title="bench", detail="", body_sha256="")
    return JsonResponse({"status": "accepted"}, status=202)


# Same prefix as the real endpoint, so both pass through the same middleware.
urlpatterns = [path("ident/v1/bench-bare", bare_insert), *cpms_urlpatterns]
