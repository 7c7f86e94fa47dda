"""Help for ICTS and OBIM: what an ICTS case's status means (cpms.core.help)."""

from cpms.core.help import HelpSection, register
from cpms.core.roles import Role

from .workflow import CaseStatus as C

MEANINGS = {
    C.OPEN: "Waiting for an analyst: take it, or a reviewer assigns it.",
    C.PREPARING: "The assigned analyst fills in the response: the uniform template and the scanned documents.",
    C.IN_REVIEW: "Submitted: a reviewer (never the analyst who prepared it) approves it or returns it with comments.",
    C.RETURNED: "The reviewer returned it with comments for the analyst; it goes back to review once corrected.",
    C.APPROVED: "Approved: CPMS checks the person's status once more and transmits it through IDENT.",
    C.TRANSMITTED: "Stored and sent through IDENT; waiting for IDENT to say whether it reached the partner.",
    C.DELIVERED: "IDENT confirmed that the partner received it. OBIM analysts can retrieve it.",
    C.DELIVERY_FAILED: "IDENT could not deliver it, or the partner rejected it; the analyst and the reviewer were told.",
    C.BLOCKED: "Stopped before transmission: the person's protected status changed. A privacy officer decides whether it "
               "may still be sent.",
    C.CLOSED: "Closed without a response: a privacy officer withheld it and the partner was answered \u201cno match\u201d.",
}


@register(Role.ICTS_ANALYST, Role.ICTS_REVIEWER, Role.OBIM_ANALYST, order=30)
def case_statuses() -> HelpSection:
    return HelpSection("An ICTS case", "The case in which USCIS prepares, reviews and sends its response to a partner.",
                       [(label, MEANINGS[C(value)]) for value, label in C.choices])
