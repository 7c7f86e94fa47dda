"""Read side of the protected-status decisions: CIS's answer as a privacy officer reads it."""

from __future__ import annotations

from cpms.cis.classes import ApplicationStatus, ProtectedClass


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


def reason_rows(decision) -> list[dict]:
    """The rule reasons of a decision in words: classes and actions by label. A privacy officer's own decision has
    its justification beside it, not repeated here."""
    if decision.stage == "privacy_review":
        return []
    labels = dict(ProtectedClass.choices)
    return [{"class": labels.get(r.get("class"), r.get("class")) or "—", "action": ACTION_LABELS.get(r.get("action", ""), r.get("action")),
             "citation": r.get("citation") or "—", "why": r.get("why", "")} for r in decision.reasons]


def decision_rows(decisions) -> list[tuple]:
    """Each decision with its CIS class rows and its reasons, oldest first (the order they were made in)."""
    return [(d, cis_class_rows(d.cis_answer), reason_rows(d))
            for d in decisions.select_related("ruleset", "decided_by").order_by("decided_at", "id")]
