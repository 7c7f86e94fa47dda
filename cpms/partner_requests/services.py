"""The only code that writes partner requests: intake, the protected-status check, the answer, augmentation."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cpms.audit.services import audited_update
from cpms.core.errors import DomainError
from cpms.cis.pcqs import CisAnswer
from cpms.core.models import Agreement, Notification, Person
from cpms.core.notifications import notify
from cpms.core.labels import REQUESTED_ITEM_LABELS
from cpms.core.roles import Role, has_role
from cpms.disclosure.models import Decision, RuleSet
from cpms.disclosure import services as disclosure
from cpms.disclosure.screening import (ScreeningKind, ScreeningRefused, review_check, review_record, screen_or_refuse,
                                       what_to_ask)
from cpms.disclosure.rules import Evaluation, Outcome
from cpms.queries.models import Match, PartnerResponse
from ident_bridge import icd
from ident_bridge.models import OutboxMessage
from ident_bridge.outbox import outbox_enqueue
from ident_bridge.publish import on_commit_publish

from .models import Augmentation, PartnerRequest
from .normalise import normalise_subject
from .permissions import requests_visible_to
from .ports import case_desk
from .workflow import AUGMENTABLE, WORKFLOW, RequestStatus, request_can_resolve, transition

log = logging.getLogger(__name__)




class RequestError(DomainError):
    pass


# --- intake ------------------------------------------------------------------------------------------------


def request_record_received(*, message: dict, inbound) -> PartnerRequest:
    """`request.received`: keep it as received and normalised, link the USCIS person by FIN, then check."""
    body = message["body"]
    subject, errors = normalise_subject(body["template"], body["subject"])
    if errors:  # refused at receipt already; a stored message failing here is corrupt
        raise ValueError("; ".join(f"{e.pointer}: {e.detail}" for e in errors))
    person = Person.objects.filter(fin=body["fin"]).first()
    req = PartnerRequest.objects.create(
        partner_id=message["partner"],
        request_ref=body["request_ref"],
        inbound_message=inbound,
        template=body["template"],
        subject_as_received=body["subject"],
        subject=subject,
        requestor=body["requestor"],
        requested_at=parse_datetime(body["requested_at"]),
        reason=body["reason"],
        priority=body["priority"],
        fin=body["fin"],
        encounter_id=body["encounter_id"],
        requested_items=body["requested_items"],
        person=person,
    )
    WORKFLOW.start(req, reason="Received through IDENT.")
    if person is not None:
        Match.objects.create(
            source=Match.Source.USCIS_SOURCED, partner_id=req.partner_id, partner_request=req, person=person,
            partner_person_id=subject.get("partner_person_id", ""),
            biographic={k: v for k, v in subject.items() if k in icd.IDENTITY_ELEMENTS},
            inbound_message=inbound,
        )
    from .tasks import request_check_task

    on_commit_publish(request_check_task.delay, req.pk)
    return req


def reference_errors(message: dict) -> list[icd.ICDError]:
    """What the schema lets through but CPMS must refuse (400): impossible dates, a request_ref seen before (in a
    request processed or only stored: a partial unique index backs this up for two that arrive at once)."""
    from ident_bridge.models import InboundMessage

    body = message["body"]
    _, errors = normalise_subject(body["template"], body["subject"])
    seen = (PartnerRequest.objects.filter(partner_id=message["partner"], request_ref=body["request_ref"]).exists()
            or InboundMessage.objects.filter(type="request.received", partner=message["partner"], ref=body["request_ref"])
            .exclude(message_id=message["message_id"]).exists())
    if seen:
        errors.append(icd.ICDError("/body/request_ref", "was already received from this partner in another message"))
    return errors


def augment_reference_errors(message: dict) -> list[icd.ICDError]:
    """A partner's answer to an augmentation CPMS did not send to it is answered 400 (ICD §3)."""
    exists = Augmentation.objects.filter(augment_ref=message["body"]["augment_ref"],
                                         partner_request__partner_id=message["partner"]).exists()
    return [] if exists else [icd.ICDError("/body/augment_ref", "is not an augmentation request CPMS sent to this partner")]


# --- the protected-status check ----------------------------------------------------------------------------


def lookup_cis(person: Person | None) -> CisAnswer | None:
    return disclosure.lookup_cis(person)


def decide(req: PartnerRequest, answer: CisAnswer | None) -> tuple[Evaluation, RuleSet | None]:
    """The protected-status decision for this request (cpms.disclosure.services owns it)."""
    return disclosure.reply_decision(person=req.person, fin=req.fin, partner_code=req.partner_id, answer=answer)


def active_request_agreement(partner_code: str) -> Agreement | None:
    return disclosure.active_request_agreement(partner_code)


def request_check(request_id: int) -> str:
    """Check a received request and act on the outcome. Idempotent: a request already decided is left alone."""
    req = PartnerRequest.objects.select_related("person").get(pk=request_id)
    if req.status not in (RequestStatus.RECEIVED, RequestStatus.AWAITING_CIS):
        return req.status
    answer = lookup_cis(req.person)
    ev, ruleset = decide(req, answer)
    with transaction.atomic():
        req = PartnerRequest.objects.select_for_update(of=("self",)).select_related("person").get(pk=request_id)
        if req.status not in (RequestStatus.RECEIVED, RequestStatus.AWAITING_CIS):
            return req.status
        if ev.outcome == Outcome.NO_DECISION:
            return _wait_for_cis(req, ev, ruleset, answer)
        disclosure.decision_record(partner_request=req, stage=Decision.Stage.INTAKE, evaluation=ev, ruleset=ruleset, answer=answer)
        _apply(req, ev.outcome, actor=None, reason=_summary(ev))
    return req.status


def _summary(ev: Evaluation) -> str:
    """The rules' reasons as sentences, for the request's history (the privacy officer's timeline shows it)."""
    return " ".join(f"{r['why'].rstrip('.')}." for r in ev.reasons if r["why"])[:300]


def _wait_for_cis(req: PartnerRequest, ev: Evaluation, ruleset, answer) -> str:
    now = timezone.now()
    if now - req.received_at >= timedelta(hours=settings.PCQS_REFER_AFTER_HOURS):
        ev.add("", "refer", "", f"CIS gave no decision for {settings.PCQS_REFER_AFTER_HOURS:g} hours")
        disclosure.decision_record(partner_request=req, stage=Decision.Stage.INTAKE, evaluation=ev, ruleset=ruleset, answer=answer,
                                   outcome=Outcome.REFER)
        _apply(req, Outcome.REFER, actor=None, reason=_summary(ev))
        return req.status
    if req.status == RequestStatus.RECEIVED:
        disclosure.decision_record(partner_request=req, stage=Decision.Stage.INTAKE, evaluation=ev, ruleset=ruleset, answer=answer,
                                   outcome=Outcome.NO_DECISION)
        transition(req, RequestStatus.AWAITING_CIS, reason=_summary(ev))
    audited_update(PartnerRequest, req.pk, cis_attempts=req.cis_attempts + 1,
                   next_check_at=now + timedelta(seconds=settings.PCQS_RETRY_SECONDS))
    return RequestStatus.AWAITING_CIS


def _about(req: PartnerRequest) -> str:
    """What a notification about a partner's request names first: the partner, the request and the person."""
    person = str(req.person) if req.person_id else f"FIN {req.fin} (no USCIS record)"
    return f"{req.partner.name} request {req.request_ref} about {person}"


def _apply(req: PartnerRequest, outcome: str, *, actor, reason: str) -> None:
    """Act on a decision. A request whose transmission was stopped (its ICTS case `blocked`) keeps that one case:
    withholding closes it, sharing sends it again after a fresh check; a second case is never opened."""
    desk = case_desk()
    stopped = req.status == RequestStatus.REFERRED and hasattr(req, "icts_case")
    if outcome == Outcome.WITHHOLD:
        reply_no_match(req)
        transition(req, RequestStatus.ANSWERED_NO_MATCH, actor=actor, reason=reason)
        if stopped:
            desk.close_withheld(actor=actor, partner_request=req, reason=reason)
    elif outcome == Outcome.SHARE:
        transition(req, RequestStatus.IN_ICTS, actor=actor, reason=reason)
        if stopped:
            desk.resume_after_referral(actor=actor, partner_request=req)
        else:
            desk.open_case(partner_request=req)
    elif outcome == Outcome.REFER:
        transition(req, RequestStatus.REFERRED, actor=actor, reason=reason)
        notify(Role.PRIVACY_OFFICER, f"{_about(req)}: referred to a privacy officer, who decides whether it may be "
               f"shared. Why: {reason}", to=("privacy-referral", req.pk))
    else:
        raise ValueError(f"cannot apply outcome {outcome}")


def reply_no_match(req: PartnerRequest):
    """`request.reply` no_match. The one function for a genuine no match and a withholding alike, so the two are
    identical on the wire (ICD §3): only request_ref and outcome."""
    row = outbox_enqueue(message_type="request.reply", partner=req.partner_id,
                         body={"request_ref": req.request_ref, "outcome": "no_match"}, ref=req.request_ref)
    audited_update(PartnerRequest, req.pk, reply_message=row)
    req.reply_message = row
    return row


def recheck_due(*, limit: int = 100) -> int:
    """Requests waiting for CIS whose retry time has come, and received ones whose check task was lost."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.INBOUND_STALE_SECONDS)
    ids = list(PartnerRequest.objects.filter(status=RequestStatus.AWAITING_CIS, next_check_at__lte=now)
               .values_list("pk", flat=True)[:limit])
    ids += list(PartnerRequest.objects.filter(status=RequestStatus.RECEIVED, received_at__lte=stale).values_list("pk", flat=True)[:limit])
    for pk in ids:
        request_check(pk)
    return len(ids)


def referral_resolve(*, actor, req: PartnerRequest, outcome: str, justification: str) -> Decision:
    """A privacy officer decides a referred request. The statutory floors still apply: a person CIS shows as
    protected by 8 U.S.C. 1367, or who fears persecution in the partner's country, is never shared."""
    try:
        review = review_check(actor=actor, outcome=outcome, justification=justification, person=req.person, fin=req.fin,
                              partner_code=req.partner_id, direction="reply", what="referred request")
    except ScreeningRefused as exc:
        raise RequestError(exc.message, field=exc.field, code=exc.code) from exc
    with transaction.atomic():
        locked = PartnerRequest.objects.select_for_update().get(pk=req.pk)
        if not request_can_resolve(locked):
            raise RequestError(f"This request is '{RequestStatus(locked.status).label}', not waiting for a privacy officer.",
                               code="wrong_state")
        decision = review_record(review, actor=actor, partner_request=locked)
        _apply(locked, outcome, actor=actor, reason=f"A privacy officer decided: {review.justification}"[:300])
    req.status = locked.status
    return decision


# --- augmentation ------------------------------------------------------------------------------------------


def augmentation_request(*, actor, req: PartnerRequest, requested_items: list[str], justification: str) -> Augmentation:
    """`request.augment`: after a partner's request matched, ask that partner for more on the same person."""
    try:
        items, justification = what_to_ask(requested_items, justification)
    except ScreeningRefused as exc:
        raise RequestError(exc.message, field=exc.field, code=exc.code) from exc
    if not has_role(actor, Role.ICTS_ANALYST, Role.ICTS_REVIEWER, Role.PRIVACY_OFFICER) or \
            not requests_visible_to(actor).filter(pk=req.pk).exists():
        raise RequestError("Only the ICTS analysts and reviewers working on this request, or a privacy officer, can ask "
                           "the partner for more.", code="forbidden")
    if req.person_id is None:
        raise RequestError("This request matched no USCIS record; there is no one to augment.", code="wrong_state")
    _check_augmentable(req)  # before asking CIS; checked again under the lock
    try:
        # An augmentation tells the partner that USCIS holds this person and wants more: screened as our own query.
        screening = screen_or_refuse(kind=ScreeningKind.AUGMENT, person=req.person, partner=req.partner, subject=req,
                                     actor=actor, partner_request=req)
    except ScreeningRefused as exc:
        raise RequestError(exc.message, code=exc.code) from exc
    with transaction.atomic():
        locked = PartnerRequest.objects.select_for_update(of=("self",)).select_related("person", "partner").get(pk=req.pk)
        augmentation = _augment_locked(actor, locked, items, justification, agreement=screening.agreement)
        disclosure.decision_record(stage=Decision.Stage.AUGMENT, partner_request=locked, outcome=screening.outcome,
                                   **screening.evidence)
        return augmentation


def _check_augmentable(req: PartnerRequest) -> None:
    if req.status not in AUGMENTABLE:
        # Asking about a person we answered "no match" for (or have not cleared yet) would tell the partner
        # USCIS holds a record: the very thing a withholding hides (ICD §3).
        raise RequestError("The partner can be asked for more only once the request may be shared (an ICTS case or a "
                           "sent response): asking now would tell the partner that USCIS holds a record.",
                           code="wrong_state")


def _augment_locked(actor, req: PartnerRequest, items: list[str], justification: str, *, agreement) -> Augmentation:
    _check_augmentable(req)
    waiting = (req.augmentations.filter(answered_at__isnull=True)
               .exclude(outbox_message__status__in=[OutboxMessage.Status.REJECTED, OutboxMessage.Status.EXPIRED])
               .exclude(outbox_message__delivery_status=OutboxMessage.Delivery.REJECTED).first())
    if waiting is not None:
        # One question at a time: a double click, a resubmitted form or a colleague asking at the same moment
        # would otherwise put a second request to a foreign government.
        raise RequestError(f"{req.partner.name} has not yet answered augmentation {waiting.augment_ref} (asked "
                           f"{waiting.created_at:%-d %b %Y %H:%M} UTC). Ask again once it answers. Nothing was sent.",
                           code="wrong_state")
    augment_ref = f"USCIS-A-{timezone.now():%Y%m%d}-{secrets.token_hex(5).upper()}"
    row = outbox_enqueue(message_type="request.augment", partner=req.partner_id, ref=augment_ref, body={
        "request_ref": req.request_ref, "augment_ref": augment_ref, "requested_items": items, "justification": justification,
    })
    disclosure.disclosure_record(
        person=req.person, partner=req.partner, agreement=agreement, outbox_message=row,
        nature="USCIS augmentation request: the items requested and why, about the person the partner's request matched",
        data_elements=["requested_items", "justification"],
        purpose=f"Partner's request {req.request_ref}: more on the person "
                f"({', '.join(REQUESTED_ITEM_LABELS.get(i, i) for i in items)})",
        recipient=f"{req.partner.name} through DHS IDENT", reference=augment_ref, disclosed_by=actor,
    )
    return Augmentation.objects.create(partner_request=req, augment_ref=augment_ref, requested_items=items,
                                       justification=justification, requested_by=actor, outbox_message=row)


def augmentation_record_response(*, message: dict, inbound) -> PartnerResponse:
    from cpms.queries.services import store_attachments
    from ident_bridge.inbound import Ignored

    body = message["body"]
    aug = Augmentation.objects.select_for_update().get(augment_ref=body["augment_ref"], partner_request__partner_id=message["partner"])
    if aug.answered_at is not None:
        raise Ignored(f"augmentation {aug.augment_ref} is already answered")
    response = PartnerResponse.objects.create(
        augmentation=aug, responder=body["responder"], responded_at=parse_datetime(body["responded_at"]),
        person=body["person"], inbound_message=inbound,
    )
    store_attachments(response, message)
    aug.answered_at = timezone.now()
    aug.save(update_fields=["answered_at"])
    notify([aug.requested_by_id], f"{_about(aug.partner_request)}: {aug.partner_request.partner.name} answered "
           f"augmentation {aug.augment_ref}.", kind=Notification.Kind.RESPONSE, to=("partner-request", aug.partner_request_id))
    return response


def augmentation_record_failure(*, outbox) -> None:
    """Our `request.augment` was refused by IDENT, rejected by the partner or given up: its requester is told."""
    aug = Augmentation.objects.filter(outbox_message=outbox).select_related("partner_request").first()
    if aug is None:
        return
    notify([aug.requested_by_id], f"{_about(aug.partner_request)}: augmentation {aug.augment_ref} did not reach "
           f"{aug.partner_request.partner.name} ({outbox.get_status_display().lower()}). You can ask again.",
           kind=Notification.Kind.FAILED, to=("partner-request", aug.partner_request_id))


# --- entry points for the case desk (icts): every RequestStatus move is made here -------------------------------


def augmentation_answers_read(request, req: PartnerRequest) -> None:
    """The ICTS case page shows the augmentation answers: each read is recorded (cpms.audit)."""
    from .permissions import record_augmentation_reads

    record_augmentation_reads(request, req)



def request_record_transmitted(req: PartnerRequest, *, case_number: str, reply_message: OutboxMessage) -> None:
    """The response was stored and put in the outbox with its accounting: the request is answered."""
    audited_update(PartnerRequest, req.pk, reply_message=reply_message)
    transition(req, RequestStatus.ANSWERED, reason=f"The response {case_number} was sent.")


def request_record_blocked(req: PartnerRequest, *, why: str, case_number: str) -> None:
    """Transmission stopped (protected status changed): a privacy officer decides, as for any referral."""
    transition(req, RequestStatus.REFERRED, reason=why)
    notify(Role.PRIVACY_OFFICER, f"{_about(req)}: transmission of the response {case_number} was stopped; decide whether "
           f"it may still be sent. {why}", to=("privacy-referral", req.pk))
