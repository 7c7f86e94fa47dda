"""The international query's state machine. Nothing else assigns `InternationalQuery.status`.

    submitted ──query.result no_match──▶ no_match (final)
        │ query.result match (IDENT sends round 2 by itself)
        ▼
    awaiting_round2 ──query.response round 2──▶ responded ──officer asks round 3──▶ awaiting_round3
                                                   │                                   │ query.response round 3
                                                   └──officer closes──▶ closed ◀───────┘ (completed, final)
    any open state ──IDENT rejects our message (4xx / delivery.ack rejected)──▶ failed (final)
"""

from __future__ import annotations

from django.db import models

from cpms.core.workflow import TransitionNotAllowed as CoreTransitionNotAllowed
from cpms.core.workflow import Workflow


class QueryStatus(models.TextChoices):
    SUBMITTED = "submitted", "Submitted (awaiting the partner's result)"
    NO_MATCH = "no_match", "No match"
    AWAITING_ROUND2 = "awaiting_round2", "Match (awaiting round 2)"
    RESPONDED = "responded", "Partner responded"
    AWAITING_ROUND3 = "awaiting_round3", "Round 3 requested"
    COMPLETED = "completed", "Completed (three rounds)"
    CLOSED = "closed", "Closed"
    FAILED = "failed", "Failed (message rejected)"


S = QueryStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    S.SUBMITTED: frozenset({S.NO_MATCH, S.AWAITING_ROUND2, S.FAILED}),
    S.AWAITING_ROUND2: frozenset({S.RESPONDED, S.FAILED}),
    S.RESPONDED: frozenset({S.AWAITING_ROUND3, S.CLOSED}),
    S.AWAITING_ROUND3: frozenset({S.COMPLETED, S.FAILED}),
    S.NO_MATCH: frozenset(),
    S.COMPLETED: frozenset(),
    S.CLOSED: frozenset(),
    S.FAILED: frozenset(),
}
FINAL = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
AWAITING_PARTNER = frozenset({S.SUBMITTED, S.AWAITING_ROUND2, S.AWAITING_ROUND3})


# --- the rules the pages, the API and the services ask (the one place each is written) ------------------------


def query_can_ask_round3(query) -> bool:
    """A third round follows the partner's round-2 response, once (ICD §3: at most three rounds per query)."""
    return query.status == S.RESPONDED


def query_can_close(query) -> bool:
    """The officer closes a query once the partner has answered and no round is outstanding."""
    return S.CLOSED in TRANSITIONS[query.status]


WORKFLOW = Workflow(model="queries.InternationalQuery", history="queries.QueryTransition", fk="query", statuses=QueryStatus,
                    table=TRANSITIONS, noun="A query")
TransitionNotAllowed = CoreTransitionNotAllowed


def can_transition(current: str, target: str) -> bool:
    return WORKFLOW.can(current, target)


def transition(query, to: str, *, actor=None, reason: str = ""):
    """Move `query` to `to` (cpms.core.workflow): lock, check the table, write the history row, in one transaction."""
    return WORKFLOW.move(query, to, actor=actor, reason=reason)
