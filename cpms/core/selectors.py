from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from .models import BenefitCase, BenefitCaseGroupObjectPermission, BenefitCaseUserObjectPermission, Notification
from .permissions import CASE_VIEW, GrantPage, cases_visible_to, granted_page
from .roles import Role, has_role


def _search(search: str) -> Q:
    return Q(receipt_number__iexact=search) | Q(person__a_number__iexact=search) | Q(person__family_name__icontains=search)


def _with_counts(qs):
    """Counts of open and overdue queries and the last activity, as correlated subqueries: PostgreSQL computes
    them for the rows of the page only, after ORDER BY ... LIMIT, never for every case the user may see."""
    from cpms.queries.models import InternationalQuery
    from cpms.queries.workflow import AWAITING_PARTNER

    def count(**conditions):
        rows = InternationalQuery.objects.filter(case=OuterRef("pk"), **conditions).order_by().values("case")
        return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)

    last = InternationalQuery.objects.filter(case=OuterRef("pk")).order_by("-updated_at").values("updated_at")[:1]
    return qs.select_related("person").annotate(
        open_queries=count(status__in=AWAITING_PARTNER),
        overdue_queries=count(overdue_since__isnull=False),
        last_activity=Subquery(last),
    )


def my_cases_page(user, *, search: str = "", number: int = 1, per_page: int = 50) -> GrantPage:
    """A page of the officer's case list (open cases first, newest first), read from the case grants in the
    grants' order: as cheap for a supervisor who may see every case as for an officer with twenty."""
    if not has_role(user, Role.OFFICER, Role.SUPERVISOR):
        return GrantPage([], number=1, has_next=False)
    return granted_page(user, CASE_VIEW, queryset=_with_counts(BenefitCase.objects.all()),
                        user_model=BenefitCaseUserObjectPermission, group_model=BenefitCaseGroupObjectPermission,
                        where=_search(search) if search else None, descending=True, number=number, per_page=per_page)


def my_cases(user, *, search: str = ""):
    """The officer's case list as a queryset (the API pages it), with counts of open and overdue queries."""
    qs = cases_visible_to(user)
    if search:
        qs = qs.filter(_search(search))
    return _with_counts(qs).order_by("-is_open", "-created_at", "-id")


def notifications_for(user):
    return Notification.objects.filter(user=user).select_related("query").order_by("-created_at", "-id")


def unread_notification_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
