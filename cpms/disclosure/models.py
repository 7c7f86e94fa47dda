"""Disclosure rules (versioned data), the decisions made with them, and the accounting of disclosures."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q

from cpms.cis.classes import ProtectedClass

from .rules import Action, Direction, Exception_, Outcome, RuleSpec


class RuleSet(models.Model):
    """One version of the rules. A published version is never edited: a change is a new version."""

    version = models.PositiveIntegerField(unique=True)
    note = models.CharField(max_length=500, blank=True, help_text="What changed and why")
    is_active = models.BooleanField(default=False)
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_ruleset")]

    def __str__(self) -> str:
        return f"Rules v{self.version}" + (" (active)" if self.is_active else "")

    def specs(self) -> list[RuleSpec]:
        return [
            RuleSpec(r.protected_class, r.partner_id, r.action, r.exception, r.citation, r.pk, r.direction)
            for r in self.rules.all()
        ]


class Rule(models.Model):
    ruleset = models.ForeignKey(RuleSet, on_delete=models.CASCADE, related_name="rules")
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.REPLY)
    protected_class = models.CharField(max_length=20, choices=ProtectedClass.choices)
    partner = models.ForeignKey("core.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                help_text="Empty: every partner. A partner-specific rule wins over the general one.")
    action = models.CharField(max_length=10, choices=Action.choices)
    exception = models.CharField(max_length=30, choices=Exception_.choices, default=Exception_.NONE)
    citation = models.CharField(max_length=300, help_text="The legal basis, e.g. 8 CFR 208.6")

    class Meta:
        ordering = ["ruleset_id", "direction", "protected_class", "partner_id"]
        constraints = [
            models.UniqueConstraint(fields=["ruleset", "direction", "protected_class", "partner"],
                                    name="rule_unique_per_direction_class_partner"),
            models.UniqueConstraint(fields=["ruleset", "direction", "protected_class"], condition=Q(partner__isnull=True),
                                    name="rule_unique_general_per_direction_class"),
        ]

    def __str__(self) -> str:
        # In words: the admin titles each rule of a rule set with this ("Asylum applicant or asylee", not ASYLUM).
        partner = self.partner.name if self.partner_id else "any partner"
        return f"{self.get_direction_display()}: {self.get_protected_class_display()} → {partner}: {self.get_action_display()}"


class Decision(models.Model):
    """A protected-status decision with its evidence: the rule version, the CIS answer and the time. About a partner's
    request (our reply) or about a message USCIS would send on its own (a query, round 3, an augmentation)."""

    class Stage(models.TextChoices):
        INTAKE = "intake", "On receipt of the request"
        TRANSMISSION = "transmission", "Just before transmission"
        PRIVACY_REVIEW = "privacy_review", "Privacy officer's review"
        QUERY = "query", "Before our query"
        FOLLOWUP = "followup", "Before our round-3 follow-up"
        AUGMENT = "augment", "Before our augmentation request"

    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.REPLY)
    person = models.ForeignKey("core.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               help_text="empty when a partner's FIN matched nobody")
    partner = models.ForeignKey("core.Partner", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    partner_request = models.ForeignKey("partner_requests.PartnerRequest", null=True, blank=True, on_delete=models.CASCADE,
                                        related_name="decisions")
    query = models.ForeignKey("queries.InternationalQuery", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="decisions")
    stage = models.CharField(max_length=15, choices=Stage.choices)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    ruleset = models.ForeignKey(RuleSet, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reasons = models.JSONField(default=list)
    cis_answer = models.JSONField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    justification = models.TextField(blank=True)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["outcome", "-decided_at"]), models.Index(fields=["partner_request", "-decided_at"]),
                   models.Index(fields=["query", "-decided_at"]), models.Index(fields=["person", "-decided_at"])]

    def deciding_reasons(self) -> list[dict]:
        """The reasons that decided the outcome (a withheld T-visa holder's 1367 rule, not an asylum share reason)."""
        deciding = [r for r in self.reasons if r.get("action") == self.outcome]
        return deciding or list(self.reasons)


class DisclosureRecord(models.Model):
    """Privacy Act accounting of one disclosure (5 U.S.C. 552a(c)): one per outbound message that carries a person's
    information, written in the transaction that writes the message to the outbox, then told what became of the message.

    Only a message IDENT accepted, and that no partner rejected, was disclosed (ICD §3): the accounting shows the rest
    as "not disclosed" with the reason. `disclosed_at` is IDENT's acceptance once there is one, and until then when
    the message was queued (`queued_at`), so that every entry keeps its place in the person's accounting."""

    class Delivery(models.TextChoices):
        PENDING = "pending", "Not disclosed yet: waiting for IDENT to accept it"
        DELIVERED = "delivered", "Disclosed: IDENT accepted it for the partner"
        REFUSED = "refused", "Not disclosed: IDENT refused the message"
        REJECTED = "rejected", "Not disclosed: the partner rejected the message"
        EXPIRED = "expired", "Not disclosed: IDENT could not be reached before the retries ran out"

    class Kind(models.TextChoices):
        QUERY = "query.submit", "Our fingerprint query"
        FOLLOWUP = "query.followup", "Our round-3 follow-up"
        REPLY = "request.reply", "Our response to the partner's request"
        AUGMENT = "request.augment", "Our augmentation request"
        CORRECTION = "disclosure.correction", "Our correction of an earlier disclosure"

    message_type = models.CharField("exchange", max_length=30, choices=Kind.choices)
    reference = models.CharField(max_length=64, help_text="the query, request or augmentation reference the message carried")
    person = models.ForeignKey("core.Person", on_delete=models.PROTECT, related_name="disclosures")
    partner = models.ForeignKey("core.Partner", on_delete=models.PROTECT, related_name="+")
    agreement = models.ForeignKey("core.Agreement", on_delete=models.PROTECT, related_name="+",
                                  help_text="the agreement version in force when the message left")
    disclosed_at = models.DateTimeField(help_text="IDENT's acceptance; until then, when the message was queued")
    queued_at = models.DateTimeField(help_text="when the message was written to the outbox")
    delivery = models.CharField(max_length=10, choices=Delivery.choices, default=Delivery.PENDING)
    delivery_at = models.DateTimeField(null=True, blank=True, help_text="when the delivery outcome was learnt")
    delivery_detail = models.CharField(max_length=1000, blank=True, help_text="IDENT's or the partner's reason")
    nature = models.CharField(max_length=300)
    data_elements = models.JSONField(default=list)
    attachments = models.JSONField(default=list, help_text="[{filename, kind, media_type, sha256}]")
    purpose = models.CharField(max_length=300)
    recipient = models.CharField(max_length=500)
    legal_authority = models.CharField(max_length=1000)
    # 552a(c)(3): disclosures at a law-enforcement agency's written request are left out of the person's own report.
    law_enforcement_request = models.BooleanField(default=False)
    disclosed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                     help_text="who asked (queries) or approved (responses)")
    package = models.OneToOneField("icts.ResponsePackage", null=True, blank=True, on_delete=models.PROTECT, related_name="disclosure")
    outbox_message = models.OneToOneField("ident_bridge.OutboxMessage", on_delete=models.PROTECT, related_name="+")
    # Kept until the later of five years after the disclosure and the end of the record's life (100 years from birth).
    retain_until = models.DateField()

    class Meta:
        ordering = ["-disclosed_at", "-id"]
        indexes = [models.Index(fields=["person", "-disclosed_at", "-id"], name="disclosure_person_time_idx"),
                   # The system-wide accounting: a period, newest first, for every partner or one (keyset pages).
                   models.Index(fields=["-disclosed_at", "-id"], name="disclosure_time_idx"),
                   models.Index(fields=["partner", "-disclosed_at", "-id"], name="disclosure_partner_time_idx")]

    @property
    def is_disclosed(self) -> bool:
        return self.delivery == self.Delivery.DELIVERED

    @staticmethod
    def retention_for(disclosed_on: date, person_retain_until: date | None) -> date:
        try:
            five_years = disclosed_on.replace(year=disclosed_on.year + 5)
        except ValueError:  # 29 February
            five_years = disclosed_on.replace(year=disclosed_on.year + 5, day=28)
        return max(five_years, person_retain_until or five_years)


# What may become of an accounted message (ICD §1 and §3). IDENT's acceptance is the disclosure; a partner's rejection
# undoes it; a refusal by IDENT is final; an expired message may still be accepted when an administrator sends it again
# (the same bytes: outbox_retry_expired). Nothing moves back to pending, and nothing leaves a final outcome.
_D = DisclosureRecord.Delivery
DELIVERY_MOVES: dict[str, frozenset[str]] = {
    _D.PENDING: frozenset({_D.DELIVERED, _D.REFUSED, _D.REJECTED, _D.EXPIRED}),
    _D.DELIVERED: frozenset({_D.REJECTED}),
    _D.EXPIRED: frozenset({_D.DELIVERED, _D.REJECTED}),
    _D.REFUSED: frozenset(),
    _D.REJECTED: frozenset(),
}


def delivery_may_move(current: str, to: str) -> bool:
    return to in DELIVERY_MOVES[current]
