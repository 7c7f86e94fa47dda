"""A partner's request, from receipt to its one answer. Nothing else assigns `PartnerRequest.status`.

    received ─┬─ unknown person / protected ──▶ answered_no_match (final)
              ├─ CIS down or incomplete ──▶ awaiting_cis ──(retries)──▶ … ; after a while ──▶ referred
              ├─ rules say refer ──▶ referred ──privacy officer──▶ answered_no_match | in_icts
              └─ may be shared ──▶ in_icts ──package transmitted──▶ answered (final)
                                      └─ status changed before transmission ──▶ referred
"""

from __future__ import annotations

from django.db import models, transaction

from cpms.core.errors import DomainError


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


class TransitionNotAllowed(DomainError):
    def __init__(self, current: str, target: str):
        super().__init__(f"A request that is '{RequestStatus(current).label}' cannot become '{RequestStatus(target).label}'.", code="wrong_state")


def transition(request_obj, to: str, *, actor=None, reason: str = ""):
    from .models import PartnerRequest, RequestTransition

    with transaction.atomic():
        locked = PartnerRequest.objects.select_for_update().get(pk=request_obj.pk)
        if to not in TRANSITIONS.get(locked.status, frozenset()):
            raise TransitionNotAllowed(locked.status, to)
        RequestTransition.objects.create(partner_request=locked, from_status=locked.status, to_status=to, actor=actor,
                                         reason=reason[:300])
        locked.status = to
        locked.save(update_fields=["status", "updated_at"])
    request_obj.status = to
    return locked
