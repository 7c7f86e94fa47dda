"""The privacy officer's help: decisions and the accounting's outcomes (cpms.core.help)."""

from cpms.core.help import HelpSection, register
from cpms.core.roles import Role

from .models import DisclosureRecord
from .rules import Outcome

DECISIONS = {
    Outcome.SHARE: "The rules (or a privacy officer) allow the disclosure; it may go under the agreement's terms.",
    Outcome.WITHHOLD: "It may not go. A partner's request is answered \u201cno match\u201d; our own query or request is "
                      "never sent.",
    Outcome.REFER: "A privacy officer must decide; nothing leaves until then. Statutory floors (8 U.S.C. 1367, a feared "
                   "country) cannot be lowered by any review.",
    Outcome.NO_DECISION: "CIS could not answer; CPMS asks again, and after a day a privacy officer decides.",
}
D = DisclosureRecord.Delivery
DELIVERY = {
    D.PENDING: "Queued: IDENT has not accepted the message yet, so nothing has been disclosed.",
    D.DELIVERED: "IDENT accepted the message for the partner: the disclosure, dated then.",
    D.REFUSED: "IDENT refused the message (it never left): not a disclosure.",
    D.REJECTED: "The partner rejected the message: not a disclosure.",
    D.EXPIRED: "IDENT could not be reached before the retries ran out: not a disclosure.",
}


@register(Role.PRIVACY_OFFICER, order=40)
def decisions_and_accounting() -> HelpSection:
    return HelpSection("Decisions and the accounting", "A protected-status decision's outcome, and what became of each "
                       "message in the accounting of disclosures.",
                       [(label, DECISIONS[Outcome(value)]) for value, label in Outcome.choices]
                       + [(label, DELIVERY[D(value)]) for value, label in D.choices])
