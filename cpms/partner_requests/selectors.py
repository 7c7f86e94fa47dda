from cpms.disclosure.models import Decision

from .permissions import requests_visible_to
from .workflow import RequestStatus


def referral_queue(user):
    return requests_visible_to(user).filter(status=RequestStatus.REFERRED).select_related("partner", "person").order_by("received_at")


def decisions_for(user, *, outcome: str = "", partner: str = ""):
    qs = Decision.objects.filter(partner_request__in=requests_visible_to(user).values("pk")).select_related(
        "partner_request__partner", "ruleset", "decided_by")
    if outcome:
        qs = qs.filter(outcome=outcome)
    if partner:
        qs = qs.filter(partner_request__partner_id=partner)
    return qs.order_by("-decided_at", "-id")


def request_decisions(req):
    return req.decisions.select_related("ruleset", "decided_by").order_by("decided_at", "id")
