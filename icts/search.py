"""What the header's search finds for ICTS analysts and reviewers (cpms.core.search): ICTS cases by case number, the
partner's request reference, the FIN or A-Number, or the person's name in any script, among the cases they may see."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse

from cpms.core.roles import Role
from cpms.core.search import LIMIT, Group, Hit, people_named, register

from .permissions import cases_visible_to


@register(Role.ICTS_ANALYST, Role.ICTS_REVIEWER, order=30)
def find_icts_cases(user, term: str) -> Group:
    where = (Q(case_number__iexact=term) | Q(partner_request__request_ref__iexact=term)
             | Q(partner_request__fin__iexact=term) | Q(partner_request__person__a_number__iexact=term)
             | Q(partner_request__person_id__in=people_named(term)))
    found = (cases_visible_to(user).filter(where).select_related("partner_request__partner", "partner_request__person")
             .order_by("priority_rank", "due_at", "id")[:LIMIT])
    hits = [Hit(label=f"ICTS case {c.case_number}", url=reverse("icts-case", args=[c.pk]),
                detail=f"{c.partner_request.partner.name} request {c.partner_request.request_ref}"
                       + (f" · {c.partner_request.person}" if c.partner_request.person else "")
                       + f" · {c.get_status_display()}")
            for c in found]
    return Group(title="ICTS cases", hits=hits)
