"""What the header's search finds for privacy officers (cpms.core.search): people, as People search finds them (A-Number,
FIN, date of birth, a name in any script), and partners' requests by their reference or FIN."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse

from cpms.core.roles import Role
from cpms.core.search import LIMIT, Group, Hit, register
from cpms.partner_requests.permissions import requests_visible_to

from .timeline import find_people


@register(Role.PRIVACY_OFFICER, order=40)
def find_people_for_privacy(user, term: str) -> Group:
    people = find_people(term, limit=LIMIT + 1)
    hits = [Hit(label=str(p), url=reverse("privacy-person", args=[p.pk]),
                detail=f"A-Number {p.a_number or '—'} · FIN {p.fin or '—'} · born {p.date_of_birth or 'unknown'}")
            for p in people[:LIMIT]]
    more = reverse("privacy-people") + "?" + urlencode({"q": term}) if len(people) > LIMIT else ""
    return Group(title="People", hits=hits, more_url=more)


@register(Role.PRIVACY_OFFICER, order=50)
def find_partner_requests(user, term: str) -> Group:
    found = (requests_visible_to(user).filter(Q(request_ref__iexact=term) | Q(fin__iexact=term))
             .select_related("partner").order_by("-received_at")[:LIMIT])
    hits = [Hit(label=f"Request {r.request_ref}", url=reverse("partner-request", args=[r.pk]),
                detail=f"{r.partner.name} · received {r.received_at:%-d %b %Y} · {r.get_status_display()}") for r in found]
    return Group(title="Partners' requests", hits=hits)
