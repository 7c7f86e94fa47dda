"""Who may see which case. Deny by default; "does not exist" and "not yours" are the same 404.

Issue 2 scope: an officer sees the cases assigned to her, a supervisor every case. The sequestration
issue moves these checks onto object-level grants without changing the callers.
"""

from django.http import Http404

from .models import BenefitCase
from .roles import Role, has_role


def cases_visible_to(user):
    if not user.is_authenticated:
        return BenefitCase.objects.none()
    if has_role(user, Role.SUPERVISOR):
        return BenefitCase.objects.all()
    if has_role(user, Role.OFFICER):
        return BenefitCase.objects.filter(assigned_officers=user)
    return BenefitCase.objects.none()


def access_case_for_user(user, pk) -> BenefitCase:
    try:
        return cases_visible_to(user).select_related("person").get(pk=pk)
    except (BenefitCase.DoesNotExist, ValueError, TypeError):
        raise Http404("No such case.") from None
