"""Help for those who handle partners' requests: what a request's status means (cpms.core.help)."""

from cpms.core.help import HelpSection, register
from cpms.core.roles import Role

from .workflow import RequestStatus as R

MEANINGS = {
    R.RECEIVED: "The partner's request has arrived through IDENT; CPMS is about to check the person's protected status.",
    R.AWAITING_CIS: "CPMS is waiting for CIS (through PCQS) to confirm the person's protected status; it asks again until "
                    "CIS answers, and after a day a privacy officer decides.",
    R.REFERRED: "A privacy officer decides whether anything may be shared: the rules say so, CIS could not answer, or the "
                "person's status changed before the response left.",
    R.IN_ICTS: "Sharing is allowed: an ICTS case is open to prepare the response.",
    R.ANSWERED_NO_MATCH: "The partner was answered \u201cno match\u201d: either USCIS holds no record, or the person's "
                         "protected status does not allow sharing (the two look the same to the partner).",
    R.ANSWERED: "The response package was sent to the partner through IDENT.",
}


@register(Role.ICTS_ANALYST, Role.ICTS_REVIEWER, Role.PRIVACY_OFFICER, order=20)
def request_statuses() -> HelpSection:
    return HelpSection("A partner's request", "Every request a partner sends about a person USCIS fingerprinted.",
                       [(label, MEANINGS[R(value)]) for value, label in R.choices])
