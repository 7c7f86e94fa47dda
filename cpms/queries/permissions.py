"""Access to queries and partner data: need-to-know, through object grants (cpms.core.permissions).

- The officers assigned to the case (and the supervisors' group) read and act on its queries: the case grant.
- An FDNS analyst reads a query only while an officer's or supervisor's referral to them is active: a grant
  on the query itself (view_internationalquery) *and* a referral neither expired nor revoked, so an expiry
  holds to the second even before the sweep removes the grant.
Everyone else, superusers included, gets 404.
"""

from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from django.utils import timezone

from cpms.audit.models import AccessLogEntry
from cpms.audit.services import read_recorded
from cpms.core.permissions import case_grant_filter, cases_visible_to, grant, granted_filter, revoke
from cpms.core.roles import Role, has_role

from .models import FdnsReferral, InternationalQuery, InternationalQueryUserObjectPermission, ResponseAttachment

QUERY_VIEW = "queries.view_internationalquery"


def _referral_filter(user) -> Q:
    active = FdnsReferral.objects.filter(query_id=OuterRef("pk"), analyst_id=user.pk, revoked_at__isnull=True,
                                         expires_at__gt=timezone.now())
    return granted_filter(user, QUERY_VIEW, user_model=InternationalQueryUserObjectPermission) & Q(Exists(active))


def queries_visible_to(user):
    """Queries the user may read (pages, API, downloads, PDF)."""
    if has_role(user, Role.OFFICER, Role.SUPERVISOR):
        return InternationalQuery.objects.filter(case_grant_filter(user, field="case_id"))
    if has_role(user, Role.FDNS_ANALYST):
        return InternationalQuery.objects.filter(_referral_filter(user))
    return InternationalQuery.objects.none()


def queries_actionable_by(user):
    """Queries the user may act on (round 3, close, refer): only through the case grant."""
    return InternationalQuery.objects.filter(case__in=cases_visible_to(user).values("pk"))


_RELATED = ("case__person", "partner", "requestor", "agreement")


def access_query_for_user(user, pk) -> InternationalQuery:
    try:
        return queries_visible_to(user).select_related(*_RELATED).get(pk=pk)
    except (InternationalQuery.DoesNotExist, ValueError, TypeError):
        raise Http404("No such query.") from None


def access_query_for_action(user, pk) -> InternationalQuery:
    try:
        return queries_actionable_by(user).select_related(*_RELATED).get(pk=pk)
    except (InternationalQuery.DoesNotExist, ValueError, TypeError):
        raise Http404("No such query.") from None


def access_attachment_for_user(user, query_pk, pk) -> ResponseAttachment:
    query = access_query_for_user(user, query_pk)
    try:
        return ResponseAttachment.objects.select_related("response__query").get(pk=pk, response__query=query)
    except (ResponseAttachment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such attachment.") from None


def read_query_for_user(request, pk, *, action: str | None = None) -> InternationalQuery:
    """access_query_for_user for a page, API read or PDF that shows the partner's answers: the read is recorded here,
    with its purpose of use, so no route can forget it."""
    query = access_query_for_user(request.user, pk)
    return read_recorded(request, query, person_id=query.person_id, action=action)


def read_attachment_for_user(request, query_pk, pk) -> ResponseAttachment:
    attachment = access_attachment_for_user(request.user, query_pk, pk)
    return read_recorded(request, attachment, person_id=attachment.response.query.person_id, action=AccessLogEntry.Action.DOWNLOAD,
                         context={"query": attachment.response.query.query_ref})


def access_referral_for_user(user, pk) -> FdnsReferral:
    """A referral, for whoever may act on its query (to revoke it)."""
    try:
        return FdnsReferral.objects.select_related("query", "analyst").get(pk=pk, query__in=queries_actionable_by(user))
    except (FdnsReferral.DoesNotExist, ValueError, TypeError):
        raise Http404("No such referral.") from None


def referral_grant(referral: FdnsReferral) -> None:
    grant(QUERY_VIEW, referral.analyst, referral.query)


def referral_revoke_grant(referral: FdnsReferral) -> None:
    """Remove the analyst's grant unless another referral of the same query to them is still active."""
    still = FdnsReferral.objects.filter(query_id=referral.query_id, analyst_id=referral.analyst_id, revoked_at__isnull=True,
                                        expires_at__gt=timezone.now()).exclude(pk=referral.pk).exists()
    if not still:
        revoke(QUERY_VIEW, referral.analyst, referral.query)


def access_query_for_privacy(user, pk) -> InternationalQuery:
    """A privacy officer reads any query's screening (what USCIS asked, of whom, and the decisions), never the partner's
    answer: that stays behind access_query_for_user. Other roles get 404."""
    from cpms.core.roles import Role, has_role

    if not has_role(user, Role.PRIVACY_OFFICER):
        raise Http404("No such query.")
    try:
        return InternationalQuery.objects.select_related("case", "person", "partner", "requestor", "agreement").get(pk=pk)
    except (InternationalQuery.DoesNotExist, ValueError, TypeError):
        raise Http404("No such query.") from None
