"""Partner requests are seen by privacy officers (all: decisions and referrals) and through their ICTS case."""

from django.http import Http404

from cpms.audit.services import read_recorded
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


def read_request_for_user(request, pk) -> PartnerRequest:
    """access_request_for_user for a page or API read that shows what the partner sent: the read is recorded here, and
    so is each augmentation answer the page shows (ICTS staff read them; a privacy officer sees only that they exist)."""
    req = access_request_for_user(request.user, pk)
    read_recorded(request, req, person_id=req.person_id)
    record_augmentation_reads(request, req)
    return req


def record_augmentation_reads(request, req) -> None:
    """One access-log entry per augmentation answer shown to this reader (none to those who may not read them)."""
    if not has_role(request.user, Role.ICTS_ANALYST, Role.ICTS_REVIEWER):
        return
    from cpms.queries.models import PartnerResponse

    for answer in PartnerResponse.objects.filter(augmentation__partner_request=req).select_related("augmentation"):
        read_recorded(request, answer, person_id=req.person_id, context={"augmentation": answer.augmentation.augment_ref})
