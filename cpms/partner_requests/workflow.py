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
# A request cleared for sharing: only then may USCIS reveal, by asking, that it knows the person.
AUGMENTABLE = frozenset({R.IN_ICTS, R.ANSWERED})


def request_can_augment(req) -> bool:
    """USCIS may ask the partner for more on this person: the request matched a USCIS record and may be shared
    (asking about someone answered "no match" would tell the partner that USCIS holds a record)."""
    return req.person_id is not None and req.status in AUGMENTABLE


def request_can_resolve(req) -> bool:
    """A privacy officer's decision is waiting for this request."""
    return req.status == R.REFERRED


WORKFLOW = Workflow(model="partner_requests.PartnerRequest", history="partner_requests.RequestTransition",
                    fk="partner_request", statuses=RequestStatus, table=TRANSITIONS, noun="A request")
TransitionNotAllowed = CoreTransitionNotAllowed


def transition(request_obj, to: str, *, actor=None, reason: str = ""):
    return WORKFLOW.move(request_obj, to, actor=actor, reason=reason)
