"""The default rules. Migration 0003 carries version 1 frozen (tests/cpms/test_disclosure_rules.py checks they agree);
changing these means publishing a new rule-set version, not editing history."""

from cpms.cis.classes import ASYLUM_RELATED, LEGAL_BASIS, SECTION_1367, US_PERSONS

from .rules import Action, Exception_


def default_rules() -> list[dict]:
    rules = [
        {"protected_class": c, "action": Action.WITHHOLD, "exception": Exception_.NONE,
         "citation": LEGAL_BASIS[c] + " (no foreign-government exception)"}
        for c in sorted(SECTION_1367)
    ]
    rules += [
        {"protected_class": c, "action": Action.WITHHOLD, "exception": Exception_.CONSENT_OR_AUTHORISATION,
         "citation": LEGAL_BASIS[c] + "; disclosure needs the applicant's written consent or the Secretary's authorisation"}
        for c in sorted(ASYLUM_RELATED)
    ]
    rules += [
        {"protected_class": c, "action": Action.WITHHOLD, "exception": Exception_.NONE, "citation": LEGAL_BASIS[c]}
        for c in sorted(US_PERSONS)
    ]
    return rules
