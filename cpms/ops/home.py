"""The administrator's section of the home page (cpms.core.home): IDENT messages that need a person, and the way
into the Django admin."""

from __future__ import annotations

from django.urls import reverse

from cpms.core.home import Section, capped_count, register, tile
from cpms.core.roles import Role
from ident_bridge.models import InboundAttention, OutboxAttention


@register(Role.ADMIN, order=70)
def admin_section(user) -> Section:
    return Section(title="Administration", tiles=[
        tile("Outbound messages needing attention", capped_count(OutboxAttention.open_items()),
             reverse("admin:ident_bridge_outboxattention_changelist"), tone="urgent",
             hint="Refused by IDENT, rejected by a partner, or expired: retry or close with a note."),
        tile("Inbound messages needing attention", capped_count(InboundAttention.open_items()),
             reverse("admin:ident_bridge_inboundattention_changelist"), tone="urgent",
             hint="Could not be processed after every attempt."),
    ], links=[("Django administration", reverse("admin:index")), ("Partners and agreements", reverse("admin:core_agreement_changelist")),
              ("Users and roles", reverse("admin:auth_user_changelist")), ("Disclosure rules", reverse("admin:disclosure_ruleset_changelist"))],
        empty="No IDENT message needs attention.")
