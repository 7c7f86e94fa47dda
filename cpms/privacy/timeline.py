"""One person's timeline for privacy officers: disclosures, reads, protected-status decisions, queries, partners'
requests and FDNS referrals, newest first.

Each source is read from its own (person, time) index, at most one page of rows before the cursor, and the sources
are merged in Python: a page costs the same for a person with ten events or ten thousand, at any table size. The
cursor is the last event shown, (time, kind, id), so no event is shown twice or skipped across pages.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from cpms.audit.models import AccessLogEntry
from cpms.core.labels import DISCLOSED_LABELS, PURPOSE_LABELS, READ_OBJECT_LABELS, label
from cpms.core.models import Person
from cpms.disclosure.models import Decision, DisclosureRecord
from cpms.partner_requests.models import RequestTransition
from cpms.queries.models import FdnsReferral, QueryTransition

KINDS = {
    "disclosure": "Disclosure",
    "read": "Read of partner data",
    "oversight": "Oversight read (a privacy officer's own)",
    "decision": "Protected-status decision",
    "query": "Our query",
    "request": "Partner's request",
    "referral": "FDNS referral",
}
@dataclass(frozen=True, order=True)
class Cursor:
    at: datetime
    kind: str
    id: int

    def token(self) -> str:
        return f"{self.at.isoformat()}|{self.kind}|{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        try:
            at, kind, pk = (token or "").split("|")
            parsed = datetime.fromisoformat(at)
            return cls(parsed, kind, int(pk)) if kind in KINDS and timezone.is_aware(parsed) else None
        except ValueError:
            return None


@dataclass
class Event:
    at: datetime
    kind: str
    id: int
    title: str
    detail: str = ""
    partner: str = ""
    user: str = ""
    reference: str = ""
    link: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.kind, self.id)


# A privacy officer's own reads (the purpose of use "privacy oversight") are kept in the access log like any other,
# but shown apart and only when asked for: otherwise every look at a timeline adds to it and buries the disclosures.
OVERSIGHT_PURPOSE = "privacy_oversight"
DEFAULT_KINDS = frozenset(KINDS) - {"oversight"}


@dataclass(frozen=True)
class Filters:
    kinds: frozenset[str] = DEFAULT_KINDS
    partner: str = ""
    user: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "CPMS"


def _before(cursor: Cursor | None, kind: str, at_field: str) -> Q:
    """Rows of `kind` that come after the cursor in (time desc, kind desc, id desc) order."""
    if cursor is None:
        return Q()
    same_time = Q(**{at_field: cursor.at})
    if kind < cursor.kind:
        later = same_time
    elif kind == cursor.kind:
        later = same_time & Q(id__lt=cursor.id)
    else:
        later = Q(pk__in=[])
    return Q(**{f"{at_field}__lt": cursor.at}) | later


def _common(qs, f: Filters, *, at: str, partner: str | None, user: str | None, users: list[int] | None):
    if f.date_from:
        qs = qs.filter(**{f"{at}__gte": timezone.make_aware(datetime.combine(f.date_from, time.min))})
    if f.date_to:
        qs = qs.filter(**{f"{at}__lt": timezone.make_aware(datetime.combine(f.date_to, time.max))})
    if f.partner:
        qs = qs.filter(**{partner: f.partner}) if partner else qs.none()
    if users is not None:
        qs = qs.filter(**{f"{user}__in": users}) if user else qs.none()
    return qs


def _matching_users(term: str) -> list[int] | None:
    if not term:
        return None
    users = get_user_model().objects.filter(Q(username__iexact=term) | Q(last_name__iexact=term))
    return list(users.values_list("pk", flat=True)[:50])


def person_timeline(person: Person, *, filters: Filters = Filters(), cursor: Cursor | None = None,
                    limit: int = 50) -> tuple[list[Event], Cursor | None]:
    """A page of the person's events, newest first, and the cursor of the next page (None at the end)."""
    users = _matching_users(filters.user)
    sources = []
    if "disclosure" in filters.kinds:
        qs = DisclosureRecord.objects.filter(person=person).filter(_before(cursor, "disclosure", "disclosed_at"))
        qs = _common(qs, filters, at="disclosed_at", partner="partner_id", user="disclosed_by", users=users)
        rows = qs.select_related("partner", "agreement", "disclosed_by").order_by("-disclosed_at", "-id")[:limit]
        sources.append([Event(r.disclosed_at, "disclosure", r.pk,
                              f"{r.get_message_type_display()} to {r.partner.name}"
                              + ("" if r.is_disclosed else f" ({r.get_delivery_display()[:1].lower()}"
                                                             f"{r.get_delivery_display()[1:]})"),
                              detail=f"{r.purpose}. {'Sent' if r.is_disclosed else 'Would have sent'}: "
                                     f"{', '.join(label(DISCLOSED_LABELS, e) for e in r.data_elements)}"
                                     + (f"; {len(r.attachments)} document(s)" if r.attachments else "")
                                     + f". Under {r.agreement.label}.",
                              partner=r.partner.name, user=_name(r.disclosed_by), reference=r.reference) for r in rows])
    for kind in ("read", "oversight"):
        if kind not in filters.kinds:
            continue
        qs = AccessLogEntry.objects.filter(person=person).filter(_before(cursor, kind, "at"))
        oversight = Q(context__purpose=OVERSIGHT_PURPOSE)
        qs = qs.filter(oversight) if kind == "oversight" else qs.exclude(oversight)
        qs = _common(qs, filters, at="at", partner=None, user="user", users=users)
        rows = qs.select_related("user").order_by("-at", "-id")[:limit]
        sources.append([Event(r.at, kind, r.pk, f"{label(READ_OBJECT_LABELS, r.object_type)}: "
                                                f"{r.get_action_display().lower()}",
                              detail=f"Purpose: {label(PURPOSE_LABELS, r.context['purpose']) if r.context.get('purpose') else 'not recorded'}",
                              user=_name(r.user), reference=r.context.get("reference", "")) for r in rows])
    if "decision" in filters.kinds:
        qs = Decision.objects.filter(person=person).filter(_before(cursor, "decision", "decided_at"))
        qs = _common(qs, filters, at="decided_at", partner="partner_id", user="decided_by", users=users)
        rows = qs.select_related("partner", "decided_by", "query", "partner_request").order_by("-decided_at", "-id")[:limit]
        sources.append([Event(r.decided_at, "decision", r.pk, f"{r.get_outcome_display()}: {r.get_stage_display().lower()}",
                              detail="; ".join(f"{x.get('citation') + ': ' if x.get('citation') else ''}{x['why']}"
                                               for x in r.deciding_reasons()),
                              partner=r.partner.name if r.partner else "", user=_name(r.decided_by),
                              reference=(r.query.query_ref if r.query_id else
                                         r.partner_request.request_ref if r.partner_request_id else ""),
                              link=(f"/privacy/queries/{r.query_id}/" if r.query_id else
                                    f"/partner-requests/{r.partner_request_id}/" if r.partner_request_id else ""))
                        for r in rows])
    if "query" in filters.kinds:
        qs = QueryTransition.objects.filter(query__person=person).filter(_before(cursor, "query", "at"))
        qs = _common(qs, filters, at="at", partner="query__partner_id", user="actor", users=users)
        rows = qs.select_related("query__partner", "actor").order_by("-at", "-id")[:limit]
        sources.append([Event(r.at, "query", r.pk, f"Query {r.query.query_ref} to {r.query.partner.name}: "
                                                   f"{r.get_to_status_display().lower()}",
                              detail=r.reason, partner=r.query.partner.name, user=_name(r.actor), reference=r.query.query_ref,
                              link=f"/privacy/queries/{r.query_id}/") for r in rows])
    if "request" in filters.kinds:
        qs = RequestTransition.objects.filter(partner_request__person=person).filter(_before(cursor, "request", "at"))
        qs = _common(qs, filters, at="at", partner="partner_request__partner_id", user="actor", users=users)
        rows = qs.select_related("partner_request__partner", "actor").order_by("-at", "-id")[:limit]
        sources.append([Event(r.at, "request", r.pk, f"{r.partner_request.partner.name} request "
                                                     f"{r.partner_request.request_ref}: {r.get_to_status_display().lower()}",
                              detail=r.reason, partner=r.partner_request.partner.name, user=_name(r.actor),
                              reference=r.partner_request.request_ref, link=f"/partner-requests/{r.partner_request_id}/")
                        for r in rows])
    if "referral" in filters.kinds:
        qs = FdnsReferral.objects.filter(query__person=person).filter(_before(cursor, "referral", "created_at"))
        qs = _common(qs, filters, at="created_at", partner="query__partner_id", user="referred_by", users=users)
        rows = qs.select_related("query__partner", "analyst", "referred_by").order_by("-created_at", "-id")[:limit]
        sources.append([Event(r.created_at, "referral", r.pk, f"Results of query {r.query.query_ref} referred to "
                                                              f"{_name(r.analyst)} (FDNS) until {r.expires_at:%-d %b %Y}",
                              detail=r.reason + (f" Revoked {r.revoked_at:%-d %b %Y}: {r.revoke_reason}" if r.revoked_at else ""),
                              partner=r.query.partner.name, user=_name(r.referred_by), reference=r.query.query_ref)
                        for r in rows])
    merged = list(heapq.merge(*sources, key=lambda e: e.cursor, reverse=True))
    page = merged[:limit]
    return page, (page[-1].cursor if len(merged) > limit else None)


def find_people(term: str, *, limit: int = 20) -> list[Person]:
    """By A-Number, FIN, date of birth (YYYY, YYYY-MM or YYYY-MM-DD) or name: any name form (aliases too) that starts
    with the folded term, so `Nguyen` finds Nguyễn and `Petrenko` finds Петренко."""
    from django.core.exceptions import ValidationError

    from cpms.core.models import PersonNameKey, fold_for_search, normalise_a_number

    term = (term or "").strip()
    if not term:
        return []
    try:
        by_number = Person.objects.filter(a_number=normalise_a_number(term.upper()))
        if by_number.exists():
            return list(by_number)
    except ValidationError:
        pass
    if Person.objects.filter(fin=term.upper()).exists():
        return list(Person.objects.filter(fin=term.upper()))
    parts = term.split("-")
    if all(p.isdigit() for p in parts) and len(parts[0]) == 4 and len(parts) <= 3:
        numbers = dict(zip(("dob_year", "dob_month", "dob_day"), map(int, parts), strict=False))
        return list(Person.objects.filter(**numbers).order_by("family_name", "given_names", "id")[:limit])
    key = fold_for_search(term)
    if not key:
        return []
    ids = (PersonNameKey.objects.filter(key__startswith=key).order_by("person_id").values_list("person_id", flat=True)
           .distinct()[:limit])
    return list(Person.objects.filter(pk__in=list(ids)).order_by("family_name", "given_names", "id"))
