"""Which CPMS service handles which ICD message: one explicit table, no dynamic loading.

ident_bridge knows the wire; the business apps know what a message means. This module is the only
place where the two meet.
"""

from __future__ import annotations

from . import icd
from .models import InboundMessage, OutboxMessage


def reference_of(message: dict) -> str:
    body = message["body"]
    if message["type"] == "delivery.ack":
        return body["acked_message_id"]
    return body.get("query_ref") or body.get("augment_ref") or body.get("request_ref") or ""


def unknown_reference_errors(message: dict) -> list[icd.ICDError]:
    """ICD §3: a message that refers to an unknown query_ref, request_ref or augment_ref is answered 400."""
    from cpms.queries.models import InternationalQuery

    body = message["body"]
    kind = message["type"]
    if kind in ("query.result", "query.response") and "query_ref" in body:
        exists = InternationalQuery.objects.filter(query_ref=body["query_ref"], partner_id=message["partner"]).exists()
        return [] if exists else [icd.ICDError("/body/query_ref", "is not a query CPMS sent to this partner")]
    if kind == "query.response" and "augment_ref" in body:
        from cpms.partner_requests.models import Augmentation

        exists = Augmentation.objects.filter(augment_ref=body["augment_ref"], partner_request__partner_id=message["partner"]).exists()
        return [] if exists else [icd.ICDError("/body/augment_ref", "is not an augmentation request CPMS sent to this partner")]
    if kind == "request.received":
        from cpms.partner_requests.services import reference_errors

        errors = reference_errors(message)
        # Received before in another message, processed or not (the partial unique index backs this up for two
        # copies that arrive at the same moment).
        if (InboundMessage.objects.filter(type="request.received", partner=message["partner"], ref=body["request_ref"])
                .exclude(message_id=message["message_id"]).exists()):
            errors.append(icd.ICDError("/body/request_ref", "was already received from this partner in another message"))
        return errors
    if kind == "delivery.ack":
        exists = OutboxMessage.objects.filter(message_id=body["acked_message_id"]).exists()
        return [] if exists else [icd.ICDError("/body/acked_message_id", "is not a message CPMS sent")]
    return []


def handle_inbound(message: dict, row) -> None:
    """Apply one message. Runs inside the processing transaction; raises inbound.NotReady / inbound.Ignored."""
    from cpms.partner_requests import services as partner_requests
    from cpms.queries import services as queries

    from .inbound import Ignored
    from .outbox import outbox_record_delivery

    kind = message["type"]
    body = message["body"]
    if kind == "query.result":
        queries.round1_record_result(message=message, inbound=row)
    elif kind == "query.response" and "query_ref" in body:
        queries.round_record_response(message=message, inbound=row)
    elif kind == "query.response":
        partner_requests.augmentation_record_response(message=message, inbound=row)
    elif kind == "request.received":
        partner_requests.request_record_received(message=message, inbound=row)
    elif kind == "delivery.ack":
        outbox_record_delivery(acked_message_id=body["acked_message_id"], status=body["status"], detail=body.get("detail", ""))
    else:
        raise Ignored(f"CPMS does not handle {kind} messages yet")


def inbound_gave_up(row: InboundMessage) -> None:
    """A message from IDENT could not be processed after every attempt: the administrators are told."""
    from cpms.core.notifications import notify_admins

    notify_admins(f"A {row.type} message from IDENT ({row.partner}, {row.ref or row.message_id}) could not be processed: "
                  f"{row.last_error}", url=f"/admin/ident_bridge/inboundattention/{row.pk}/change/")


def outbound_failed(row: OutboxMessage) -> None:
    """IDENT refused our message (4xx), the partner rejected it, or we gave up: tell the business side and the
    administrators (every type: nothing that fails to leave goes unnoticed)."""
    from cpms.core.notifications import notify_admins
    from cpms.partner_requests import services as partner_requests
    from cpms.queries import services as queries
    from icts import services as icts

    if row.type in ("query.submit", "query.followup"):
        queries.query_record_outbound_failure(outbox=row)
    elif row.type == "request.reply":
        icts.package_record_delivery(outbox=row)
    elif row.type == "request.augment":
        partner_requests.augmentation_record_failure(outbox=row)
    what = "was rejected by the partner" if row.delivery_status == OutboxMessage.Delivery.REJECTED else (
        "was refused by IDENT" if row.status == OutboxMessage.Status.REJECTED else "could not be delivered (gave up retrying)")
    notify_admins(f"Our {row.type} to {row.partner} ({row.ref}) {what}: {row.last_error or row.delivery_detail}",
                  url=f"/admin/ident_bridge/outboxattention/{row.pk}/change/")


def outbound_delivered(row: OutboxMessage) -> None:
    """IDENT says the partner has our message."""
    from icts import services as icts

    if row.type == "request.reply":
        icts.package_record_delivery(outbox=row)
