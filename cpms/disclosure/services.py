"""The protected-status decision (asking CIS through PCQS, applying the rules) and the rule sets' versions.

Partner requests (intake and a privacy officer's review) and ICTS transmission all decide here. A published rule
set is never edited: changing the rules means publishing a new version.
"""

from __future__ import annotations

import json
import logging

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from cpms.audit.services import audited_update
from cpms.cis.pcqs import CisAnswer, PcqsUnavailable, get_pcqs
from cpms.core.models import Agreement, Person

from .models import Decision, DisclosureRecord, Rule, RuleSet
from .rules import Evaluation, Outcome, evaluate

__all__ = ["Outcome", "Evaluation", "Decision"]  # the vocabulary callers (icts) use with these services

log = logging.getLogger(__name__)


def active_request_agreement(partner_code: str) -> Agreement | None:
    return Agreement.objects.active().filter(partner_id=partner_code, allows_partner_requests=True).order_by("-effective_from").first()


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
    ruleset = RuleSet.objects.filter(is_active=True).prefetch_related("rules").first()
    # With no active rule set every class is referred, but the statutory floors inside evaluate() still hold.
    ev = evaluate(answer=answer, partner=partner_code, asylum_authorised=agreement.asylum_disclosure_authorised,
                  rules=ruleset.specs() if ruleset else [])
    if ruleset is None and ev.outcome == Outcome.SHARE and answer and answer.classes:
        ev.outcome = Outcome.REFER
    return ev, ruleset


def decision_record(*, partner_request, stage: str, evaluation: Evaluation, ruleset: RuleSet | None,
                    answer: CisAnswer | None, actor=None, justification: str = "", outcome: str | None = None) -> Decision:
    """Keep a protected-status decision with its evidence: the rule version, CIS's answer as it was, who and why."""
    return Decision.objects.create(
        partner_request=partner_request, stage=stage, outcome=outcome or evaluation.outcome, ruleset=ruleset,
        reasons=evaluation.reasons, cis_answer=answer.as_evidence() if answer else None, decided_by=actor,
        justification=justification,
    )


def latest_share_decision(partner_request) -> Decision | None:
    """The decision that let this request be shared (the evidence transmission compares CIS's answer against)."""
    return partner_request.decisions.filter(outcome=Outcome.SHARE).order_by("-decided_at", "-id").first()


def cis_answer_changed(answer: CisAnswer | None, decision: Decision | None) -> bool:
    """Has CIS's answer changed since the decision? Compared as stored: JSON gives lists where the evidence has tuples."""
    if decision is None:
        return True
    evidence = json.loads(json.dumps(answer.as_evidence())) if answer else None
    return evidence != decision.cis_answer


def disclosure_record(*, person, partner, agreement: Agreement, outbox_message, disclosed_at, nature: str,
                      data_elements: list[str], attachments: list[dict], purpose: str, recipient: str,
                      law_enforcement_request: bool = False, package=None) -> DisclosureRecord:
    """Privacy Act accounting of one disclosure (5 U.S.C. 552a(c)). Call it in the transaction that writes the outbox
    row, so that a message never leaves without its record and a record never exists for a message that did not."""
    return DisclosureRecord.objects.create(
        person=person, partner=partner, agreement=agreement, disclosed_at=disclosed_at, nature=nature,
        data_elements=sorted(data_elements), attachments=attachments, purpose=purpose, recipient=recipient,
        legal_authority=agreement.legal_authority or agreement.title, law_enforcement_request=law_enforcement_request,
        package=package, outbox_message=outbox_message,
        retain_until=DisclosureRecord.retention_for(disclosed_at.date(), person.retain_until),
    )


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
