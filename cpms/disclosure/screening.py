"""Screening: "may this person's data go to this partner now, and if not, who decides". One place for every kind of
outbound disclosure USCIS starts (a query, its round-3 follow-up, an augmentation) and for a privacy officer's review
of what was referred, whoever owns the subject (cpms.queries, cpms.partner_requests).

The owner keeps its own states and acts on the outcome (sends, holds, refuses); the question, the evidence kept with
each decision and the words a person is told are here. Network (CIS through PCQS) is asked before any transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import TextChoices

from cpms.core.errors import DomainError
from cpms.core.roles import Role, has_role
from ident_bridge import icd

from .models import Decision, RuleSet
from .services import (Evaluation, Outcome, cis_answer_changed, decision_record, latest_privacy_clearance, lookup_cis,
                       officer_reason, query_decision, reply_decision)


class ScreeningKind(TextChoices):
    QUERY = "query", "Our query (round 1)"
    FOLLOWUP = "followup", "Our round-3 follow-up"
    AUGMENT = "augment", "Our augmentation request"


_STAGE = {ScreeningKind.QUERY: Decision.Stage.QUERY, ScreeningKind.FOLLOWUP: Decision.Stage.FOLLOWUP,
          ScreeningKind.AUGMENT: Decision.Stage.AUGMENT}
_NOT_SENT = {ScreeningKind.QUERY: "Nothing was sent.", ScreeningKind.FOLLOWUP: "Round 3 was not sent.",
             ScreeningKind.AUGMENT: "Nothing was sent."}


class ScreeningRefused(DomainError):
    """The rules (or the review) do not let this disclosure go: nothing was written but the decision itself."""


@dataclass
class Screening:
    """The rules' answer for one disclosure, with its evidence (kept with the decision) and the agreement it would go
    under (None: no agreement in force lets USCIS ask this partner)."""

    kind: str
    outcome: str
    evaluation: Evaluation
    ruleset: RuleSet | None
    answer: object
    agreement: object

    @property
    def evidence(self) -> dict:
        return {"evaluation": self.evaluation, "ruleset": self.ruleset, "answer": self.answer}


def screen(*, kind: str, person, partner_code: str, subject=None) -> Screening:
    """Ask CIS and the rules' query direction. A follow-up or an augmentation about a subject a privacy officer already
    cleared needs no second referral while CIS's answer is unchanged since that clearance."""
    answer = lookup_cis(person)
    ev, ruleset, agreement = query_decision(person=person, partner_code=partner_code, answer=answer)
    outcome = ev.outcome if agreement is not None else Outcome.WITHHOLD
    if kind != ScreeningKind.QUERY and agreement is not None and ev.outcome == Outcome.REFER and subject is not None:
        clearance = latest_privacy_clearance(subject)
        if clearance is not None and not cis_answer_changed(answer, clearance):
            outcome = Outcome.SHARE
    return Screening(kind, outcome, ev, ruleset, answer, agreement)


def screen_or_refuse(*, kind: str, person, partner, subject, actor, **owner) -> Screening:
    """For a disclosure that cannot wait (a follow-up, an augmentation): shared, or refused with the decision kept (who
    asked, and that nothing was sent) and a reason the asker may read (no protected class named). `owner`: the
    subject's foreign key for the decision (`query=` or `partner_request=`)."""
    screening = screen(kind=kind, person=person, partner_code=partner.code, subject=subject)
    if screening.outcome == Outcome.SHARE:
        return screening
    decision_record(stage=_STAGE[kind], outcome=screening.outcome if screening.agreement is None else None,
                    justification=f"{ScreeningKind(kind).label} asked by {actor.get_full_name() or actor.get_username()}; "
                                  "refused", **owner, **screening.evidence)
    raise ScreeningRefused(f"{officer_reason(screening.evaluation, partner, screening.agreement, held=False)} "
                           f"{_NOT_SENT[kind]}", code="no_agreement" if screening.agreement is None else "not_permitted")


def what_to_ask(requested_items, justification) -> tuple[list[str], str]:
    """What USCIS asks a partner for (a round-3 follow-up, an augmentation: ICD §4's requested items) and why: the
    items without repeats, and the justification stripped. Raises ScreeningRefused naming the field to correct."""
    items = list(dict.fromkeys(requested_items or []))
    if not items:
        raise ScreeningRefused("Choose at least one item to request.", field="requested_items")
    unknown = [i for i in items if i not in icd.REQUESTED_ITEMS]
    if unknown:
        raise ScreeningRefused(f"Not items a partner can be asked for: {', '.join(unknown)}.", field="requested_items")
    justification = (justification or "").strip()
    if not justification:
        raise ScreeningRefused("Say why the additional information is needed.", field="justification")
    if len(justification) > 4000:
        raise ScreeningRefused("Keep the justification under 4,000 characters.", field="justification")
    return items, justification


# --- a privacy officer's review of what was referred --------------------------------------------------------------


@dataclass
class Review:
    """A privacy officer's decision, checked and ready to record: the evaluation it is kept as, CIS's answer at the
    time, and (for a query's disclosure) the agreement it goes under."""

    outcome: str
    justification: str
    evaluation: Evaluation
    answer: object
    ruleset: RuleSet | None
    agreement: object = None


def review_check(*, actor, outcome: str, justification: str, person, partner_code: str, direction: str, fin: str = "",
                 what: str = "item") -> Review:
    """Who may decide, what they may decide, and the statutory floors no review lowers (8 U.S.C. 1367, a feared
    country): checked before the owner locks its row. `direction`: "query" for our own disclosures, "reply" for an
    answer to a partner's request. Raises ScreeningRefused with the field to correct."""
    if not has_role(actor, Role.PRIVACY_OFFICER):
        raise ScreeningRefused(f"Only a privacy officer can decide a {what}.", code="forbidden")
    if outcome not in (Outcome.SHARE, Outcome.WITHHOLD):
        raise ScreeningRefused("Choose share or withhold.", field="outcome")
    justification = (justification or "").strip()
    if not justification:
        raise ScreeningRefused("Record why: the decision and its reason are kept for the privacy record.", field="justification")
    answer = lookup_cis(person)
    agreement = None
    if direction == "query":
        ev, ruleset, agreement = query_decision(person=person, partner_code=partner_code, answer=answer)
        refused = agreement is None or ev.outcome == Outcome.WITHHOLD
        floor = f"This query may not be sent whatever the review: {_reasons(ev)}"
    else:
        ev, ruleset = reply_decision(person=person, fin=fin, partner_code=partner_code, answer=answer)
        ruleset = ruleset or RuleSet.objects.filter(is_active=True).first()
        refused = ev.outcome == Outcome.WITHHOLD
        floor = f"This person may not be shared with this partner whatever the review: {_reasons(ev)}"
    if outcome == Outcome.SHARE and refused:
        raise ScreeningRefused(floor, field="outcome", code="floor")
    review = Evaluation(outcome)
    review.add("", outcome, "", justification)
    return Review(outcome, justification, review, answer, ruleset, agreement)


def review_record(review: Review, *, actor, **owner) -> Decision:
    """Keep the privacy officer's decision with its evidence, in the owner's transaction (`query=` or
    `partner_request=`)."""
    return decision_record(stage=Decision.Stage.PRIVACY_REVIEW, evaluation=review.evaluation, ruleset=review.ruleset,
                           answer=review.answer, actor=actor, justification=review.justification, **owner)


def _reasons(ev: Evaluation) -> str:
    return " ".join(f"{r['why'].rstrip('.')}." for r in ev.reasons if r["why"])[:300]
