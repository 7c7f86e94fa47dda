"""Who may see which ICTS case. Deny by default; missing and forbidden are the same 404.

Analysts see the open queue (to take work) and the cases assigned to them; reviewers see every case;
OBIM analysts see transmitted packages. The sequestration issue moves these checks onto object grants.
"""

from django.db.models import Q
from django.http import Http404

from cpms.core.roles import Role, has_role

from .models import IctsCase, PackageAttachment
from .workflow import CaseStatus

OBIM_VISIBLE = (CaseStatus.TRANSMITTED, CaseStatus.DELIVERED, CaseStatus.DELIVERY_FAILED)


def cases_visible_to(user):
    if not user.is_authenticated:
        return IctsCase.objects.none()
    if has_role(user, Role.ICTS_REVIEWER):
        return IctsCase.objects.all()
    if has_role(user, Role.ICTS_ANALYST):
        return IctsCase.objects.filter(Q(assigned_analyst=user) | Q(status=CaseStatus.OPEN, assigned_analyst__isnull=True))
    return IctsCase.objects.none()


def access_case_for_user(user, pk) -> IctsCase:
    try:
        return cases_visible_to(user).select_related("partner_request__person", "partner_request__partner", "assigned_analyst").get(pk=pk)
    except (IctsCase.DoesNotExist, ValueError, TypeError):
        raise Http404("No such ICTS case.") from None


def packages_visible_to_obim(user):
    if not has_role(user, Role.OBIM_ANALYST):
        return IctsCase.objects.none()
    return IctsCase.objects.filter(status__in=OBIM_VISIBLE)


def access_transmitted_case_for_obim(user, pk) -> IctsCase:
    try:
        return packages_visible_to_obim(user).select_related("package__outbox_message", "partner_request__partner").get(pk=pk)
    except (IctsCase.DoesNotExist, ValueError, TypeError):
        raise Http404("No such package.") from None


def access_package_attachment(user, case_pk, pk) -> PackageAttachment:
    """Analysts and reviewers with the case, or OBIM analysts once it was transmitted."""
    try:
        case = access_case_for_user(user, case_pk)
    except Http404:
        case = access_transmitted_case_for_obim(user, case_pk)
    try:
        return PackageAttachment.objects.get(pk=pk, package__case=case)
    except (PackageAttachment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such document.") from None
