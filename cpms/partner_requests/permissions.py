"""Partner requests are seen by privacy officers (all: decisions and referrals) and through their ICTS case."""

from django.http import Http404

from cpms.core.roles import Role, has_role

from .models import PartnerRequest


def requests_visible_to(user):
    if has_role(user, Role.PRIVACY_OFFICER):
        return PartnerRequest.objects.all()
    if has_role(user, Role.ICTS_ANALYST, Role.ICTS_REVIEWER):  # through the ICTS cases they may see
        from .ports import case_desk

        return PartnerRequest.objects.filter(pk__in=case_desk().request_ids_visible_to(user))
    return PartnerRequest.objects.none()


def access_request_for_user(user, pk) -> PartnerRequest:
    try:
        return requests_visible_to(user).select_related("partner", "person").get(pk=pk)
    except (PartnerRequest.DoesNotExist, ValueError, TypeError):
        raise Http404("No such request.") from None
