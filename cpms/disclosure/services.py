"""The protected-status decision (asking CIS through PCQS, applying the rules) and the rule sets' versions.

Partner requests (intake and a privacy officer's review) and ICTS transmission all decide here. A published rule
set is never edited: changing the rules means publishing a new version.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from cpms.audit.services import audited_update
from cpms.cis.pcqs import CisAnswer, PcqsUnavailable, get_pcqs
from cpms.core.models import Agreement, Partner, Person

from .models import Decision, DisclosureRecord, Rule, RuleSet, delivery_may_move
from .rules import Direction, Evaluation, Outcome, evaluate

__all__ = ["Outcome", "Evaluation", "Decision", "DisclosureRecord", "Direction"]  # the vocabulary callers use

log = logging.getLogger(__name__)


def active_request_agreement(partner_code: str) -> Agreement | None:
    """The agreement version in force that lets this partner ask USCIS for information."""
    return (Agreement.objects.active().filter(partner_id=partner_code, allows_partner_requests=True)
            .order_by("-effective_from", "-version").first())


def active_query_agreement(partner_code: str) -> Agreement | None:
    """The agreement version in force that lets USCIS query this partner."""
    return (Agreement.objects.active().filter(partner_id=partner_code, allows_uscis_queries=True)
            .order_by("-effective_from", "-version").first())


def _active_ruleset() -> RuleSet | None:
    return RuleSet.objects.filter(is_active=True).prefetch_related("rules").first()


def lookup_cis(person: Person | None) -> CisAnswer | None:
    """Ask CIS through PCQS. None when PCQS does not answer. Never inside a transaction (network)."""
    if person is None:
        return None
    if not person.a_number:
        return CisAnswer(a_number="", known=False, complete=False)
    try:
        return get_pcqs().lookup(person.a_number)
    except PcqsUnavailable as exc:
        log.warning("PCQS unavailable for %s: %s", person.a_number, exc)
        return None


def reply_decision(*, person, fin: str, partner_code: str, answer: CisAnswer | None) -> tuple[Evaluation, RuleSet | None]:
    """May this person's information go to this partner in reply to its request? Unknown people and partners outside
    their agreement are withheld first; then the active rule set, under the statutory floors of evaluate()."""
    if person is None:
        ev = Evaluation(Outcome.WITHHOLD)
        ev.add("", "withhold", "", f"FIN {fin} matches no USCIS record")
        return ev, None
    agreement = active_request_agreement(partner_code)
    if agreement is None:
        ev = Evaluation(Outcome.WITHHOLD)
        ev.add("", "withhold", "", f"no active agreement allows requests from {partner_code}")
        return ev, None
    return _evaluate(answer=answer, partner_code=partner_code, agreement=agreement, direction=Direction.REPLY)


def _evaluate(*, answer, partner_code: str, agreement: Agreement, direction: str,
              ruleset: RuleSet | None | bool = False) -> tuple[Evaluation, RuleSet | None]:
    if ruleset is False:
        ruleset = _active_ruleset()
    # With no active rule set every class is referred, but the statutory floors inside evaluate() still hold.
    ev = evaluate(answer=answer, partner=partner_code, asylum_authorised=agreement.asylum_disclosure_authorised,
                  rules=ruleset.specs() if ruleset else [], direction=direction)
    if ruleset is None and ev.outcome == Outcome.SHARE and answer and answer.classes:
        ev.outcome = Outcome.REFER
    return ev, ruleset


def query_decision(*, person, partner_code: str, answer: CisAnswer | None,
                   ruleset: RuleSet | None | bool = False) -> tuple[Evaluation, RuleSet | None, Agreement | None]:
    """May USCIS send this partner a message about this person (a query, round 3, an augmentation)? Asking tells the
    partner that USCIS holds the person and why, so it is screened like a reply: no agreement in force, a feared
    country or a protected class the rules do not clear means nothing is sent."""
    agreement = active_query_agreement(partner_code)
    if agreement is None:
        ev = Evaluation(Outcome.WITHHOLD)
        ev.add("", "withhold", "", f"no agreement in force allows USCIS queries to {partner_code}")
        return ev, None, None
    ev, ruleset = _evaluate(answer=answer, partner_code=partner_code, agreement=agreement, direction=Direction.QUERY,
                            ruleset=ruleset)
    return ev, ruleset, agreement


@dataclass(frozen=True)
class PartnerOption:
    """Whether an officer may query one partner about one person, and why not, in words any officer may read (the
    protected class itself is for privacy officers: 8 U.S.C. 1367 confidentiality)."""

    partner: Partner
    outcome: str
    why: str
    agreement: Agreement | None = None

    @property
    def may_query(self) -> bool:
        return self.outcome == Outcome.SHARE

    @property
    def will_wait(self) -> bool:
        return self.outcome in (Outcome.REFER, Outcome.NO_DECISION)


def officer_reason(ev: Evaluation, partner: Partner, agreement: Agreement | None, *, held: bool = True) -> str:
    """What an officer is told about a screening outcome: enough to act on, nothing protected. `held`: a new query
    waits when a privacy officer or CIS must answer first; a follow-up or an augmentation is refused instead."""
    if agreement is None:
        return no_agreement_reason(partner)
    if ev.outcome == Outcome.SHARE:
        return f"May be queried under {agreement.label}."
    if ev.outcome == Outcome.REFER:
        if held:
            return ("A privacy officer must clear a query about this person first: the query waits for that decision and "
                    "nothing is sent until then.")
        return "A privacy officer must clear this first; ask the privacy office to review it."
    if ev.outcome == Outcome.NO_DECISION:
        if held:
            return ("CIS (through PCQS) cannot confirm this person's protected status now: a query waits, and nothing is "
                    "sent until CIS answers.")
        return "CIS (through PCQS) cannot confirm this person's protected status now; try again later."
    return (f"Not permitted: this person's protected status in CIS does not allow USCIS to ask {partner.name} about them "
            "(8 CFR 208.6, 8 U.S.C. 1367). A privacy officer can tell you more.")


def no_agreement_reason(partner: Partner) -> str:
    recorded = Agreement.objects.filter(partner=partner, status=Agreement.Status.PUBLISHED).order_by("-version").first()
    if recorded is None:
        return f"USCIS has no information-sharing agreement with {partner.name}."
    item = f" (Appendix A item {recorded.appendix_a_ref})" if recorded.appendix_a_ref else ""
    return f"The agreement with {partner.name}{item} is recorded but does not yet allow USCIS queries through CPMS."


def query_partner_options(person) -> list[PartnerOption]:
    """Every partner, with whether this person may be queried there and why (one CIS lookup for all). Network:
    never inside a transaction."""
    answer = lookup_cis(person)
    ruleset = _active_ruleset()
    options = []
    for partner in Partner.objects.order_by("name"):
        ev, _, agreement = query_decision(person=person, partner_code=partner.code, answer=answer, ruleset=ruleset)
        options.append(PartnerOption(partner, ev.outcome if agreement else Outcome.WITHHOLD,
                                     officer_reason(ev, partner, agreement), agreement))
    return options


_QUERY_STAGES = {Decision.Stage.QUERY, Decision.Stage.FOLLOWUP, Decision.Stage.AUGMENT}


def decision_record(*, stage: str, evaluation: Evaluation, ruleset: RuleSet | None, answer: CisAnswer | None,
                    partner_request=None, query=None, person=None, partner_id: str | None = None, actor=None,
                    justification: str = "", outcome: str | None = None, direction: str | None = None) -> Decision:
    """Keep a protected-status decision with its evidence: the rule version, CIS's answer as it was, who and why,
    about a partner's request or one of our queries (and so about a person, for the privacy officer's timeline)."""
    subject = partner_request or query
    if direction is None:
        direction = Direction.QUERY if (query is not None or stage in _QUERY_STAGES) else Direction.REPLY
    return Decision.objects.create(
        partner_request=partner_request, query=query, direction=direction,
        person=person if person is not None else getattr(subject, "person", None),
        partner_id=partner_id or getattr(subject, "partner_id", None),
        stage=stage, outcome=outcome or evaluation.outcome, ruleset=ruleset,
        reasons=evaluation.reasons, cis_answer=answer.as_evidence() if answer else None, decided_by=actor,
        justification=justification,
    )


def latest_share_decision(subject) -> Decision | None:
    """The decision that let this request (or query) be shared: the evidence a later send compares CIS's answer with."""
    return subject.decisions.filter(outcome=Outcome.SHARE).order_by("-decided_at", "-id").first()


def latest_privacy_clearance(subject) -> Decision | None:
    """A privacy officer's decision to share (a referral resolved), if any."""
    return subject.decisions.filter(outcome=Outcome.SHARE, stage=Decision.Stage.PRIVACY_REVIEW).order_by("-decided_at", "-id").first()


def cis_answer_changed(answer: CisAnswer | None, decision: Decision | None) -> bool:
    """Has CIS's answer changed since the decision? Compared as stored: JSON gives lists where the evidence has tuples."""
    if decision is None:
        return True
    evidence = json.loads(json.dumps(answer.as_evidence())) if answer else None
    return evidence != decision.cis_answer


def disclosure_record(*, person, partner, agreement: Agreement, outbox_message, nature: str, data_elements: list[str],
                      purpose: str, recipient: str, reference: str, attachments: list[dict] | None = None,
                      law_enforcement_request: bool = False, package=None, disclosed_by=None,
                      disclosed_at=None) -> DisclosureRecord:
    """Privacy Act accounting of one disclosure (5 U.S.C. 552a(c)). Call it in the transaction that writes the outbox
    row, so that a message never leaves without its record and a record never exists for a message that did not. The
    kind of exchange is the message's ICD type; the agreement is the version in force when it left."""
    if outbox_message.type not in DisclosureRecord.Kind.values:
        raise ValueError(f"{outbox_message.type} carries no person's information: nothing to account for")
    disclosed_at = disclosed_at or timezone.now()
    return DisclosureRecord.objects.create(
        message_type=outbox_message.type, reference=reference,
        person=person, partner=partner, agreement=agreement, disclosed_at=disclosed_at, queued_at=disclosed_at, nature=nature,
        data_elements=sorted(data_elements), attachments=attachments or [], purpose=purpose, recipient=recipient,
        legal_authority=agreement.legal_authority or agreement.title, law_enforcement_request=law_enforcement_request,
        disclosed_by=disclosed_by, package=package, outbox_message=outbox_message,
        retain_until=DisclosureRecord.retention_for(disclosed_at.date(), person.retain_until),
    )


def disclosure_record_delivery(*, outbox_message, outcome: str, detail: str = "", at=None) -> DisclosureRecord | None:
    """What became of an accounted message (ICD §1, §3), in the transaction that learnt it: IDENT accepted it (the
    disclosure, dated then), refused it, the partner rejected it, or it expired. The move must be one DELIVERY_MOVES
    allows; any other (a late or repeated signal) changes nothing. None when the message carries no accounting."""
    at = at or timezone.now()
    record = DisclosureRecord.objects.select_for_update().filter(outbox_message=outbox_message).first()
    if record is None or not delivery_may_move(record.delivery, outcome):
        return record
    changes = {"delivery": outcome, "delivery_at": at, "delivery_detail": (detail or "")[:1000]}
    if outcome == DisclosureRecord.Delivery.DELIVERED:
        # 552a(c)(1): the date of the disclosure is when it left USCIS's hands, IDENT's acceptance.
        changes |= {"disclosed_at": at,
                    "retain_until": DisclosureRecord.retention_for(at.date(), record.person.retain_until)}
    audited_update(DisclosureRecord, record.pk, **changes)
    record.refresh_from_db()
    return record


def _outbound_sent(*, outbox):
    disclosure_record_delivery(outbox_message=outbox, outcome=DisclosureRecord.Delivery.DELIVERED, at=outbox.sent_at)


def _outbound_failed(*, outbox):
    from ident_bridge.models import OutboxMessage

    if outbox.delivery_status == OutboxMessage.Delivery.REJECTED:
        outcome, detail = DisclosureRecord.Delivery.REJECTED, outbox.delivery_detail
    elif outbox.status == OutboxMessage.Status.REJECTED:
        outcome, detail = DisclosureRecord.Delivery.REFUSED, outbox.last_error
    else:
        outcome, detail = DisclosureRecord.Delivery.EXPIRED, outbox.last_error
    disclosure_record_delivery(outbox_message=outbox, outcome=outcome, detail=detail)


def register_delivery_handlers() -> None:
    """From AppConfig.ready: every accounted kind of message tells its accounting what became of it."""
    from ident_bridge import handlers

    for message_type in DisclosureRecord.Kind.values:
        handlers.on_outbound_sent(message_type, _outbound_sent)
        handlers.on_outbound_failed(message_type, _outbound_failed)


def ruleset_ensure_default() -> RuleSet | None:
    """A database without any rule set (emptied, or built without the data migrations) gets today's defaults as its
    first, active version; one that has rule sets is left alone. For seed_demo and test worlds, never over history."""
    from .defaults import default_rules

    with transaction.atomic():
        if RuleSet.objects.select_for_update().exists():
            return None
        ruleset = RuleSet.objects.create(version=1, is_active=True, published_at=timezone.now(),
                                         note="Defaults (cpms.disclosure.defaults), both directions")
        Rule.objects.bulk_create(Rule(ruleset=ruleset, **r) for r in default_rules())
    return ruleset


def ruleset_new_draft(*, actor, source: RuleSet, note: str = "") -> RuleSet:
    with transaction.atomic():
        version = (RuleSet.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        draft = RuleSet.objects.create(version=version, note=note or f"Draft based on v{source.version}", created_by=actor)
        Rule.objects.bulk_create(
            Rule(ruleset=draft, protected_class=r.protected_class, partner_id=r.partner_id, action=r.action, exception=r.exception,
                 citation=r.citation)
            for r in source.rules.all()
        )
    return draft


def ruleset_publish(*, actor, ruleset: RuleSet) -> RuleSet:
    with transaction.atomic():
        for pk in RuleSet.objects.select_for_update().filter(is_active=True).values_list("pk", flat=True):
            audited_update(RuleSet, pk, is_active=False)
        audited_update(RuleSet, ruleset.pk, is_active=True, published_at=timezone.now())
    ruleset.refresh_from_db()
    return ruleset
