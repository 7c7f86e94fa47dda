"""Read-side of queries. Every selector takes the user (or an object already reached through access_*)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce

from cpms.core.labels import country_label
from cpms.core.models import BenefitCase, BenefitCaseGroupObjectPermission, BenefitCaseUserObjectPermission, Gender, fold_for_search
from cpms.core.permissions import CASE_VIEW, GrantPage, cases_visible_to, granted_count, granted_page
from cpms.core.roles import Role, has_role
from cpms.core.search import people_named

from .models import FdnsReferral, InternationalQuery, PartnerResponse, QueryRound, ResponseAttachment
from .permissions import queries_visible_to
from .workflow import AWAITING_PARTNER, HELD, OPEN, WAITING_FOR_OFFICER, QueryStatus


# --- the officer's cases, with their queries counted (the case list is the officer's query workspace) ----------


def _search(search: str) -> Q:
    """A receipt number, A-Number or FIN exactly, or a name as People search reads it: any name form (aliases too) that
    starts with the folded term, so `petrenko` finds Петренко and `nguyen` finds Nguyễn."""
    return (Q(receipt_number__iexact=search) | Q(person__a_number__iexact=search) | Q(person__fin__iexact=search)
            | Q(person__family_name__icontains=search) | Q(person_id__in=people_named(search)))


def _with_counts(qs):
    """Counts of open and overdue queries and the last activity, as correlated subqueries: PostgreSQL computes
    them for the rows of the page only, after ORDER BY ... LIMIT, never for every case the user may see."""
    def count(**conditions):
        rows = InternationalQuery.objects.filter(case=OuterRef("pk"), **conditions).order_by().values("case")
        return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)

    last = InternationalQuery.objects.filter(case=OuterRef("pk")).order_by("-updated_at").values("updated_at")[:1]
    return qs.select_related("person").annotate(
        open_queries=count(status__in=OPEN),
        overdue_queries=count(overdue_since__isnull=False),
        last_activity=Subquery(last),
    )


# The case list's "show" filters: cases with at least one query in that state (the home page's tiles link here).
CASE_SHOWS = {
    "waiting": ("with a partner's answer waiting for you", {"status__in": WAITING_FOR_OFFICER}),
    "overdue": ("with an overdue query", {"overdue_since__isnull": False}),
    "awaiting": ("waiting for a partner", {"status__in": AWAITING_PARTNER}),
    "held": ("with a query held before sending", {"status__in": HELD}),
}


def _case_where(search: str = "", show: str = "") -> Q | None:
    where = Q(is_open=True) if show else Q()
    if search:
        where &= _search(search)
    if show in CASE_SHOWS:
        where &= Q(pk__in=InternationalQuery.objects.filter(**CASE_SHOWS[show][1]).values("case_id"))
    return where or None


def my_cases_page(user, *, search: str = "", show: str = "", number: int = 1, per_page: int = 50) -> GrantPage:
    """A page of the officer's case list (open cases first, newest first), read from the case grants in the
    grants' order: as cheap for a supervisor who may see every case as for an officer with twenty."""
    if not has_role(user, Role.OFFICER, Role.SUPERVISOR):
        return GrantPage([], number=1, has_next=False)
    queryset = _with_counts(BenefitCase.objects.all()).prefetch_related("assigned_officers")
    return granted_page(user, CASE_VIEW, queryset=queryset,
                        user_model=BenefitCaseUserObjectPermission, group_model=BenefitCaseGroupObjectPermission,
                        where=_case_where(search, show), descending=True, number=number, per_page=per_page)


def my_cases_count(user, *, show: str = "", open_only: bool = False, cap: int = 1000) -> tuple[int, bool]:
    """How many of the user's cases there are (open ones, or those with a query in a `show` state), up to `cap`."""
    if not has_role(user, Role.OFFICER, Role.SUPERVISOR):
        return 0, False
    where = _case_where(show=show) or (Q(is_open=True) if open_only else None)
    return granted_count(user, CASE_VIEW, user_model=BenefitCaseUserObjectPermission,
                         group_model=BenefitCaseGroupObjectPermission, where=where, cap=cap)


def my_cases(user, *, search: str = ""):
    """The officer's case list as a queryset (the API pages it), with counts of open and overdue queries."""
    qs = cases_visible_to(user)
    if search:
        qs = qs.filter(_search(search))
    return _with_counts(qs).order_by("-is_open", "-created_at", "-id")


# --- queries ---------------------------------------------------------------------------------------------------


def partner_options_for(person) -> list:
    """Which partners this person may be queried with, and why not the others (the decision service's screening, in
    words any officer may read). Asks CIS once: network, never inside a transaction."""
    from cpms.disclosure.services import query_partner_options

    if not person.fin:
        return []
    return query_partner_options(person)


def queries_held_for_privacy(user):
    """Queries waiting for a privacy officer's decision, oldest first (none for other roles)."""
    if not has_role(user, Role.PRIVACY_OFFICER):
        return InternationalQuery.objects.none()
    return (InternationalQuery.objects.filter(status=QueryStatus.HELD_PRIVACY)
            .select_related("case", "person", "partner", "requestor").order_by("created_at", "id"))


def queries_for_case(user, case: BenefitCase):
    return (
        queries_visible_to(user)
        .filter(case=case)
        .select_related("partner", "requestor")
        .order_by("-created_at", "-id")
    )


def queries_list(user):
    return queries_visible_to(user).select_related("partner", "case", "person").order_by("-updated_at", "-id")


def referrals_for_analyst(user):
    """The FDNS analyst's active referrals, newest first; each one's query is readable while it lasts."""
    from django.utils import timezone

    from .permissions import queries_visible_to

    return (FdnsReferral.objects.filter(analyst_id=user.pk, revoked_at__isnull=True, expires_at__gt=timezone.now(),
                                        query__in=queries_visible_to(user).values("pk"))
            .select_related("query__partner", "query__person", "referred_by").order_by("-created_at", "-id"))


def query_timeline(query: InternationalQuery) -> list[QueryRound]:
    """Every round with what was sent and what came back, in three queries whatever the size."""
    responses = PartnerResponse.objects.prefetch_related(
        Prefetch("attachments", queryset=ResponseAttachment.objects.order_by("position"))
    )
    return list(
        query.rounds.select_related("outbox_message", "requested_by")
        .prefetch_related(Prefetch("response", queryset=responses))
        .order_by("number")
    )


@dataclass
class ComparedElement:
    label: str
    uscis: str
    partner: str

    @property
    def differs(self) -> bool:
        """Both sides give a value and no form of it agrees: compared transliterated and folded, as the People search
        folds names (Петренко is Petrenko, Nguyễn is NGUYEN; 李伟 is "Li Wei" or "LiWei")."""
        if not (self.uscis and self.partner):
            return False
        ours, theirs = fold_for_search(self.uscis), fold_for_search(self.partner)
        return ours != theirs and ours.replace(" ", "") != theirs.replace(" ", "")


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict):
        if "family_name" in value:
            return f"{value.get('family_name', '')}, {value.get('given_names', '')}".strip(", ")
        if "status" in value:
            return f"{value['status']}" + (f" (as of {value['as_of']})" if value.get("as_of") else "")
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _country(code) -> str:
    return country_label(code) if isinstance(code, str) else ""


def side_by_side(query: InternationalQuery, partner_person: dict) -> list[ComparedElement]:
    """The partner's data elements beside the USCIS record, element by element."""
    person = query.person
    gender_label = dict(Gender.choices)
    rows = [
        ("Family name", person.family_name, partner_person.get("family_name")),
        ("Given names", person.given_names, partner_person.get("given_names")),
        ("Aliases", [a for a in person.aliases], partner_person.get("aliases")),
        ("Date of birth", person.date_of_birth, partner_person.get("date_of_birth")),
        ("Gender", gender_label.get(person.gender, ""), gender_label.get(partner_person.get("gender"), partner_person.get("gender"))),
        ("Country of birth", _country(person.country_of_birth), _country(partner_person.get("country_of_birth"))),
        ("Citizenship", [_country(c) for c in person.citizenships or []],
         [_country(c) for c in partner_person.get("countries_of_citizenship") or []]),
        ("A-Number", person.a_number, partner_person.get("a_number")),
        ("FIN", person.fin, partner_person.get("fin")),
        ("Partner person ID", "", partner_person.get("partner_person_id")),
        ("Race", "", partner_person.get("race")),
        ("Immigration status", "", partner_person.get("immigration_status")),
        ("Immigration history", "", [f"{h.get('date')} {h.get('event')}" + (f" ({h['detail']})" if h.get("detail") else "")
                                     for h in partner_person.get("immigration_history") or []]),
        ("Watchlist status", "", [f"{w.get('type')} ({w.get('status_date')})" for w in partner_person.get("watchlist_status") or []]),
    ]
    return [ComparedElement(label, _fmt(u), _fmt(p)) for label, u, p in rows if _fmt(u) or _fmt(p)]
