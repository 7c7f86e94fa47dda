"""The CPMS roles. Each is a Django group; membership is how a person's role is known."""

from django.db import models


class Role(models.TextChoices):
    OFFICER = "officer", "Asylum/refugee officer"
    SUPERVISOR = "supervisor", "Supervisory officer"
    ICTS_ANALYST = "icts_analyst", "ICTS analyst"
    ICTS_REVIEWER = "icts_reviewer", "ICTS reviewer"
    OBIM_ANALYST = "obim_analyst", "OBIM analyst"
    FDNS_ANALYST = "fdns_analyst", "FDNS analyst"
    PRIVACY_OFFICER = "privacy_officer", "Privacy officer"
    ADMIN = "admin", "System administrator"


def has_role(user, *roles: str) -> bool:
    if not user.is_authenticated:
        return False
    names = getattr(user, "_cpms_roles", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._cpms_roles = names
    return bool(names & set(roles))
