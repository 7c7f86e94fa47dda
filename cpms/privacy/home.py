"""The privacy officer's section of the home page (cpms.core.home)."""

from __future__ import annotations

from django.urls import reverse

from cpms.core.home import Section, capped_count, register, tile
from cpms.core.roles import Role
from cpms.partner_requests.selectors import referral_queue
from cpms.queries.selectors import queries_held_for_privacy


@register(Role.PRIVACY_OFFICER, order=60)
def privacy_section(user) -> Section:
    referrals = reverse("privacy-referrals")
    return Section(title="Privacy decisions", tiles=[
        tile("Partner requests referred to you", capped_count(referral_queue(user)), f"{referrals}#referred-requests", tone="urgent",
             hint="A protected person's record was asked for: share or withhold."),
        tile("USCIS queries held for you", capped_count(queries_held_for_privacy(user)), f"{referrals}#held-queries",
             tone="urgent", hint="A query about a protected person waits for your decision before it is sent."),
    ], links=[("Decisions", reverse("privacy-decisions")), ("Referrals", referrals), ("People", reverse("privacy-people")),
              ("Accounting", reverse("privacy-accounting-search")), ("Access log", reverse("privacy-access-log")),
              ("Audit", reverse("privacy-audit"))],
        empty="Nothing is waiting for a privacy decision.")
