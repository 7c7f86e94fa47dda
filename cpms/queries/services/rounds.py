"""An officer's query and its rounds: submit (screened first), held queries (CIS, a privacy officer), round 3, close.
Every state change goes through workflow.transition()."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cpms.audit.services import audited_update
from cpms.core.errors import DomainError
from cpms.core.labels import REASON_LABELS, REQUESTED_ITEM_LABELS
from cpms.core.models import Agreement, BenefitCase, Partner
from cpms.core.notifications import notify
from cpms.core.permissions import can_act_on_case
from cpms.core.roles import Role
from cpms.disclosure import services as disclosure
from cpms.disclosure.screening import (ScreeningKind, ScreeningRefused, review_check, review_record, screen_or_refuse,
                                       what_to_ask)
from cpms.disclosure.services import Decision
from ident_bridge import icd
from ident_bridge.outbox import outbox_enqueue

from ..models import MAX_ROUNDS, InternationalQuery, QueryRound
from ..workflow import WORKFLOW as QUERY_WORKFLOW
from ..workflow import QueryStatus, query_can_ask_round3, query_can_close, query_can_resolve, transition


class QueryError(DomainError):
    """A request the officer can correct; the message says what to do. `field` names the form field."""


class RoundLimitReached(QueryError):
    pass


def _new_query_ref() -> str:
    return f"USCIS-Q-{timezone.now():%Y%m%d}-{secrets.token_hex(5).upper()}"


class QueryNotPermitted(QueryError):
    """The disclosure rules do not let USCIS ask this partner about this person (nothing was written or sent)."""


def query_submit(
    *,
    actor,
    case: BenefitCase,
    partner_code: str,
    reason: str,
    priority: str,
    encounter_id: str = "",
    submission_key: str | None = None,
) -> InternationalQuery:
    """Round 1: ask a partner, through IDENT, for a fingerprint query of the person on the case.

    Screened first (cpms.disclosure.services.query_decision): refused when the rules forbid it (the refusal is kept as
    a decision for the privacy record); held, with nothing sent, while CIS cannot confirm the person's status or a
    privacy officer must decide; otherwise sent, with its accounting, in one transaction.
    `submission_key` makes a double-submitted form (or a retried API call) create one query, not two.
    """
    if submission_key:
        existing = InternationalQuery.objects.filter(requestor=actor, submission_key=submission_key).first()
        if existing:
            return _same_submission(existing, case=case, partner_code=partner_code, reason=reason, priority=priority)
    if not can_act_on_case(actor, case):
        raise QueryError("Only an officer assigned to this case can query a partner about its person.", code="forbidden")
    if not case.is_open:
        raise QueryError("This case is closed; reopen it before querying a partner.")
    if reason not in icd.REASONS:
        raise QueryError(f"Choose a reason from the list ({', '.join(icd.REASONS)}).", field="reason")
    if priority not in icd.PRIORITIES:
        raise QueryError("Choose a priority: high, medium or low.", field="priority")
    if encounter_id and not icd_encounter_ok(encounter_id):
        raise QueryError("An encounter ID is 6 to 40 characters of A-Z, 0-9 and hyphens.", field="encounter_id")
    person = case.person
    if not person.fin:
        raise QueryError("The person on this case has no FIN (fingerprint identification number); a fingerprint query needs one.")
    partner = Partner.objects.filter(code=partner_code).first()
    if partner is None:
        raise QueryError("Choose one of the partners offered.", field="partner")
    answer = disclosure.lookup_cis(person)  # network: before any transaction
    ev, ruleset, agreement = disclosure.query_decision(person=person, partner_code=partner_code, answer=answer)
    if agreement is None:
        raise QueryError(disclosure.no_agreement_reason(partner) + " Choose one of the partners offered.", field="partner")
    if ev.outcome == disclosure.Outcome.WITHHOLD:
        # Kept for the privacy record (who tried to ask whom about whom), though nothing else is written.
        disclosure.decision_record(stage=Decision.Stage.QUERY, evaluation=ev, ruleset=ruleset, answer=answer, person=person,
                                   partner_id=partner_code,
                                   justification=f"Asked by {actor.get_full_name() or actor.get_username()} for case "
                                                 f"{case.receipt_number}; refused, nothing was sent")
        raise QueryNotPermitted(disclosure.officer_reason(ev, partner, agreement) + " Nothing was sent.", field="partner",
                                code="not_permitted")
    status = {disclosure.Outcome.SHARE: QueryStatus.SUBMITTED, disclosure.Outcome.REFER: QueryStatus.HELD_PRIVACY,
              disclosure.Outcome.NO_DECISION: QueryStatus.HELD_CIS}[ev.outcome]
    try:
        with transaction.atomic():
            query = InternationalQuery.objects.create(
                query_ref=_new_query_ref(), case=case, person=person, partner_id=partner_code, agreement=agreement,
                reason=reason, priority=priority, encounter_id=encounter_id, requestor=actor, status=status,
                submission_key=submission_key or None,
                next_screen_at=timezone.now() if status == QueryStatus.HELD_CIS else None,
            )
            disclosure.decision_record(stage=Decision.Stage.QUERY, evaluation=ev, ruleset=ruleset, answer=answer, query=query)
            if status == QueryStatus.SUBMITTED:
                _send_round1(query, agreement=agreement)
                QUERY_WORKFLOW.start(query, actor=actor, reason="The officer submitted the query; it was sent.")
            else:
                QUERY_WORKFLOW.start(query, actor=actor, reason=f"Held before sending. {_summary(ev)}"[:300])
                if status == QueryStatus.HELD_PRIVACY:
                    _refer_to_privacy(query)
    except IntegrityError:
        if submission_key:  # a concurrent double submit won the race
            existing = InternationalQuery.objects.get(requestor=actor, submission_key=submission_key)
            return _same_submission(existing, case=case, partner_code=partner_code, reason=reason, priority=priority)
        raise
    return query  # a query held for CIS is asked about again by the beat sweep (rescreen_due)


def _summary(ev) -> str:
    """The rules' reasons as sentences, for the query's history (the privacy officer's timeline shows it)."""
    return " ".join(f"{r['why'].rstrip('.')}." for r in ev.reasons if r["why"])[:250]


def _send_round1(query: InternationalQuery, *, agreement: Agreement) -> QueryRound:
    """`query.submit` into the outbox with its accounting, in the caller's transaction."""
    now = timezone.now()
    body = {
        "query_ref": query.query_ref,
        "fin": query.person.fin,
        "reason": query.reason,
        "priority": query.priority,
        "requestor": _contact(query.requestor),
        "requested_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if query.encounter_id:
        body["encounter_id"] = query.encounter_id
    outbox = outbox_enqueue(message_type="query.submit", partner=query.partner_id, body=body, ref=query.query_ref)
    disclosure.disclosure_record(
        person=query.person, partner=query.partner, agreement=agreement, outbox_message=outbox, disclosed_at=now,
        nature="USCIS fingerprint query: the person's fingerprints, through IDENT, by FIN",
        data_elements=["fin", "fingerprints", "reason"] + (["encounter_id"] if query.encounter_id else []),
        purpose=f"Case {query.case.receipt_number}: {REASON_LABELS.get(query.reason, query.reason)}",
        recipient=f"{query.partner.name} through DHS IDENT", reference=query.query_ref, disclosed_by=query.requestor,
    )
    return QueryRound.objects.create(query=query, number=1, outbox_message=outbox, requested_by=query.requestor, started_at=now)


def _refer_to_privacy(query: InternationalQuery) -> None:
    notify(Role.PRIVACY_OFFICER, f"Case {query.case.receipt_number} ({query.person}): query {query.query_ref} to "
           f"{query.partner.name} is held and waits for your decision before anything is sent.", to=("privacy-held-query", query.pk))


def _notify_officer_of_hold(query: InternationalQuery, message: str) -> None:
    notify([query.requestor_id], f"Case {query.case.receipt_number} ({query.person}): {message}", to=("query-detail", query.pk))


def query_rescreen(query_id: int) -> str:
    """A query held for CIS: ask again. Sent when the rules now allow it, referred or withheld when they say so, held
    again while CIS still cannot answer; after PCQS_REFER_AFTER_HOURS a privacy officer decides. Idempotent."""
    query = InternationalQuery.objects.select_related("person", "partner").get(pk=query_id)
    if query.status != QueryStatus.HELD_CIS:
        return query.status
    answer = disclosure.lookup_cis(query.person)
    ev, ruleset, agreement = disclosure.query_decision(person=query.person, partner_code=query.partner_id, answer=answer)
    with transaction.atomic():
        locked = InternationalQuery.objects.select_for_update(of=("self",)).select_related("person", "partner", "case").get(pk=query_id)
        if locked.status != QueryStatus.HELD_CIS:
            return locked.status
        outcome = ev.outcome
        if outcome == disclosure.Outcome.NO_DECISION:
            if timezone.now() - locked.created_at < timedelta(hours=settings.PCQS_REFER_AFTER_HOURS):
                audited_update(InternationalQuery, locked.pk,
                               next_screen_at=timezone.now() + timedelta(seconds=settings.PCQS_RETRY_SECONDS))
                return locked.status  # the sweep asks again
            ev.add("", "refer", "", f"CIS gave no decision for {settings.PCQS_REFER_AFTER_HOURS:g} hours")
            outcome = disclosure.Outcome.REFER
        if agreement is None:
            outcome = disclosure.Outcome.WITHHOLD
        disclosure.decision_record(stage=Decision.Stage.QUERY, evaluation=ev, ruleset=ruleset, answer=answer, query=locked,
                                   outcome=outcome)
        if outcome == disclosure.Outcome.SHARE:
            _send_round1(locked, agreement=agreement)
            transition(locked, QueryStatus.SUBMITTED, reason="CIS confirmed that the query may be sent; it was sent.")
            _notify_officer_of_hold(locked, f"Query {locked.query_ref} to {locked.partner.name} was held for CIS and has now been sent.")
        elif outcome == disclosure.Outcome.REFER:
            transition(locked, QueryStatus.HELD_PRIVACY, reason=_summary(ev))
            _refer_to_privacy(locked)
        else:
            transition(locked, QueryStatus.WITHHELD, reason=_summary(ev))
            _notify_officer_of_hold(locked, f"Query {locked.query_ref} was not sent: "
                                    + disclosure.officer_reason(ev, locked.partner, agreement))
    return locked.status


def rescreen_due(*, limit: int = 100) -> int:
    """Queries held for CIS that are due another look (the beat sweep)."""
    ids = list(InternationalQuery.objects.filter(status=QueryStatus.HELD_CIS, next_screen_at__lte=timezone.now())
               .order_by("next_screen_at").values_list("pk", flat=True)[:limit])
    for pk in ids:
        query_rescreen(pk)
    return len(ids)


def query_referral_resolve(*, actor, query: InternationalQuery, outcome: str, justification: str):
    """A privacy officer decides a held query: share (it is sent now, under a fresh check that no floor forbids it)
    or withhold (it is never sent; the officer is told). The decision and its reason are kept."""
    try:
        review = review_check(actor=actor, outcome=outcome, justification=justification, person=query.person,
                              partner_code=query.partner_id, direction="query", what="held query")
    except ScreeningRefused as exc:
        raise QueryError(exc.message, field=exc.field, code=exc.code) from exc
    justification = review.justification
    with transaction.atomic():
        locked = InternationalQuery.objects.select_for_update(of=("self",)).select_related("person", "partner", "case").get(pk=query.pk)
        if not query_can_resolve(locked):
            raise QueryError(f"This query is '{QueryStatus(locked.status).label}', not waiting for a privacy officer.",
                             code="wrong_state")
        decision = review_record(review, actor=actor, query=locked)
        if outcome == disclosure.Outcome.SHARE:
            _send_round1(locked, agreement=review.agreement)
            transition(locked, QueryStatus.SUBMITTED, actor=actor, reason=f"A privacy officer cleared it: {justification}"[:300])
            _notify_officer_of_hold(locked, f"A privacy officer cleared query {locked.query_ref}: it has been sent to "
                                    f"{locked.partner.name}.")
        else:
            transition(locked, QueryStatus.WITHHELD, actor=actor, reason=f"A privacy officer withheld it: {justification}"[:300])
            _notify_officer_of_hold(locked, f"A privacy officer decided query {locked.query_ref} to {locked.partner.name} "
                                    "may not be sent. Nothing was sent.")
    query.status = locked.status
    return decision


def _same_submission(existing: InternationalQuery, *, case, partner_code: str, reason: str, priority: str) -> InternationalQuery:
    """A repeated submit returns the first query; the same key for a different query is a client's mistake."""
    if (existing.case_id, existing.partner_id, existing.reason, existing.priority) != (case.pk, partner_code, reason, priority):
        raise QueryError("This Idempotency-Key (or form) was already used for a different query "
                         f"({existing.query_ref}). Use a new key for a new query.", code="idempotency_mismatch")
    return existing


def icd_encounter_ok(value: str) -> bool:
    import re

    return bool(re.fullmatch(r"[A-Z0-9-]{6,40}", value))


def _contact(user) -> dict:
    contact = {"name": (user.get_full_name() or user.get_username())[:200], "organization": "USCIS"}
    if user.email:
        contact["email"] = user.email
    return contact


def query_request_round3(*, actor, query: InternationalQuery, requested_items: list[str], justification: str) -> QueryRound:
    """Round 3: the officer asks the partner for more. A fourth round is refused and nothing is sent (ICD §3)."""
    if not can_act_on_case(actor, query.case):
        raise QueryError("Only an officer assigned to this case can ask the partner for more.", code="forbidden")
    try:
        items, justification = what_to_ask(requested_items, justification)
    except ScreeningRefused as exc:
        raise QueryError(exc.message, field=exc.field, code=exc.code) from exc
    _check_round3_allowed(query)  # before asking CIS; checked again under the lock
    try:
        screening = screen_or_refuse(kind=ScreeningKind.FOLLOWUP, person=query.person, partner=query.partner, subject=query,
                                     actor=actor, query=query)
    except ScreeningRefused as exc:
        raise QueryNotPermitted(exc.message, code=exc.code) from exc
    agreement = screening.agreement
    with transaction.atomic():
        locked = InternationalQuery.objects.select_for_update(of=("self",)).select_related("person", "partner", "case").get(pk=query.pk)
        _check_round3_allowed(locked)
        disclosure.decision_record(stage=Decision.Stage.FOLLOWUP, query=locked, outcome=screening.outcome, **screening.evidence)
        outbox = outbox_enqueue(
            message_type="query.followup",
            partner=locked.partner_id,
            body={"query_ref": locked.query_ref, "round": 3, "requested_items": items, "justification": justification},
            ref=locked.query_ref,
        )
        disclosure.disclosure_record(
            person=locked.person, partner=locked.partner, agreement=agreement, outbox_message=outbox,
            nature="USCIS round-3 follow-up on a match: the items requested and why",
            data_elements=["requested_items", "justification"],
            purpose=f"Case {locked.case.receipt_number}: more on the person the partner matched "
                    f"({', '.join(REQUESTED_ITEM_LABELS.get(i, i) for i in items)})",
            recipient=f"{locked.partner.name} through DHS IDENT", reference=locked.query_ref, disclosed_by=actor,
        )
        rnd = QueryRound.objects.create(
            query=locked, number=3, outbox_message=outbox, requested_items=items, justification=justification,
            requested_by=actor, started_at=timezone.now(),
        )
        transition(locked, QueryStatus.AWAITING_ROUND3, actor=actor, reason="The officer asked for a third round.")
    query.status = locked.status
    return rnd


def round3_refusal(query: InternationalQuery) -> QueryError | None:
    """Why round 3 cannot be asked of this query now, or None. The one place it is worded: the round-3 page asks
    before it offers the form, the service asks before CIS and again under the lock."""
    if query.rounds.count() >= MAX_ROUNDS:
        return RoundLimitReached(
            "This query has already had its three rounds; a partner can be asked at most three times per query (ICD §3).",
            code="round_limit",
        )
    if not query_can_ask_round3(query):
        return QueryError(
            f"A third round can be asked only after the partner's round-2 response; this query is "
            f"'{QueryStatus(query.status).label}'.",
            code="wrong_state",
        )
    return None


def _check_round3_allowed(query: InternationalQuery) -> None:
    refusal = round3_refusal(query)
    if refusal is not None:
        raise type(refusal)(f"{refusal.message} Nothing was sent.", code=refusal.code)


def query_close(*, actor, query: InternationalQuery, reason: str = "") -> InternationalQuery:
    if not can_act_on_case(actor, query.case):
        raise QueryError("Only an officer assigned to this case can close its queries.", code="forbidden")
    with transaction.atomic():
        locked = InternationalQuery.objects.select_for_update().get(pk=query.pk)
        if locked.status == QueryStatus.CLOSED:
            raise QueryError(f"Query {locked.query_ref} is already closed.", code="wrong_state")
        if not query_can_close(locked):
            raise QueryError(f"This query is '{QueryStatus(locked.status).label}' and cannot be closed now; reload the page.",
                             code="wrong_state")
        return transition(locked, QueryStatus.CLOSED, actor=actor, reason=reason or "The officer closed the query.")
