"""Read side of the protected-status decisions: CIS's answer as a privacy officer reads it."""

from __future__ import annotations

from django.db.models import TextChoices

from cpms.cis.classes import ApplicationStatus, ProtectedClass
from cpms.core.roles import Role, has_role

from .models import Decision, Direction


def cis_class_rows(answer: dict | None) -> list[dict]:
    """CIS's answer kept with a decision, as the privacy officer reads it."""
    labels, statuses = dict(ProtectedClass.choices), dict(ApplicationStatus.choices)
    return [
        {"label": labels.get(c.get("protected_class"), c.get("protected_class")),
         "status": statuses.get(c.get("application_status"), c.get("application_status")),
         "appeals_exhausted": c.get("appeals_exhausted"), "consent_partners": c.get("consent_partners") or [],
         "feared_countries": c.get("feared_countries") or []}
        for c in (answer or {}).get("classes", [])
    ]


ACTION_LABELS = {"share": "Share", "withhold": "Withhold", "refer": "Refer to a privacy officer", "": "—"}


def _reason_row(reason: dict, *, deciding: bool) -> dict:
    labels = dict(ProtectedClass.choices)
    return {"class": labels.get(reason.get("class"), reason.get("class")) or "—",
            "action": ACTION_LABELS.get(reason.get("action", ""), reason.get("action")),
            "citation": reason.get("citation") or "—", "why": reason.get("why", ""), "deciding": deciding}


def reason_rows(decision) -> list[dict]:
    """The rule reasons of a decision in words: classes and actions by label, each marked when it decided the outcome.
    A privacy officer's own decision has its justification beside it, not repeated here."""
    if decision.stage == "privacy_review":
        return []
    deciding = decision.deciding_reasons()
    return [_reason_row(r, deciding=r in deciding) for r in decision.reasons]


def deciding_reason_rows(decision) -> list[dict]:
    """Only the rules that decided the outcome (Decision.deciding_reasons): a withheld T-visa holder's 8 U.S.C. 1367
    rule, never the asylum share reason that lost to it. Empty for a privacy officer's own decision."""
    if decision.stage == "privacy_review":
        return []
    return [_reason_row(r, deciding=True) for r in decision.deciding_reasons()]


def decision_list_rows(decisions) -> list[dict]:
    """A page of the decisions list: each decision with what it was about and the rules that decided it."""
    return [{"decision": d, "kind": decision_kind(d), "deciding": deciding_reason_rows(d)} for d in decisions]


def decision_rows(decisions) -> list[tuple]:
    """Each decision with its CIS class rows and its reasons, oldest first (the order they were made in)."""
    return [(d, cis_class_rows(d.cis_answer), reason_rows(d))
            for d in decisions.select_related("ruleset", "decided_by").order_by("decided_at", "id")]


class DecisionKind(TextChoices):
    """What a decision was about, as the privacy officer filters them: a disclosure USCIS starts (a query, its round-3
    follow-up, an augmentation) or an answer to a partner's request."""

    QUERY = "query", "Our queries and round-3 follow-ups"
    AUGMENT = "augment", "Our augmentation requests"
    REPLY = "reply", "Answers to partners' requests"


_KIND_FILTERS = {
    DecisionKind.QUERY: {"direction": Direction.QUERY, "query__isnull": False},
    DecisionKind.AUGMENT: {"direction": Direction.QUERY, "query__isnull": True},
    DecisionKind.REPLY: {"direction": Direction.REPLY},
}


def decisions_for(user, *, outcome: str = "", partner: str = "", kind: str = ""):
    """Every protected-status decision, newest first, for the privacy officer's Decisions list: the rules' and the
    privacy officers' own, on queries, follow-ups and augmentations as on partners' requests. Nobody else sees it."""
    if not has_role(user, Role.PRIVACY_OFFICER):
        return Decision.objects.none()
    qs = Decision.objects.select_related("partner", "partner_request", "query", "ruleset", "decided_by")
    if outcome:
        qs = qs.filter(outcome=outcome)
    if partner:
        qs = qs.filter(partner_id=partner)
    if kind in _KIND_FILTERS:
        qs = qs.filter(**_KIND_FILTERS[kind])
    return qs.order_by("-decided_at", "-id")


def decision_kind(decision: Decision) -> str:
    if decision.direction == Direction.REPLY:
        return DecisionKind.REPLY.label
    return DecisionKind.QUERY.label if decision.query_id else DecisionKind.AUGMENT.label
