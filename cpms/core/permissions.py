"""Who may see which case, and the object grants behind every access decision in CPMS.

Deny by default: a user sees an object only through an object grant (django-guardian, stored in the direct
foreign-key grant tables of each model) *and* while holding the role that the grant is for. "Does not
exist" and "not yours" are the same 404.

Guardian's defaults are not used for checks: a model-wide permission never opens every object (we never
pass `accept_global_perms`) and a superuser has no implicit access (no `with_superuser` short cut): both
come from filtering the grant tables in SQL here. Grants are made and removed only with guardian's
`assign_perm`/`remove_perm`, by the workflow services, through `grant` and `revoke` below.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from guardian.shortcuts import assign_perm, remove_perm

from .models import BenefitCase, BenefitCaseGroupObjectPermission, BenefitCaseUserObjectPermission
from .roles import Role, has_role

CASE_VIEW = "core.view_benefitcase"

_PERMISSION_IDS: dict[str, int] = {}


def permission_id(perm: str) -> int:
    """The id of 'app_label.codename' (cached: permissions are created by migrate and never change)."""
    if perm not in _PERMISSION_IDS:
        app_label, codename = perm.split(".", 1)
        _PERMISSION_IDS[perm] = Permission.objects.values_list("pk", flat=True).get(
            content_type__app_label=app_label, codename=codename)
    return _PERMISSION_IDS[perm]


def role_group(role: str) -> Group:
    group, _ = Group.objects.get_or_create(name=role)
    return group


def grant(perm: str, who, obj) -> None:
    """Give a user or a group (a role) `perm` on `obj`. Idempotent."""
    assign_perm(perm, who, obj)


def revoke(perm: str, who, obj) -> None:
    remove_perm(perm, who, obj)


def granted_filter(user, perm: str, *, user_model, group_model=None, field: str = "pk") -> Q:
    """A Q on the granted model: `field` has a grant of `perm` for `user`, directly or through a group.

    Correlated EXISTS over the direct grant tables; each probe is one lookup in the unique index
    (user|group, permission, content_object). Anonymous users get nothing.
    """
    if not user.is_authenticated:
        return Q(pk__in=[])
    pid = permission_id(perm)
    q = Q(Exists(user_model.objects.filter(user_id=user.pk, permission_id=pid, content_object_id=OuterRef(field))))
    if group_model is not None:
        groups = user.groups.values("pk")
        q |= Q(Exists(group_model.objects.filter(group_id__in=groups, permission_id=pid, content_object_id=OuterRef(field))))
    return q


def has_grant(user, perm: str, obj, *, user_model, group_model=None) -> bool:
    return type(obj).objects.filter(granted_filter(user, perm, user_model=user_model, group_model=group_model),
                                    pk=obj.pk).exists()


# --- benefit cases -----------------------------------------------------------------------------------------


def case_grant_filter(user, field: str = "pk") -> Q:
    return granted_filter(user, CASE_VIEW, user_model=BenefitCaseUserObjectPermission,
                          group_model=BenefitCaseGroupObjectPermission, field=field)


def cases_visible_to(user):
    """Officers see the cases assigned to them; supervisors the cases their group is granted."""
    if not has_role(user, Role.OFFICER, Role.SUPERVISOR):
        return BenefitCase.objects.none()
    return BenefitCase.objects.filter(case_grant_filter(user))


def can_act_on_case(user, case: BenefitCase) -> bool:
    """May query partners from this case: an officer or supervisor with the case's grant."""
    return has_role(user, Role.OFFICER, Role.SUPERVISOR) and cases_visible_to(user).filter(pk=case.pk).exists()


def access_case_for_user(user, pk) -> BenefitCase:
    try:
        return cases_visible_to(user).select_related("person").get(pk=pk)
    except (BenefitCase.DoesNotExist, ValueError, TypeError):
        raise Http404("No such case.") from None


def case_grants_sync(case: BenefitCase) -> None:
    """Make the case's grants follow its assignment: each assigned officer, and the supervisors' group.

    Called by the services that open a case or change its officers (and by the admin after it saves the
    assignment), in their transaction.
    """
    grant(CASE_VIEW, role_group(Role.SUPERVISOR), case)
    assigned = set(case.assigned_officers.values_list("pk", flat=True))
    pid = permission_id(CASE_VIEW)
    granted = set(BenefitCaseUserObjectPermission.objects.filter(content_object=case, permission_id=pid)
                  .values_list("user_id", flat=True))
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.in_bulk(assigned ^ granted)
    for uid in assigned - granted:
        grant(CASE_VIEW, users[uid], case)
    for uid in granted - assigned:
        revoke(CASE_VIEW, users[uid], case)
