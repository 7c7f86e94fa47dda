"""The default rules, in both directions. Migrations 0003 (version 1, replies) and 0005 (the query direction) carry them
frozen (tests/cpms/test_disclosure_rules.py checks they agree); changing these means publishing a new rule-set version,
not editing history."""

from cpms.cis.classes import ASYLUM_RELATED, LEGAL_BASIS, SECTION_1367, US_PERSONS

from .rules import Action, Direction, Exception_


def default_reply_rules() -> list[dict]:
    """Our reply to a partner's request (version 1)."""
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
    return [r | {"direction": Direction.REPLY} for r in rules]


def default_query_rules() -> list[dict]:
    """Our own query, follow-up or augmentation about the person. In code beneath them (rules.evaluate): never a
    country the person fears, and a 1367 class is at least referred."""
    rules = [
        {"protected_class": c, "action": Action.REFER, "exception": Exception_.NONE,
         "citation": LEGAL_BASIS[c] + ": a privacy officer decides before USCIS asks a foreign government about the person"}
        for c in sorted(SECTION_1367)
    ]
    rules += [
        {"protected_class": c, "action": Action.WITHHOLD, "exception": Exception_.CONSENT_OR_AUTHORISATION,
         "citation": LEGAL_BASIS[c] + "; a query reveals the claim: only with the applicant's written consent or under the "
                     "agreement's Five Country Conference authorisation (PIA Appendix A items 5 and 8)"}
        for c in sorted(ASYLUM_RELATED)
    ]
    rules += [
        {"protected_class": c, "action": Action.WITHHOLD, "exception": Exception_.NONE, "citation": LEGAL_BASIS[c]}
        for c in sorted(US_PERSONS)
    ]
    return [r | {"direction": Direction.QUERY} for r in rules]


def default_rules() -> list[dict]:
    return default_reply_rules() + default_query_rules()
