"""What the privacy officer reads: the accounting of disclosures, the access log, the chain's status.

Privacy officers see that disclosures and reads happened (who, what kind, when, why), not the partner data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q

from cpms.audit.models import AccessLogEntry
from cpms.core.models import Person, normalise_a_number
from cpms.core.roles import Role, has_role
from cpms.disclosure.models import DisclosureRecord

from .models import ChainVerification


def may_use_console(user) -> bool:
    return has_role(user, Role.PRIVACY_OFFICER)


def find_person(term: str) -> Person | None:
    term = (term or "").strip().upper()
    if not term:
        return None
    try:
        return Person.objects.filter(a_number=normalise_a_number(term)).first()
    except ValidationError:  # not an A-Number: try a FIN
        return Person.objects.filter(fin=term).first()


def accounting_for_person(person: Person, *, subject_copy: bool):
    """5 U.S.C. 552a(c): every disclosure of the person's record. The copy a person may see leaves out
    disclosures made at a law-enforcement agency's written request (552a(c)(3))."""
    qs = DisclosureRecord.objects.filter(person=person).select_related("partner", "agreement").order_by("-disclosed_at", "-id")
    if subject_copy:
        qs = qs.filter(law_enforcement_request=False)
    return qs


def accounting_counts(records) -> dict:
    """How many entries, and how many of them were disclosed (IDENT accepted them and no partner rejected them)."""
    total = records.count()
    disclosed = records.filter(delivery=DisclosureRecord.Delivery.DELIVERED).count()
    return {"total": total, "disclosed": disclosed, "not_disclosed": total - disclosed}


def disclosures(*, date_from: date | None = None, date_to: date | None = None, partner: str = "", agreement: int | None = None,
                kind: str = "", outcome: str = ""):
    """The accounting system-wide (5 U.S.C. 552a(c)), newest first: every entry in a period, by partner, agreement
    version, kind of exchange and delivery outcome. Read from (disclosed_at, id), or (partner, disclosed_at, id), so a
    page is a range scan at any size; the other filters narrow that range."""
    qs = DisclosureRecord.objects.select_related("person", "partner", "agreement", "disclosed_by")
    if date_from:  # whole days in UTC, as bounds on the indexed column (not a cast of it)
        qs = qs.filter(disclosed_at__gte=datetime.combine(date_from, time.min, tzinfo=UTC))
    if date_to:
        qs = qs.filter(disclosed_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC))
    if partner:
        qs = qs.filter(partner_id=partner)
    if agreement:
        qs = qs.filter(agreement_id=agreement)
    if kind:
        qs = qs.filter(message_type=kind)
    if outcome == "disclosed":
        qs = qs.filter(delivery=DisclosureRecord.Delivery.DELIVERED)
    elif outcome == "not_disclosed":
        qs = qs.exclude(delivery=DisclosureRecord.Delivery.DELIVERED)
    elif outcome:
        qs = qs.filter(delivery=outcome)
    return qs.order_by("-disclosed_at", "-id")


def disclosures_page(qs, *, before: str = "", limit: int = 50):
    """One keyset page of `disclosures()`: (rows, the cursor of the next page or None). The cursor is the last row's
    (disclosed_at, id), so no entry is shown twice or skipped however many are added meanwhile."""
    from django.utils.dateparse import parse_datetime

    at, _, pk = before.partition("|")
    at = parse_datetime(at) if at else None
    if at is not None and pk.isdigit():
        qs = qs.filter(Q(disclosed_at__lt=at) | Q(disclosed_at=at, id__lt=int(pk)))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (f"{rows[-1].disclosed_at.isoformat()}|{rows[-1].pk}" if more else None)


def authority_beside_agreement(record: DisclosureRecord) -> str:
    """The legal authority as the accounting shows it next to the agreement's label: without the agreement's title,
    which the record's authority starts with (`Agreement.legal_authority`, or the title alone) and the label names."""
    authority, title = record.legal_authority.strip(), record.agreement.title.strip()
    if title and authority.startswith(title):
        authority = authority[len(title):].lstrip(" ;,—-")
    return authority


def accounting_rows(records) -> list[tuple[DisclosureRecord, str]]:
    """Each disclosure with its authority beyond the agreement (empty when the agreement is the whole authority)."""
    return [(r, authority_beside_agreement(r)) for r in records]


def access_log(*, user_term: str = "", person: Person | None = None, date_from: date | None = None, date_to: date | None = None,
               before_id: int | None = None, limit: int = 50):
    """Keyset-paginated (newest first): cheap at any size, no COUNT(*)."""
    qs = AccessLogEntry.objects.select_related("user", "person").order_by("-id")
    if user_term:
        qs = qs.filter(Q(user__username__iexact=user_term) | Q(user__last_name__iexact=user_term))
    if person is not None:
        qs = qs.filter(person=person)
    if date_from:
        qs = qs.filter(at__date__gte=date_from)
    if date_to:
        qs = qs.filter(at__date__lte=date_to)
    if before_id:
        qs = qs.filter(id__lt=before_id)
    rows = list(qs[: limit + 1])
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)


def latest_verification() -> ChainVerification | None:
    return ChainVerification.objects.first()
