"""The international query's state machine. Nothing else assigns `InternationalQuery.status`.

    Screened before anything is sent (cpms.disclosure.services.query_decision): a query the rules allow starts
    `submitted`; one that CIS cannot yet clear starts `held_cis`, one a privacy officer must clear starts
    `held_privacy`; a held query is sent (→ submitted), withheld (final) or closed by its officer. Nothing leaves
    while it is held.

    held_cis ─CIS answers─▶ submitted | held_privacy | withheld;  held_privacy ─privacy officer─▶ submitted | withheld

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
    HELD_CIS = "held_cis", "Held: waiting for CIS to confirm protected status"
    HELD_PRIVACY = "held_privacy", "Held: waiting for a privacy officer"
    WITHHELD = "withheld", "Not sent: protected status does not allow it"
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
    S.HELD_CIS: frozenset({S.SUBMITTED, S.HELD_PRIVACY, S.WITHHELD, S.CLOSED}),
    S.HELD_PRIVACY: frozenset({S.SUBMITTED, S.WITHHELD, S.CLOSED}),
    S.WITHHELD: frozenset(),
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
# Still in play: held before sending, with the partner, or answered and waiting for the officer ("Open queries").
OPEN = frozenset(TRANSITIONS) - FINAL
AWAITING_PARTNER = frozenset({S.SUBMITTED, S.AWAITING_ROUND2, S.AWAITING_ROUND3})
HELD = frozenset({S.HELD_CIS, S.HELD_PRIVACY})
# The partner has answered and the officer decides what next (a third round, or close): the officer's own work.
WAITING_FOR_OFFICER = frozenset({S.RESPONDED})


# --- the rules the pages, the API and the services ask (the one place each is written) ------------------------


def query_can_ask_round3(query) -> bool:
    """A third round follows the partner's round-2 response, once (ICD §3: at most three rounds per query)."""
    return query.status == S.RESPONDED


def query_can_close(query) -> bool:
    """The officer closes a query once the partner has answered and no round is outstanding, or while it is held
    (nothing was sent)."""
    return S.CLOSED in TRANSITIONS[query.status]


def query_can_resolve(query) -> bool:
    """A privacy officer's decision is waiting for this query."""
    return query.status == S.HELD_PRIVACY


WORKFLOW = Workflow(model="queries.InternationalQuery", history="queries.QueryTransition", fk="query", statuses=QueryStatus,
                    table=TRANSITIONS, noun="A query")
TransitionNotAllowed = CoreTransitionNotAllowed


def can_transition(current: str, target: str) -> bool:
    return WORKFLOW.can(current, target)


def transition(query, to: str, *, actor=None, reason: str = ""):
    """Move `query` to `to` (cpms.core.workflow): lock, check the table, write the history row, in one transaction."""
    return WORKFLOW.move(query, to, actor=actor, reason=reason)
