"""The rules table: every class by partner, with and without consent or authorisation; the statutory floors."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpms.cis.classes import ASYLUM_RELATED, SECTION_1367, US_PERSONS, ApplicationStatus, ProtectedClass
from cpms.cis.pcqs import CisAnswer, ClassHolding
from cpms.disclosure.defaults import default_rules
from cpms.disclosure.rules import Action, Exception_, Outcome, RuleSpec, evaluate

DEFAULTS = [RuleSpec(r["protected_class"], None, r["action"], r["exception"], r["citation"], direction=r["direction"])
            for r in default_rules()]
PARTNERS = ["CAN", "AUS", "GBR", "NZL"]


def answer(*holdings, known=True, complete=True):
    return CisAnswer(a_number="A201000001", known=known, complete=complete, classes=tuple(holdings))


def outcome(holding, partner="CAN", authorised=False, rules=DEFAULTS):
    return evaluate(answer=answer(holding), partner=partner, asylum_authorised=authorised, rules=rules).outcome


@pytest.mark.parametrize("partner", PARTNERS)
@pytest.mark.parametrize("cls", sorted(SECTION_1367))
@pytest.mark.parametrize("authorised", [False, True])
def test_1367_classes_withhold_for_every_partner_whatever_consent_or_authorisation(cls, partner, authorised):
    holding = ClassHolding(cls, consent_partners=(partner,))
    assert outcome(holding, partner, authorised) == Outcome.WITHHOLD


@pytest.mark.parametrize("cls", sorted(SECTION_1367))
def test_denied_1367_application_is_protected_until_appeals_exhausted(cls):
    assert outcome(ClassHolding(cls, application_status=ApplicationStatus.DENIED)) == Outcome.WITHHOLD
    assert outcome(ClassHolding(cls, application_status=ApplicationStatus.DENIED, appeals_exhausted=True)) == Outcome.SHARE


@pytest.mark.parametrize("partner", PARTNERS)
@pytest.mark.parametrize("cls", sorted(ASYLUM_RELATED))
def test_asylum_related_withhold_without_consent_or_authorisation(cls, partner):
    assert outcome(ClassHolding(cls), partner, authorised=False) == Outcome.WITHHOLD


@pytest.mark.parametrize("partner", PARTNERS)
@pytest.mark.parametrize("cls", sorted(ASYLUM_RELATED))
def test_asylum_related_shared_with_consent_for_that_partner_only(cls, partner):
    other = next(p for p in PARTNERS if p != partner)
    assert outcome(ClassHolding(cls, consent_partners=(partner,)), partner) == Outcome.SHARE
    assert outcome(ClassHolding(cls, consent_partners=(other,)), partner) == Outcome.WITHHOLD


@pytest.mark.parametrize("partner", PARTNERS)
@pytest.mark.parametrize("cls", sorted(ASYLUM_RELATED))
def test_asylum_related_shared_with_secretarys_authorisation(cls, partner):
    assert outcome(ClassHolding(cls), partner, authorised=True) == Outcome.SHARE


@pytest.mark.parametrize("cls", sorted(ASYLUM_RELATED))
def test_feared_country_always_withheld_whatever_consent_or_authorisation(cls):
    holding = ClassHolding(cls, consent_partners=("CAN",), feared_countries=("CAN",))
    assert outcome(holding, "CAN", authorised=True) == Outcome.WITHHOLD
    assert outcome(holding, "AUS", authorised=True) == Outcome.SHARE


@pytest.mark.parametrize("partner", PARTNERS)
@pytest.mark.parametrize("cls", sorted(US_PERSONS))
def test_us_citizens_and_lprs_withheld(cls, partner):
    assert outcome(ClassHolding(cls, consent_partners=(partner,)), partner, authorised=True) == Outcome.WITHHOLD


def test_no_protected_class_is_shared():
    assert evaluate(answer=answer(), partner="CAN", asylum_authorised=False, rules=DEFAULTS).outcome == Outcome.SHARE


@pytest.mark.parametrize("ans", [None, answer(known=False), answer(complete=False)], ids=["pcqs-down", "unknown", "incomplete"])
def test_no_answer_is_no_decision_never_share(ans):
    assert evaluate(answer=ans, partner="CAN", asylum_authorised=True, rules=DEFAULTS).outcome == Outcome.NO_DECISION


def test_class_without_rule_is_referred():
    assert outcome(ClassHolding(ProtectedClass.ASYLUM), rules=[]) == Outcome.REFER


def test_partner_specific_rule_wins():
    rules = DEFAULTS + [RuleSpec(ProtectedClass.LPR, "CAN", Action.SHARE, Exception_.NONE, "test")]
    assert outcome(ClassHolding(ProtectedClass.LPR), "CAN", rules=rules) == Outcome.SHARE
    assert outcome(ClassHolding(ProtectedClass.LPR), "AUS", rules=rules) == Outcome.WITHHOLD


def test_withhold_beats_share_and_refer():
    ev = evaluate(answer=answer(ClassHolding(ProtectedClass.ASYLUM, consent_partners=("CAN",)), ClassHolding(ProtectedClass.USC)),
                  partner="CAN", asylum_authorised=False, rules=DEFAULTS)
    assert ev.outcome == Outcome.WITHHOLD and {r["class"] for r in ev.reasons} == {"ASYLUM", "USC"}


# --- property: no person with a 1367 class ever gets a response, whatever the rules say ---------------------

classes = st.sampled_from(ProtectedClass.values)
holdings = st.builds(
    ClassHolding, protected_class=classes, application_status=st.sampled_from(ApplicationStatus.values),
    appeals_exhausted=st.booleans(), consent_partners=st.lists(st.sampled_from(PARTNERS)).map(tuple),
    feared_countries=st.lists(st.sampled_from(PARTNERS)).map(tuple),
)
rules = st.lists(st.builds(RuleSpec, protected_class=classes, partner=st.sampled_from([None, *PARTNERS]),
                           action=st.sampled_from(Action.values), exception=st.sampled_from(Exception_.values),
                           citation=st.just("any")))
protected_1367 = st.builds(ClassHolding, protected_class=st.sampled_from(sorted(SECTION_1367)),
                           application_status=st.sampled_from([ApplicationStatus.PENDING, ApplicationStatus.GRANTED]),
                           consent_partners=st.lists(st.sampled_from(PARTNERS)).map(tuple))


@settings(deadline=None)
@given(protected=protected_1367, others=st.lists(holdings, max_size=4), partner=st.sampled_from(PARTNERS),
       authorised=st.booleans(), ruleset=rules)
def test_property_a_1367_class_is_never_shared(protected, others, partner, authorised, ruleset):
    ans = answer(*others, protected)
    assert evaluate(answer=ans, partner=partner, asylum_authorised=authorised, rules=ruleset).outcome == Outcome.WITHHOLD


@st.composite
def feared_partner_holding(draw):
    """An asylum-related holding and a partner the person fears: built, not filtered, so every example asserts."""
    partner = draw(st.sampled_from(PARTNERS))
    holding = draw(st.builds(
        ClassHolding, protected_class=st.sampled_from(sorted(ASYLUM_RELATED)),
        application_status=st.sampled_from(ApplicationStatus.values), appeals_exhausted=st.booleans(),
        consent_partners=st.lists(st.sampled_from(PARTNERS)).map(tuple),
        feared_countries=st.lists(st.sampled_from(PARTNERS)).map(lambda fs: tuple({*fs, partner})),
    ))
    return holding, partner


@settings(deadline=None)
@given(case=feared_partner_holding(), authorised=st.booleans(), ruleset=rules)
def test_property_feared_country_is_never_shared(case, authorised, ruleset):
    holding, partner = case
    assert evaluate(answer=answer(holding), partner=partner, asylum_authorised=authorised, rules=ruleset).outcome == Outcome.WITHHOLD


def test_the_migrations_carry_the_rules_frozen_and_they_match_the_defaults():
    """Data migrations never import live code; this keeps the frozen copies and today's defaults in step (a change to
    the defaults is a new rule-set version, published in the admin)."""
    import importlib
    from pathlib import Path

    from cpms.disclosure.defaults import default_query_rules, default_reply_rules

    def frozen(rules):
        return [tuple(map(str, (r["protected_class"], r["action"], r["exception"], r["citation"]))) for r in rules]

    v1 = importlib.import_module("cpms.disclosure.migrations.0003_default_rules")
    query = importlib.import_module("cpms.disclosure.migrations.0005_query_direction_rules")
    for migration in (v1, query):
        source = Path(migration.__file__).read_text()
        assert "import cpms" not in source and "from cpms" not in source
    assert frozen(default_reply_rules()) == [tuple(r) for r in v1.RULES_V1]
    assert frozen(default_query_rules()) == [tuple(r) for r in query.RULES_QUERY]
