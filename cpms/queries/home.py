"""The officer's and supervisor's section of the home page, and the FDNS analyst's (cpms.core.home)."""

from __future__ import annotations

from django.urls import reverse

from cpms.core.home import Section, capped_count, register, tile
from cpms.core.roles import Role, has_role

from .selectors import my_cases_count, referrals_for_analyst


def _cases_url(show: str = "") -> str:
    return reverse("my-cases") + (f"?show={show}" if show else "")


@register(Role.OFFICER, Role.SUPERVISOR, order=10)
def officer_section(user) -> Section:
    team = has_role(user, Role.SUPERVISOR)
    noun = "Team cases" if team else "Your cases"
    tiles = [
        tile("Open cases with a partner's answer waiting for you" if not team else "Open cases with a partner's answer to act on",
             my_cases_count(user, show="waiting"), _cases_url("waiting"), tone="urgent",
             hint="Read the answer; ask for a third round or close the query."),
        tile("Open cases with an overdue query", my_cases_count(user, show="overdue"), _cases_url("overdue"), tone="urgent",
             hint="The partner has not answered in time."),
        tile("Open cases waiting for a partner", my_cases_count(user, show="awaiting"), _cases_url("awaiting")),
        tile("Open cases with a query held before sending", my_cases_count(user, show="held"), _cases_url("held"),
             hint="Waiting for CIS or a privacy officer."),
        tile("Open cases", my_cases_count(user, open_only=True), _cases_url()),
    ]
    return Section(title=noun, tiles=tiles, links=[(noun, _cases_url())],
                   empty="No case is assigned to you yet. Ask your supervisor to assign you the cases you work on." if not team else
                   "Your team has no open cases.")


@register(Role.FDNS_ANALYST, order=50)
def fdns_section(user) -> Section:
    return Section(title="Fraud referrals", tiles=[
        tile("Queries referred to you", capped_count(referrals_for_analyst(user)), reverse("fdns-referrals"), tone="urgent"),
    ], links=[("Referred to me", reverse("fdns-referrals"))], empty="No query is referred to you at the moment.")
