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


# Each role's model permissions: what kind of thing the role works with at all. Which objects, is an object
# grant's business (cpms.core.permissions): a check needs both, so neither a model permission nor a grant alone
# opens anything. The admin role's are for the Django admin: reference data, people and cases, the IDENT log.
# Entries are "app_label.codename", or "app_label.model" for all four of a model's permissions.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.OFFICER: ["core.view_benefitcase", "queries.view_internationalquery", "queries.add_internationalquery",
                   "queries.add_fdnsreferral", "queries.change_fdnsreferral"],
    Role.SUPERVISOR: ["core.view_benefitcase", "queries.view_internationalquery", "queries.add_internationalquery",
                      "queries.add_fdnsreferral", "queries.change_fdnsreferral"],
    Role.ICTS_ANALYST: ["icts.view_ictscase", "icts.change_ictscase", "icts.add_responsepackage", "icts.change_responsepackage",
                        "icts.add_packageattachment", "icts.delete_packageattachment", "partner_requests.view_partnerrequest",
                        "partner_requests.add_augmentation"],
    Role.ICTS_REVIEWER: ["icts.view_ictscase", "icts.change_ictscase", "icts.add_review", "partner_requests.view_partnerrequest",
                         "partner_requests.add_augmentation"],
    Role.OBIM_ANALYST: ["icts.view_transmitted_package"],
    Role.FDNS_ANALYST: ["queries.view_internationalquery"],
    Role.PRIVACY_OFFICER: ["partner_requests.view_partnerrequest", "partner_requests.change_partnerrequest",
                           "disclosure.view_decision", "disclosure.view_disclosurerecord", "audit.view_accesslogentry"],
    Role.ADMIN: ["core.partner", "core.agreement", "core.person", "core.benefitcase", "core.notification",
                 "ident_bridge.view_inboundmessage", "ident_bridge.view_outboxmessage", "ident_bridge.change_outboxmessage",
                 "ident_bridge.view_rejectedinbound", "ident_bridge.view_inboundattention", "ident_bridge.change_inboundattention",
                 "ident_bridge.view_outboxattention", "ident_bridge.change_outboxattention", "queries.view_internationalquery", "cis.cisrecord", "cis.cisclassentry",
                 "disclosure.ruleset", "disclosure.rule", "disclosure.view_decision", "auth.user", "auth.group"],
}


def ensure_roles(**kwargs) -> dict:
    """Every role as a group with exactly its model permissions. Idempotent; runs after every migrate (so a new
    database, a test database and production all have them) and from seed_demo."""
    from django.contrib.auth.models import Group, Permission
    from django.db.models import Q

    groups = {}
    for role in Role:
        group, _ = Group.objects.get_or_create(name=role.value)
        match = Q(pk__in=[])
        for entry in ROLE_PERMISSIONS.get(role, []):
            app, name = entry.split(".", 1)
            match |= Q(content_type__app_label=app) & (Q(codename=name) if "_" in name else Q(content_type__model=name))
        group.permissions.set(Permission.objects.filter(match))
        groups[role.value] = group
    return groups
