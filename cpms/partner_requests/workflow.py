"""A partner's request, from receipt to its one answer. Nothing else assigns `PartnerRequest.status`.

    received ─┬─ unknown person / protected ──▶ answered_no_match (final)
              ├─ CIS down or incomplete ──▶ awaiting_cis ──(retries)──▶ … ; after a while ──▶ referred
              ├─ rules say refer ──▶ referred ──privacy officer──▶ answered_no_match | in_icts
              └─ may be shared ──▶ in_icts ──package transmitted──▶ answered (final)
                                      └─ status changed before transmission ──▶ referred
"""

from __future__ import annotations

from django.db import models

from cpms.core.workflow import TransitionNotAllowed as CoreTransitionNotAllowed
from cpms.core.workflow import Workflow


class RequestStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    AWAITING_CIS = "awaiting_cis", "Waiting for CIS (PCQS)"
    REFERRED = "referred", "Referred to a privacy officer"
    IN_ICTS = "in_icts", "ICTS case open"
    ANSWERED_NO_MATCH = "answered_no_match", "Answered: no match"
    ANSWERED = "answered", "Answered: response sent"


R = RequestStatus
TRANSITIONS: dict[str, frozenset[str]] = {
    R.RECEIVED: frozenset({R.AWAITING_CIS, R.REFERRED, R.IN_ICTS, R.ANSWERED_NO_MATCH}),
    R.AWAITING_CIS: frozenset({R.REFERRED, R.IN_ICTS, R.ANSWERED_NO_MATCH}),
    R.REFERRED: frozenset({R.IN_ICTS, R.ANSWERED_NO_MATCH}),
    R.IN_ICTS: frozenset({R.ANSWERED, R.REFERRED}),
    R.ANSWERED_NO_MATCH: frozenset(),
    R.ANSWERED: frozenset(),
}
OPEN = frozenset(s for s, t in TRANSITIONS.items() if t)


WORKFLOW = Workflow(model="partner_requests.PartnerRequest", history="partner_requests.RequestTransition",
                    fk="partner_request", statuses=RequestStatus, table=TRANSITIONS, noun="A request")
TransitionNotAllowed = CoreTransitionNotAllowed


def transition(request_obj, to: str, *, actor=None, reason: str = ""):
    return WORKFLOW.move(request_obj, to, actor=actor, reason=reason)
