from django.db.models import Count, Max, Q

from .models import Notification
from .permissions import cases_visible_to


def my_cases(user, *, search: str = ""):
    """The officer's case list, with counts of queries awaiting a partner and overdue ones, in one query."""
    from cpms.queries.workflow import AWAITING_PARTNER

    qs = cases_visible_to(user).select_related("person")
    if search:
        qs = qs.filter(
            Q(receipt_number__iexact=search) | Q(person__a_number__iexact=search) | Q(person__family_name__icontains=search)
        )
    return qs.annotate(
        open_queries=Count("queries", filter=Q(queries__status__in=AWAITING_PARTNER), distinct=True),
        overdue_queries=Count("queries", filter=Q(queries__overdue_since__isnull=False), distinct=True),
        last_activity=Max("queries__updated_at"),
    ).order_by("-is_open", "-created_at", "-id")


def notifications_for(user):
    return Notification.objects.filter(user=user).select_related("query").order_by("-created_at", "-id")


def unread_notification_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()
