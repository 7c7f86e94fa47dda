"""Partner requests are seen by privacy officers (all: decisions and referrals) and through their ICTS case."""

from django.http import Http404

from cpms.core.roles import Role, has_role

from .models import PartnerRequest


def requests_visible_to(user):
    if has_role(user, Role.PRIVACY_OFFICER):
        return PartnerRequest.objects.all()
    if has_role(user, Role.ICTS_ANALYST, Role.ICTS_REVIEWER):
        from icts.permissions import cases_visible_to

        return PartnerRequest.objects.filter(icts_case__in=cases_visible_to(user).values("pk"))
    return PartnerRequest.objects.none()


def access_request_for_user(user, pk) -> PartnerRequest:
    try:
        return requests_visible_to(user).select_related("partner", "person").get(pk=pk)
    except (PartnerRequest.DoesNotExist, ValueError, TypeError):
        raise Http404("No such request.") from None
