"""The only code that writes international queries. Every state change goes through workflow.transition()."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cpms.audit.services import audited_update
from cpms.core.errors import DomainError
from cpms.core.files import store_content_addressed
from cpms.core.labels import REASON_LABELS, REQUESTED_ITEM_LABELS
from cpms.core.models import Agreement, BenefitCase, Notification, Partner
from cpms.core.notifications import notify_role, notify_users
from cpms.core.permissions import can_act_on_case
from cpms.disclosure import services as disclosure
from cpms.disclosure.services import Decision
from cpms.core.roles import Role, has_role
from ident_bridge import icd
from ident_bridge.outbox import outbox_enqueue

from .models import MAX_ROUNDS, FdnsReferral, InternationalQuery, Match, PartnerResponse, QueryRound, ResponseAttachment
from .permissions import referral_grant, referral_revoke_grant
from .workflow import WORKFLOW as QUERY_WORKFLOW
from .workflow import QueryStatus, query_can_ask_round3, query_can_close, query_can_resolve, transition


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
    notify_role(Role.PRIVACY_OFFICER, f"Case {query.case.receipt_number} ({query.person}): query {query.query_ref} to "
                f"{query.partner.name} is held and waits for your decision before anything is sent.", url=f"/privacy/queries/{query.pk}/")


def _notify_officer_of_hold(query: InternationalQuery, message: str) -> None:
    notify_users([query.requestor_id], f"Case {query.case.receipt_number} ({query.person}): {message}", kind=Notification.Kind.ACTION,
                 url=f"/queries/{query.pk}/")


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
    if not has_role(actor, Role.PRIVACY_OFFICER):
        raise QueryError("Only a privacy officer can decide a held query.", code="forbidden")
    if outcome not in (disclosure.Outcome.SHARE, disclosure.Outcome.WITHHOLD):
        raise QueryError("Choose share or withhold.", field="outcome")
    justification = (justification or "").strip()
    if not justification:
        raise QueryError("Record why: the decision and its reason are kept for the privacy record.", field="justification")
    answer = disclosure.lookup_cis(query.person)
    ev, ruleset, agreement = disclosure.query_decision(person=query.person, partner_code=query.partner_id, answer=answer)
    if outcome == disclosure.Outcome.SHARE and (agreement is None or ev.outcome == disclosure.Outcome.WITHHOLD):
        raise QueryError("This query may not be sent whatever the review: " + _summary(ev), field="outcome", code="floor")
    with transaction.atomic():
        locked = InternationalQuery.objects.select_for_update(of=("self",)).select_related("person", "partner", "case").get(pk=query.pk)
        if not query_can_resolve(locked):
            raise QueryError(f"This query is '{QueryStatus(locked.status).label}', not waiting for a privacy officer.",
                             code="wrong_state")
        review = disclosure.Evaluation(outcome)
        review.add("", outcome, "", justification)
        decision = disclosure.decision_record(stage=Decision.Stage.PRIVACY_REVIEW, evaluation=review, ruleset=ruleset,
                                              answer=answer, query=locked, actor=actor, justification=justification)
        if outcome == disclosure.Outcome.SHARE:
            _send_round1(locked, agreement=agreement)
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
    items = list(dict.fromkeys(requested_items or []))
    if not items:
        raise QueryError("Choose at least one item to request.", field="requested_items")
    unknown = [i for i in items if i not in icd.REQUESTED_ITEMS]
    if unknown:
        raise QueryError(f"Not items a partner can be asked for: {', '.join(unknown)}.", field="requested_items")
    justification = (justification or "").strip()
    if not justification:
        raise QueryError("Say why the additional information is needed.", field="justification")
    if len(justification) > 4000:
        raise QueryError("Keep the justification under 4,000 characters.", field="justification")
    _check_round3_allowed(query)  # before asking CIS; checked again under the lock
    agreement, screening = _screen_followup(actor, query)
    with transaction.atomic():
        locked = InternationalQuery.objects.select_for_update(of=("self",)).select_related("person", "partner", "case").get(pk=query.pk)
        _check_round3_allowed(locked)
        disclosure.decision_record(stage=Decision.Stage.FOLLOWUP, query=locked, **screening)
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


def _screen_followup(actor, query: InternationalQuery) -> tuple[Agreement, dict]:
    """Round 3 tells the partner more about why USCIS wants this person: screened like the query itself. A referral
    is satisfied by the privacy officer's clearance of this query while CIS's answer is unchanged since."""
    answer = disclosure.lookup_cis(query.person)
    ev, ruleset, agreement = disclosure.query_decision(person=query.person, partner_code=query.partner_id, answer=answer)
    screening = {"evaluation": ev, "ruleset": ruleset, "answer": answer}
    if agreement is not None and ev.outcome == disclosure.Outcome.REFER:
        clearance = disclosure.latest_privacy_clearance(query)
        if clearance is not None and not disclosure.cis_answer_changed(answer, clearance):
            return agreement, screening | {"outcome": disclosure.Outcome.SHARE}
    if agreement is not None and ev.outcome == disclosure.Outcome.SHARE:
        return agreement, screening
    disclosure.decision_record(stage=Decision.Stage.FOLLOWUP, query=query, **screening,
                               justification=f"Round 3 asked by {actor.get_full_name() or actor.get_username()}; refused")
    raise QueryNotPermitted(disclosure.officer_reason(ev, query.partner, agreement, held=False) + " Round 3 was not sent.",
                            code="not_permitted")


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


# --- inbound: the partner's answers (called by ident_bridge.routing inside the processing transaction) ----


def inbound_reference_errors(message: dict) -> list[icd.ICDError]:
    """ICD §3 at receipt: a result or response for a query CPMS did not send to this partner is answered 400."""
    exists = InternationalQuery.objects.filter(query_ref=message["body"]["query_ref"], partner_id=message["partner"]).exists()
    return [] if exists else [icd.ICDError("/body/query_ref", "is not a query CPMS sent to this partner")]


def _query_for_message(message: dict) -> InternationalQuery:
    return InternationalQuery.objects.select_for_update().get(query_ref=message["body"]["query_ref"], partner_id=message["partner"])


def round1_record_result(*, message: dict, inbound) -> InternationalQuery:
    """`query.result`: no_match ends the query; a match stores the minimal identity data and opens round 2."""
    from ident_bridge.inbound import Ignored

    body = message["body"]
    query = _query_for_message(message)
    rnd = query.rounds.get(number=1)
    if rnd.answered_at is not None:
        raise Ignored(f"round 1 of {query.query_ref} already has its result")
    if query.status != QueryStatus.SUBMITTED:
        raise Ignored(f"{query.query_ref} is '{query.status}', not waiting for a result")
    now = timezone.now()
    rnd.answered_at = now
    rnd.outcome = body["outcome"]
    rnd.save(update_fields=["answered_at", "outcome"])
    _clear_overdue(query)
    if body["outcome"] == "no_match":
        transition(query, QueryStatus.NO_MATCH, reason=f"{query.partner.name} found no match.")
        _notify(query, Notification.Kind.RESPONSE, f"{query.partner.name}: no match for {query.query_ref}.")
        return query
    biographic = {k: v for k, v in body["biographic"].items() if k in icd.IDENTITY_ELEMENTS}
    Match.objects.create(partner=query.partner, query=query, partner_person_id=body["partner_person_id"], biographic=biographic,
                         inbound_message=inbound)
    # IDENT sends the second query by itself after a match (second_query_sent): round 2 starts now.
    QueryRound.objects.create(query=query, number=2, started_at=now, requested_items=[])
    transition(query, QueryStatus.AWAITING_ROUND2, reason=f"{query.partner.name} reported a match; IDENT sent the second query (round 2).")
    _notify(query, Notification.Kind.RESPONSE, f"{query.partner.name} reports a match for {query.query_ref}.")
    return query


def round_record_response(*, message: dict, inbound) -> PartnerResponse:
    """`query.response` for round 2 or 3: store the partner's data and attachments (sha256 already verified)."""
    from ident_bridge.inbound import Ignored, NotReady

    body = message["body"]
    number = body["round"]
    query = _query_for_message(message)
    rnd = query.rounds.filter(number=number).first()
    if rnd is None:
        if number == 2 and query.status == QueryStatus.SUBMITTED:
            # IDENT's round 2 overtook the round-1 result (retries reorder): process it after the result.
            raise NotReady(f"round 2 of {query.query_ref} arrived before its round-1 result")
        raise Ignored(f"{query.query_ref} has no round {number}")
    if hasattr(rnd, "response"):
        raise Ignored(f"round {number} of {query.query_ref} is already answered")
    expected = QueryStatus.AWAITING_ROUND2 if number == 2 else QueryStatus.AWAITING_ROUND3
    if query.status != expected:
        raise Ignored(f"{query.query_ref} is '{query.status}', not waiting for round {number}")
    response = PartnerResponse.objects.create(
        query=query,
        round=rnd,
        responder=body["responder"],
        responded_at=_parse_dt(body["responded_at"]),
        person=body["person"],
        inbound_message=inbound,
    )
    store_attachments(response, message)
    rnd.answered_at = timezone.now()
    rnd.outcome = "response"
    rnd.save(update_fields=["answered_at", "outcome"])
    transition(query, QueryStatus.RESPONDED if number == 2 else QueryStatus.COMPLETED, reason=f"{query.partner.name} answered round {number}.")
    _clear_overdue(query)
    _notify(query, Notification.Kind.RESPONSE, f"{query.partner.name} answered round {number} of {query.query_ref}.")
    return response


def store_attachments(response: PartnerResponse, message: dict) -> None:
    """Write a received message's attachments (already verified at receipt) beside their response."""
    decoded, errors = icd.decode_attachments(message)
    if errors:  # checked at receipt; a stored message that fails now is corrupt
        raise ValueError("stored message has invalid attachments: " + "; ".join(e.detail for e in errors))
    for position, att in enumerate(decoded):
        row = ResponseAttachment(
            response=response, position=position, filename=att.filename, media_type=att.media_type, kind=att.kind,
            sha256=att.sha256, size=len(att.data),
        )
        row.file.name = store_content_addressed(row.file.field.generate_filename(row, att.sha256), att.data)
        row.save()


def _parse_dt(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not an RFC 3339 date-time: {value}")
    return parsed


def query_record_outbound_failure(*, outbox) -> None:
    """IDENT refused our query message (4xx), the partner rejected it, or we gave up retrying: the query fails."""
    rnd = QueryRound.objects.filter(outbox_message=outbox).select_related("query").first()
    if rnd is None:
        return
    query = rnd.query
    if query.status in (QueryStatus.SUBMITTED, QueryStatus.AWAITING_ROUND2, QueryStatus.AWAITING_ROUND3):
        failure = (outbox.get_delivery_status_display() if outbox.delivery_status == outbox.Delivery.REJECTED
                   else outbox.get_status_display())
        transition(query, QueryStatus.FAILED, reason=f"The round-{rnd.number} message failed ({failure.lower()}): "
                   f"{outbox.last_error or outbox.delivery_detail}"[:300])
        _notify(query, Notification.Kind.FAILED,
                f"{query.query_ref}: IDENT did not accept the round-{rnd.number} message. An administrator has the details.")


# --- overdue -----------------------------------------------------------------------------------------------


def flag_overdue_rounds(*, now=None) -> int:
    """Flag queries whose current round has had no answer for QUERY_ROUND_OVERDUE_HOURS; tell the officers."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.QUERY_ROUND_OVERDUE_HOURS)
    ids = list(
        QueryRound.objects.filter(answered_at__isnull=True, started_at__lt=cutoff, query__overdue_since__isnull=True)
        .values_list("query_id", flat=True)[:1000]
    )
    flagged = 0
    for query in InternationalQuery.objects.filter(pk__in=ids).select_related("partner"):
        with transaction.atomic():
            locked = InternationalQuery.objects.select_for_update().filter(pk=query.pk, overdue_since__isnull=True).first()
            if locked is not None:
                audited_update(InternationalQuery, query.pk, overdue_since=now)
                flagged += 1
                _notify(query, Notification.Kind.OVERDUE,
                        f"{query.query_ref}: {query.partner.name} has not answered for {settings.QUERY_ROUND_OVERDUE_HOURS:g} hours.")
    return flagged


def _clear_overdue(query: InternationalQuery) -> None:
    if query.overdue_since:
        audited_update(InternationalQuery, query.pk, overdue_since=None)
        query.overdue_since = None


def _notify(query: InternationalQuery, kind: str, message: str) -> None:
    """The case's officers are told, with the case and the person the message is about."""
    user_ids = set(query.case.assigned_officers.values_list("pk", flat=True)) | {query.requestor_id}
    message = f"Case {query.case.receipt_number} ({query.person}): {message}"
    Notification.objects.bulk_create(Notification(user_id=uid, kind=kind, message=message[:300], query=query) for uid in sorted(user_ids))


# --- FDNS referrals -------------------------------------------------------------------------------------------

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
        Notification.objects.create(user=analyst, kind=Notification.Kind.ACTION, url=f"/queries/{query.pk}/",
                                    message=f"Case {query.case.receipt_number} ({query.person}): "
                                            f"{actor.get_full_name() or actor.get_username()} referred the results of query "
                                            f"{query.query_ref} ({query.partner.name}) to you until {referral.expires_at:%Y-%m-%d}."[:300])
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
