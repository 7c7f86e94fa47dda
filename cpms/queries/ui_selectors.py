"""What the officer's query pages (and the A-File print) show: one read model per query, built from selectors.

Takes a query already reached through access_query_for_user, so it adds no access rule of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cpms.core.labels import REQUESTED_ITEM_LABELS, country_label
from cpms.core.models import Gender

from .models import FdnsReferral, InternationalQuery, Match, PartnerResponse, QueryRound, QueryTransition, ResponseAttachment
from .selectors import ComparedElement, query_timeline, side_by_side
from .workflow import AWAITING_PARTNER, HELD, QueryStatus, query_can_ask_round3, query_can_close

NEVER_SENT = HELD | {QueryStatus.WITHHELD}

IDENTITY_LABELS = {
    "family_name": "Family name",
    "given_names": "Given names",
    "date_of_birth": "Date of birth",
    "gender": "Gender",
    "country_of_birth": "Country of birth",
}


@dataclass
class RoundView:
    round: QueryRound
    response: PartnerResponse | None
    comparison: list[ComparedElement] = field(default_factory=list)
    images: list[ResponseAttachment] = field(default_factory=list)
    files: list[ResponseAttachment] = field(default_factory=list)

    @property
    def any_differs(self) -> bool:
        return any(row.differs for row in self.comparison)

    @property
    def requested_labels(self) -> list[str]:
        return [REQUESTED_ITEM_LABELS.get(item, item) for item in self.round.requested_items]


@dataclass
class QueryView:
    query: InternationalQuery
    match: Match | None
    identity: list[tuple[str, str]]
    rounds: list[RoundView]
    # May act on the query (round 3, close, refer): the case's officers and supervisors, not a referred FDNS analyst.
    can_act: bool = False
    referrals: list[FdnsReferral] = field(default_factory=list)
    # The query's steps into and out of a hold (held for CIS or a privacy officer, then sent, withheld or closed), so the
    # officer reads that it was held and cleared. The states only: the rules' reasons stay on the privacy officer's page.
    holds: list[QueryTransition] = field(default_factory=list)

    @property
    def awaiting_partner(self) -> bool:
        return self.query.status in AWAITING_PARTNER

    @property
    def never_sent(self) -> bool:
        """Held before sending, or withheld: nothing went to the partner, so nothing can have come back."""
        return self.query.status in NEVER_SENT

    @property
    def can_ask_round3(self) -> bool:
        return self.can_act and query_can_ask_round3(self.query)

    @property
    def can_close(self) -> bool:
        return self.can_act and query_can_close(self.query)

    @property
    def can_refer(self) -> bool:
        return self.can_act and any(rv.response is not None for rv in self.rounds)

    @property
    def version(self) -> str:
        """Changes whenever anything the timeline shows changes: the poller swaps the page only then."""
        parts = [self.query.status, self.query.updated_at.isoformat()]
        for rv in self.rounds:
            outbox = rv.round.outbox_message
            parts += [
                str(rv.round.number),
                rv.round.answered_at.isoformat() if rv.round.answered_at else "",
                f"{outbox.status}/{outbox.delivery_status}" if outbox else "",
            ]
        return "|".join(parts)


def query_view(query: InternationalQuery, *, can_act: bool = False) -> QueryView:
    """The query, its match, and every round with the partner's answer beside the USCIS record.

    `can_act` comes from the access helper the view used (access_query_for_action succeeded)."""
    match = Match.objects.filter(query=query).first()
    gender_labels = dict(Gender.choices)
    identity = []
    if match:
        for key, label in IDENTITY_LABELS.items():
            value = match.biographic.get(key)
            if value:
                shown = (gender_labels.get(value, value) if key == "gender" else
                         country_label(str(value)) if key == "country_of_birth" else str(value))
                identity.append((label, shown))
    rounds = []
    for rnd in query_timeline(query):
        response = getattr(rnd, "response", None)  # the reverse one-to-one raises an AttributeError when absent
        rv = RoundView(round=rnd, response=response)
        if response is not None:
            rv.comparison = side_by_side(query, response.person)
            attachments = list(response.attachments.all())
            rv.images = [a for a in attachments if a.is_image]
            rv.files = [a for a in attachments if not a.is_image]
        rounds.append(rv)
    referrals = list(query.fdns_referrals.select_related("analyst", "referred_by").order_by("-created_at")) if can_act else []
    holds = [t for t in query.transitions.order_by("at", "pk")
             if t.to_status in HELD or t.from_status in HELD]
    return QueryView(query=query, match=match, identity=identity, rounds=rounds, can_act=can_act, referrals=referrals,
                     holds=holds)
