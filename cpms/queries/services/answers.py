"""What partners answer to our queries (called by ident_bridge's routing inside the processing transaction), what
becomes of our messages, and the round clock: a round without an answer is flagged overdue."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cpms.audit.services import audited_update
from cpms.core.files import store_content_addressed
from cpms.core.models import Notification
from cpms.core.notifications import notify
from ident_bridge import filecheck, icd

from ..models import InternationalQuery, Match, PartnerResponse, QueryRound, ResponseAttachment
from ..workflow import QueryStatus, transition


def inbound_reference_errors(message: dict) -> list[icd.ICDError]:
    """ICD §3 at receipt: a result or response for a query CPMS did not send to this partner is answered 400."""
    exists = InternationalQuery.objects.filter(query_ref=message["body"]["query_ref"], partner_id=message["partner"]).exists()
    return [] if exists else [icd.ICDError("/body/query_ref", "is not a query CPMS sent to this partner")]


def _query_for_message(message: dict) -> InternationalQuery:
    return InternationalQuery.objects.select_for_update().get(query_ref=message["body"]["query_ref"], partner_id=message["partner"])


def round1_record_result(*, message: dict, inbound) -> InternationalQuery:
    """`query.result`: no_match ends the query; a match stores the minimal identity data and opens round 2."""
    from ident_bridge.inbound import Ignored

    body = message["body"]
    query = _query_for_message(message)
    rnd = query.rounds.get(number=1)
    if rnd.answered_at is not None:
        raise Ignored(f"round 1 of {query.query_ref} already has its result")
    if query.status != QueryStatus.SUBMITTED:
        raise Ignored(f"{query.query_ref} is '{query.status}', not waiting for a result")
    now = timezone.now()
    rnd.answered_at = now
    rnd.outcome = body["outcome"]
    rnd.save(update_fields=["answered_at", "outcome"])
    _clear_overdue(query)
    if body["outcome"] == "no_match":
        transition(query, QueryStatus.NO_MATCH, reason=f"{query.partner.name} found no match.")
        _notify(query, Notification.Kind.RESPONSE, f"{query.partner.name}: no match for {query.query_ref}.")
        return query
    biographic = {k: v for k, v in body["biographic"].items() if k in icd.IDENTITY_ELEMENTS}
    Match.objects.create(partner=query.partner, query=query, partner_person_id=body["partner_person_id"], biographic=biographic,
                         inbound_message=inbound)
    # IDENT sends the second query by itself after a match (second_query_sent): round 2 starts now.
    QueryRound.objects.create(query=query, number=2, started_at=now, requested_items=[])
    transition(query, QueryStatus.AWAITING_ROUND2, reason=f"{query.partner.name} reported a match; IDENT sent the second query (round 2).")
    _notify(query, Notification.Kind.RESPONSE, f"{query.partner.name} reports a match for {query.query_ref}.")
    return query


def round_record_response(*, message: dict, inbound) -> PartnerResponse:
    """`query.response` for round 2 or 3: store the partner's data and attachments (sha256 already verified)."""
    from ident_bridge.inbound import Ignored, NotReady

    body = message["body"]
    number = body["round"]
    query = _query_for_message(message)
    rnd = query.rounds.filter(number=number).first()
    if rnd is None:
        if number == 2 and query.status == QueryStatus.SUBMITTED:
            # IDENT's round 2 overtook the round-1 result (retries reorder): process it after the result.
            raise NotReady(f"round 2 of {query.query_ref} arrived before its round-1 result")
        raise Ignored(f"{query.query_ref} has no round {number}")
    if hasattr(rnd, "response"):
        raise Ignored(f"round {number} of {query.query_ref} is already answered")
    expected = QueryStatus.AWAITING_ROUND2 if number == 2 else QueryStatus.AWAITING_ROUND3
    if query.status != expected:
        raise Ignored(f"{query.query_ref} is '{query.status}', not waiting for round {number}")
    response = PartnerResponse.objects.create(
        query=query,
        round=rnd,
        responder=body["responder"],
        responded_at=_parse_dt(body["responded_at"]),
        person=body["person"],
        inbound_message=inbound,
    )
    store_attachments(response, message)
    rnd.answered_at = timezone.now()
    rnd.outcome = "response"
    rnd.save(update_fields=["answered_at", "outcome"])
    transition(query, QueryStatus.RESPONDED if number == 2 else QueryStatus.COMPLETED, reason=f"{query.partner.name} answered round {number}.")
    _clear_overdue(query)
    _notify(query, Notification.Kind.RESPONSE, f"{query.partner.name} answered round {number} of {query.query_ref}.")
    return response


def store_attachments(response: PartnerResponse, message: dict) -> None:
    """Write a received message's attachments (already verified at receipt) beside their response.

    An image is stored as its re-encoded copy (its pixels alone: no metadata, nothing appended), so what officers see
    and download carries nothing the partner's file hid; the original stays in the raw inbound message, the evidence
    that ICD §7's sha256 (kept as `received_sha256`) was checked against. Receipt accepted only images that re-encode,
    so this cannot fail on a message that was answered 202."""
    decoded, errors = icd.decode_attachments(message)
    if errors:  # checked at receipt; a stored message that fails now is corrupt
        raise ValueError("stored message has invalid attachments: " + "; ".join(e.detail for e in errors))
    for position, att in enumerate(decoded):
        data = att.data if att.media_type == "application/pdf" else filecheck.reencode_image(att.data, att.media_type)
        digest = icd.sha256_hex(data)
        row = ResponseAttachment(
            response=response, position=position, filename=att.filename, media_type=att.media_type, kind=att.kind,
            sha256=digest, received_sha256=att.sha256, size=len(data),
        )
        row.file.name = store_content_addressed(row.file.field.generate_filename(row, digest), data)
        row.save()


def response_attachments_redraw() -> list[str]:
    """Partners' images stored before they were drawn again from their pixels alone (issue 16: their `sha256` is
    still the partner's) are redrawn now, unless they carry nothing but their pixels already; the original stays in
    the raw inbound message. A line per change; idempotent (a redrawn row's `sha256` is no longer the partner's)."""
    done = []
    pending = (ResponseAttachment.objects.filter(media_type__startswith="image/", sha256=models.F("received_sha256"))
               .order_by("pk").values_list("pk", flat=True))
    for pk in pending.iterator(chunk_size=500):
        with transaction.atomic():
            row = ResponseAttachment.objects.select_for_update().select_related("response").get(pk=pk)
            stored = row.file.open("rb").read()
            try:
                data = filecheck.redrawn(stored, row.media_type)
            except filecheck.UnsafeFile as exc:
                done.append(f"partner file {row.pk} ({row.filename}): not redrawn ({exc}); it is served only as a download")
                continue
            if data is None:
                continue
            digest = icd.sha256_hex(data)
            row.sha256, row.size = digest, len(data)
            row.file.name = store_content_addressed(row.file.field.generate_filename(row, digest), data)
            row.save(update_fields=["sha256", "size", "file"])
            done.append(f"partner file {row.pk} ({row.filename}): redrawn ({len(stored)} bytes, now {len(data)})")
    return done


def _parse_dt(value: str) -> datetime:
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not an RFC 3339 date-time: {value}")
    return parsed


def query_record_outbound_failure(*, outbox) -> None:
    """IDENT refused our query message (4xx), the partner rejected it, or we gave up retrying: the query fails."""
    rnd = QueryRound.objects.filter(outbox_message=outbox).select_related("query").first()
    if rnd is None:
        return
    query = rnd.query
    if query.status in (QueryStatus.SUBMITTED, QueryStatus.AWAITING_ROUND2, QueryStatus.AWAITING_ROUND3):
        failure = (outbox.get_delivery_status_display() if outbox.delivery_status == outbox.Delivery.REJECTED
                   else outbox.get_status_display())
        transition(query, QueryStatus.FAILED, reason=f"The round-{rnd.number} message failed ({failure.lower()}): "
                   f"{outbox.last_error or outbox.delivery_detail}"[:300])
        _notify(query, Notification.Kind.FAILED,
                f"{query.query_ref}: IDENT did not accept the round-{rnd.number} message. An administrator has the details.")


# --- overdue -----------------------------------------------------------------------------------------------


def flag_overdue_rounds(*, now=None) -> int:
    """Flag queries whose current round has had no answer for QUERY_ROUND_OVERDUE_HOURS; tell the officers."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.QUERY_ROUND_OVERDUE_HOURS)
    ids = list(
        QueryRound.objects.filter(answered_at__isnull=True, started_at__lt=cutoff, query__overdue_since__isnull=True)
        .values_list("query_id", flat=True)[:1000]
    )
    flagged = 0
    for query in InternationalQuery.objects.filter(pk__in=ids).select_related("partner"):
        with transaction.atomic():
            locked = InternationalQuery.objects.select_for_update().filter(pk=query.pk, overdue_since__isnull=True).first()
            if locked is not None:
                audited_update(InternationalQuery, query.pk, overdue_since=now)
                flagged += 1
                _notify(query, Notification.Kind.OVERDUE,
                        f"{query.query_ref}: {query.partner.name} has not answered for {settings.QUERY_ROUND_OVERDUE_HOURS:g} hours.")
    return flagged


def _clear_overdue(query: InternationalQuery) -> None:
    if query.overdue_since:
        audited_update(InternationalQuery, query.pk, overdue_since=None)
        query.overdue_since = None


def _notify(query: InternationalQuery, kind: str, message: str) -> None:
    """The case's officers are told, with the case and the person the message is about."""
    user_ids = set(query.case.assigned_officers.values_list("pk", flat=True)) | {query.requestor_id}
    message = f"Case {query.case.receipt_number} ({query.person}): {message}"
    notify(user_ids, message, kind=kind, query=query)
