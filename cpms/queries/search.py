"""What the header's search finds for officers, supervisors and FDNS analysts (cpms.core.search): cases by receipt
number, A-Number, FIN or a name in any script (the case list's own search), and queries by their reference or the
partner's encounter reference, among the queries the user may see."""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse

from cpms.core.roles import Role
from cpms.core.search import LIMIT, Group, Hit, register

from .permissions import queries_visible_to
from .selectors import my_cases_page


@register(Role.OFFICER, Role.SUPERVISOR, order=10)
def find_cases(user, term: str) -> Group:
    page = my_cases_page(user, search=term, per_page=LIMIT)
    hits = [Hit(label=f"Case {c.receipt_number}", url=reverse("case-detail", args=[c.pk]),
                detail=f"{c.person} · A-Number {c.person.a_number or '—'} · {c.get_kind_display()}"
                       + ("" if c.is_open else " · closed"))
            for c in page.object_list]
    more = reverse("my-cases") + "?" + urlencode({"q": term}) if page.has_next() else ""
    return Group(title="Cases", hits=hits, more_url=more)


@register(Role.OFFICER, Role.SUPERVISOR, Role.FDNS_ANALYST, order=20)
def find_queries(user, term: str) -> Group:
    found = (queries_visible_to(user).filter(Q(query_ref__iexact=term) | Q(encounter_id__iexact=term))
             .select_related("partner", "case").order_by("-created_at")[:LIMIT])
    hits = [Hit(label=f"Query {q.query_ref}", url=reverse("query-detail", args=[q.pk]),
                detail=f"{q.partner.name} · case {q.case.receipt_number} · {q.get_status_display()}") for q in found]
    return Group(title="International queries", hits=hits)
