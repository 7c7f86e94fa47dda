"""FDNS referrals: an officer refers a query's results to a fraud analyst for a while (PIA: officers may refer results
to FDNS); the grant ends when the referral expires or is revoked."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from cpms.core.notifications import notify
from cpms.core.permissions import can_act_on_case
from cpms.core.roles import Role, has_role

from ..models import FdnsReferral, InternationalQuery
from ..permissions import referral_grant, referral_revoke_grant
from .rounds import QueryError


REFERRAL_MAX_DAYS = 180


def referral_create(*, actor, query: InternationalQuery, analyst, reason: str, days: int = 30) -> FdnsReferral:
    """Refer a query's results to an FDNS fraud analyst (PIA: officers may refer results to FDNS).

    The analyst may read the query, its responses and files until the referral expires or is revoked.
    """
    if not can_act_on_case(actor, query.case):
        raise QueryError("Only an officer assigned to the case, or a supervisor, can refer its results.", code="forbidden")
    if analyst is None or not has_role(analyst, Role.FDNS_ANALYST):
        raise QueryError("Choose an FDNS analyst to refer the results to.", field="analyst")
    reason = (reason or "").strip()
    if not reason or len(reason) > 2000:
        raise QueryError("Say why FDNS should look at these results (up to 2,000 characters).", field="reason")
    if not isinstance(days, int) or not 1 <= days <= REFERRAL_MAX_DAYS:
        raise QueryError(f"A referral lasts from 1 to {REFERRAL_MAX_DAYS} days.", field="days")
    if not query.responses.exists():
        raise QueryError("The partner has not answered yet: there are no results to refer.", code="wrong_state")
    with transaction.atomic():
        InternationalQuery.objects.select_for_update().get(pk=query.pk)  # one referral decision at a time per query
        current = FdnsReferral.objects.filter(query=query, analyst=analyst, revoked_at__isnull=True,
                                              expires_at__gt=timezone.now()).first()
        if current is not None:
            raise QueryError(f"These results are already referred to {analyst.get_full_name() or analyst.get_username()} until "
                             f"{current.expires_at:%-d %b %Y}. Revoke that referral first to change it.", code="wrong_state")
        referral = FdnsReferral.objects.create(query=query, analyst=analyst, referred_by=actor, reason=reason,
                                               expires_at=timezone.now() + timedelta(days=days))
        referral_grant(referral)
        notify([analyst], f"Case {query.case.receipt_number} ({query.person}): {actor.get_full_name() or actor.get_username()} "
                          f"referred the results of query {query.query_ref} ({query.partner.name}) to you until "
                          f"{referral.expires_at:%Y-%m-%d}.", to=("query-detail", query.pk))
    return referral


def referral_revoke(*, actor, referral: FdnsReferral, reason: str = "") -> FdnsReferral:
    """End a referral now; the analyst loses the query at once. A second revocation is refused (wrong_state)."""
    if actor is not None and not can_act_on_case(actor, referral.query.case):
        raise QueryError("Only an officer assigned to the case, or a supervisor, can revoke the referral.", code="forbidden")
    with transaction.atomic():
        locked = FdnsReferral.objects.select_for_update().select_related("query", "analyst").get(pk=referral.pk)
        if locked.revoked_at is not None:
            raise QueryError(f"This referral already ended on {locked.revoked_at:%-d %b %Y %H:%M} UTC"
                             + (" (expired)." if locked.revoke_reason == "expired" else "."), code="wrong_state")
        locked.revoked_at, locked.revoked_by, locked.revoke_reason = timezone.now(), actor, (reason or "").strip()[:2000]
        locked.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        referral_revoke_grant(locked)
    return locked


def referrals_expire(*, limit: int = 500) -> int:
    """Remove the grants of referrals past their expiry (access already ends at expiry; this tidies the grants)."""
    now = timezone.now()
    expired = FdnsReferral.objects.filter(revoked_at__isnull=True, expires_at__lte=now).select_related("query", "analyst")[:limit]
    count = 0
    for referral in expired:
        with transaction.atomic():
            locked = FdnsReferral.objects.select_for_update(skip_locked=True).filter(pk=referral.pk, revoked_at__isnull=True).first()
            if locked is None:
                continue
            # save(), not update(): the change goes through django-auditlog like every other.
            locked.revoked_at, locked.revoke_reason = now, "expired"
            locked.save(update_fields=["revoked_at", "revoke_reason"])
            referral_revoke_grant(referral)
            count += 1
    return count
