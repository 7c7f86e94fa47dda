"""The officer's help: what a query's status means (cpms.core.help)."""

from cpms.core.help import HelpSection, register
from cpms.core.roles import Role

from .workflow import QueryStatus as S

MEANINGS = {
    S.HELD_CIS: "Nothing has been sent. CIS could not yet confirm the person's protected status; CPMS asks again every "
                "minute or so, and if CIS still cannot answer after a day a privacy officer decides.",
    S.HELD_PRIVACY: "Nothing has been sent. The person's status means a privacy officer must clear the query first; you "
                    "are told when they decide.",
    S.WITHHELD: "Never sent: the person's protected status does not allow USCIS to ask this partner. Nothing left CPMS.",
    S.SUBMITTED: "Sent through IDENT; waiting for the partner's round-1 result (match or no match).",
    S.NO_MATCH: "The partner found no match. The query is over; no other round follows.",
    S.AWAITING_ROUND2: "The partner matched the fingerprints; IDENT sent the second query by itself and CPMS waits for "
                       "the partner's round-2 answer.",
    S.RESPONDED: "The partner answered round 2. You may ask for a third round once, refer the results to FDNS, print "
                 "them for the A-File or close the query.",
    S.AWAITING_ROUND3: "You asked the partner for more (round 3); waiting for its answer.",
    S.COMPLETED: "The partner answered round 3: all three rounds are used.",
    S.CLOSED: "An officer closed the query; it is kept with everything it received.",
    S.FAILED: "IDENT refused the message, the partner rejected it or it could not be delivered in time; an administrator "
              "has the details. Send a new query if you still need one.",
}


@register(Role.OFFICER, Role.SUPERVISOR, Role.FDNS_ANALYST, order=10)
def query_statuses() -> HelpSection:
    return HelpSection("A query's status", "Each query to a partner shows one of these on the case page.",
                       [(label, MEANINGS[S(value)]) for value, label in S.choices])
