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
    """A page of the decisions list: each decision with the rules that decided it."""
    return [{"decision": d, "deciding": deciding_reason_rows(d)} for d in decisions]


def decision_rows(decisions) -> list[tuple]:
    """Each decision with its CIS class rows and its reasons, oldest first (the order they were made in)."""
    return [(d, cis_class_rows(d.cis_answer), reason_rows(d))
            for d in decisions.select_related("ruleset", "decided_by").order_by("decided_at", "id")]
