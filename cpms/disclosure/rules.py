"""May information about this person go to this partner? The rules, evaluated as a pure function.

Two directions: our reply to a partner's request (`reply`), and our own query or follow-up about the person
(`query`: query.submit, query.followup, request.augment), which tells the partner that USCIS holds this person and why.

Guarantees that live in code and cannot be edited away in the rules table:
- 8 U.S.C. 1367 has no foreign-government exception: a reply about any T, U or VAWA class (or derivative) is withheld,
  for every partner, until CIS says a denied application's appeals are all exhausted; a query about such a person is
  at least referred to a privacy officer before anything is sent.
- 8 CFR 208.6: nothing is ever disclosed to, or asked of, a country where the person claims to fear persecution,
  whatever the consent or the Secretary's authorisation.
Everything else comes from the active rule set (data, versioned, with citations). A class with no rule,
an unknown person in CIS, or an incomplete answer is never "share": nothing is shared by default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models

from cpms.cis.classes import ASYLUM_RELATED, LEGAL_BASIS, SECTION_1367, ApplicationStatus, ProtectedClass
from cpms.cis.pcqs import CisAnswer
from cpms.core.labels import country_name


class Action(models.TextChoices):
    SHARE = "share", "Share (open an ICTS case)"
    WITHHOLD = "withhold", "Withhold (answer no match)"
    REFER = "refer", "Refer to a privacy officer"


class Direction(models.TextChoices):
    REPLY = "reply", "Our reply to a partner's request"
    QUERY = "query", "Our query or follow-up about the person"


class Outcome(models.TextChoices):
    SHARE = "share", "Share"
    WITHHOLD = "withhold", "Withhold"
    REFER = "refer", "Refer to a privacy officer"
    NO_DECISION = "no_decision", "No decision (CIS unavailable or incomplete)"


class Exception_(models.TextChoices):
    NONE = "none", "No exception"
    CONSENT_OR_AUTHORISATION = "consent_or_authorisation", (
        "Share if the applicant's written consent for the partner is on file or the agreement carries the "
        "Secretary's authorisation"
    )


@dataclass(frozen=True)
class RuleSpec:
    protected_class: str
    partner: str | None  # None: any partner
    action: str
    exception: str
    citation: str
    rule_id: int | None = None
    direction: str = Direction.REPLY


@dataclass
class Evaluation:
    outcome: str
    reasons: list[dict] = field(default_factory=list)

    def add(self, protected_class: str, action: str, citation: str, why: str, rule_id: int | None = None) -> None:
        self.reasons.append({"class": protected_class, "action": action, "citation": citation, "why": why, "rule_id": rule_id})


def _class_words(protected_class: str) -> str:
    """A class as the reasons say it to a privacy officer: "Asylum applicant or asylee", never `ASYLUM`."""
    return ProtectedClass(protected_class).label if protected_class in ProtectedClass.values else protected_class


def _pick_rule(rules: list[RuleSpec], protected_class: str, partner: str, direction: str) -> RuleSpec | None:
    mine = [r for r in rules if r.protected_class == protected_class and r.direction == direction]
    specific = [r for r in mine if r.partner == partner]
    generic = [r for r in mine if r.partner is None]
    return (specific or generic or [None])[0]


def evaluate(*, answer: CisAnswer | None, partner: str, asylum_authorised: bool, rules: list[RuleSpec],
             direction: str = Direction.REPLY) -> Evaluation:
    if answer is None:
        return Evaluation(Outcome.NO_DECISION, [{"class": "", "action": "", "citation": "", "why": "PCQS did not answer", "rule_id": None}])
    if not answer.known:
        ev = Evaluation(Outcome.NO_DECISION)
        ev.add("", "", "", f"CIS has no record of {answer.a_number}; protected status cannot be ruled out")
        return ev
    if not answer.complete:
        ev = Evaluation(Outcome.NO_DECISION)
        ev.add("", "", "", "CIS's answer is incomplete; protected status cannot be ruled out")
        return ev

    ev = Evaluation(Outcome.SHARE)
    actions: list[str] = []
    for holding in answer.classes:
        cls = holding.protected_class
        words = _class_words(cls)
        if cls in SECTION_1367:
            if holding.application_status == ApplicationStatus.DENIED and holding.appeals_exhausted:
                ev.add(cls, "", LEGAL_BASIS[cls], "Application denied and all appeals exhausted: no longer protected")
                continue
            if direction == Direction.REPLY:
                ev.add(cls, Action.WITHHOLD, LEGAL_BASIS[cls],
                       "8 U.S.C. 1367 protects this person; it has no foreign-government exception")
                actions.append(Action.WITHHOLD)
                continue
            rule = _pick_rule(rules, cls, partner, direction)  # a query: a rule may only be stricter than "refer"
            if rule is not None and rule.action == Action.WITHHOLD:
                ev.add(cls, Action.WITHHOLD, rule.citation, f"The rule for {words}: withhold", rule.rule_id)
                actions.append(Action.WITHHOLD)
            else:
                ev.add(cls, Action.REFER, LEGAL_BASIS[cls],
                       "8 U.S.C. 1367 protects this person: a privacy officer decides before any query is sent",
                       rule.rule_id if rule else None)
                actions.append(Action.REFER)
            continue
        if cls in ASYLUM_RELATED and partner in holding.feared_countries:
            ev.add(cls, Action.WITHHOLD, LEGAL_BASIS[cls], f"The person claims to fear persecution in {country_name(partner)}")
            actions.append(Action.WITHHOLD)
            continue
        rule = _pick_rule(rules, cls, partner, direction)
        if rule is None:
            ev.add(cls, Action.REFER, "", f"No rule covers {words} for {country_name(partner)}: a privacy officer decides")
            actions.append(Action.REFER)
            continue
        action, why = rule.action, f"The rule for {words}: {Action(rule.action).label.lower()}"
        if action == Action.WITHHOLD and rule.exception == Exception_.CONSENT_OR_AUTHORISATION:
            if partner in holding.consent_partners:
                action, why = Action.SHARE, f"The applicant's written consent for {country_name(partner)} is on file"
            elif asylum_authorised:
                action, why = Action.SHARE, "The agreement carries the Secretary's authorisation to disclose to FCC partners"
            else:
                why = "No written consent on file and no Secretary's authorisation in the agreement"
        ev.add(cls, action, rule.citation, why, rule.rule_id)
        actions.append(action)
    if Action.WITHHOLD in actions:
        ev.outcome = Outcome.WITHHOLD
    elif Action.REFER in actions:
        ev.outcome = Outcome.REFER
    if not answer.classes:
        ev.add("", Action.SHARE, "", "CIS records no protected class")
    return ev
