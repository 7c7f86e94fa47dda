"""Access to queries and partner data follows access to the case (need-to-know)."""

from django.http import Http404

from cpms.core.permissions import cases_visible_to

from .models import InternationalQuery, ResponseAttachment


def queries_visible_to(user):
    return InternationalQuery.objects.filter(case__in=cases_visible_to(user).values("pk"))


def access_query_for_user(user, pk) -> InternationalQuery:
    try:
        return queries_visible_to(user).select_related("case__person", "partner", "requestor", "agreement").get(pk=pk)
    except (InternationalQuery.DoesNotExist, ValueError, TypeError):
        raise Http404("No such query.") from None


def access_attachment_for_user(user, query_pk, pk) -> ResponseAttachment:
    query = access_query_for_user(user, query_pk)
    try:
        return ResponseAttachment.objects.select_related("response__query").get(pk=pk, response__query=query)
    except (ResponseAttachment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such attachment.") from None
