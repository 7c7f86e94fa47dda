"""Who may see which ICTS case: object grants (django-guardian), made by the workflow. Deny by default;
missing and forbidden are the same 404.

- While a case is open and unassigned the analysts' group holds a grant on it (the pool they take work
  from); assignment moves it to the one analyst, and reassignment moves it again.
- The reviewers' group holds a grant on every case from its opening (they review and assign).
- At transmission the OBIM analysts' group is granted the package as sent (view_transmitted_package), which it
  reads through OBIM's routes only: every ICTS route, documents included, asks the ICTS helpers, which OBIM's grant
  never satisfies, whatever the case's state.
Each grant counts only while the user holds the role it was made for; superusers get nothing implicitly.
"""

from django.http import Http404

from cpms.audit.services import read_recorded
from cpms.core.permissions import grant, granted_filter, revoke, role_group
from cpms.core.roles import Role, has_role

from .models import IctsCase, IctsCaseGroupObjectPermission, IctsCaseUserObjectPermission, PackageAttachment
from .workflow import OBIM_VISIBLE, case_visible_to_obim
CASE_VIEW = "icts.view_ictscase"
PACKAGE_VIEW = "icts.view_transmitted_package"


def _granted(user, perm):
    return granted_filter(user, perm, user_model=IctsCaseUserObjectPermission, group_model=IctsCaseGroupObjectPermission)


def cases_visible_to(user):
    if not has_role(user, Role.ICTS_ANALYST, Role.ICTS_REVIEWER):
        return IctsCase.objects.none()
    return IctsCase.objects.filter(_granted(user, CASE_VIEW))


def access_case_for_user(user, pk) -> IctsCase:
    try:
        return cases_visible_to(user).select_related("partner_request__person", "partner_request__partner", "assigned_analyst").get(pk=pk)
    except (IctsCase.DoesNotExist, ValueError, TypeError):
        raise Http404("No such ICTS case.") from None


def packages_visible_to_obim(user):
    if not has_role(user, Role.OBIM_ANALYST):
        return IctsCase.objects.none()
    return IctsCase.objects.filter(_granted(user, PACKAGE_VIEW), status__in=OBIM_VISIBLE)


def access_transmitted_case_for_obim(user, pk) -> IctsCase:
    try:
        return packages_visible_to_obim(user).select_related("package__outbox_message", "partner_request__partner").get(pk=pk)
    except (IctsCase.DoesNotExist, ValueError, TypeError):
        raise Http404("No such package.") from None


def access_package_attachment(user, case_pk, pk) -> PackageAttachment:
    """A document of a case, for the ICTS analysts and reviewers who may see the case (ICTS's routes)."""
    return _attachment_of(access_case_for_user(user, case_pk), pk)


def access_transmitted_attachment_for_obim(user, case_pk, pk) -> PackageAttachment:
    """A document of a package as sent, for OBIM (OBIM's own route), once the case is transmitted."""
    return _attachment_of(access_transmitted_case_for_obim(user, case_pk), pk)


def _attachment_of(case: IctsCase, pk) -> PackageAttachment:
    try:
        return PackageAttachment.objects.select_related("package__case__partner_request").get(pk=pk, package__case=case)
    except (PackageAttachment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such document.") from None


# --- reads of partner data, recorded where access is checked (cpms.audit.services.read_recorded) --------------


def read_case_for_user(request, pk) -> IctsCase:
    """The case with the partner's request (what the partner sent) for an ICTS analyst or reviewer."""
    case = access_case_for_user(request.user, pk)
    read_recorded(request, case, person_id=case.partner_request.person_id, context={"request": case.partner_request.request_ref})
    if request.method in ("GET", "HEAD"):
        from cpms.partner_requests.services import augmentation_answers_read

        augmentation_answers_read(request, case.partner_request)
    return case


def read_transmitted_case_for_obim(request, pk, *, action: str | None = None) -> IctsCase:
    case = access_transmitted_case_for_obim(request.user, pk)
    return read_recorded(request, case, person_id=case.partner_request.person_id, action=action,
                         context={"request": case.partner_request.request_ref})


def read_package_attachment(request, case_pk, pk) -> PackageAttachment:
    return _read_attachment(request, access_package_attachment(request.user, case_pk, pk))


def read_transmitted_attachment_for_obim(request, case_pk, pk) -> PackageAttachment:
    return _read_attachment(request, access_transmitted_attachment_for_obim(request.user, case_pk, pk))


def _read_attachment(request, attachment: PackageAttachment) -> PackageAttachment:
    return read_recorded(request, attachment, person_id=attachment.package.case.partner_request.person_id, action="download",
                         context={"case": attachment.package.case.case_number})


# --- grants, made by icts.services in the workflow's transactions -------------------------------------------


def case_grants_open(case: IctsCase) -> None:
    grant(CASE_VIEW, role_group(Role.ICTS_REVIEWER), case)
    grant(CASE_VIEW, role_group(Role.ICTS_ANALYST), case)


def case_grants_assign(case: IctsCase, *, analyst, previous) -> None:
    """The case leaves the pool (or the previous analyst) for `analyst`."""
    revoke(CASE_VIEW, role_group(Role.ICTS_ANALYST), case)
    if previous is not None and previous != analyst:
        revoke(CASE_VIEW, previous, case)
    grant(CASE_VIEW, analyst, case)


def case_grants_transmitted(case: IctsCase) -> None:
    grant(PACKAGE_VIEW, role_group(Role.OBIM_ANALYST), case)


def case_grants_rebuild(case: IctsCase) -> None:
    """The grants the workflow would have made for the case in its present state (rebuild_grants)."""
    case_grants_open(case)
    for stray in IctsCaseUserObjectPermission.objects.filter(content_object=case).exclude(user_id=case.assigned_analyst_id) \
            .select_related("user"):
        revoke(CASE_VIEW, stray.user, case)
    if case.assigned_analyst_id is not None:
        case_grants_assign(case, analyst=case.assigned_analyst, previous=None)
    if case_visible_to_obim(case):
        case_grants_transmitted(case)
