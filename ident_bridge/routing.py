"""From a stored message to the handler its owning app registered (ident_bridge.handlers). No app is imported here:
ident_bridge knows the wire, the apps know what a message means."""

from __future__ import annotations

import orjson

from . import handlers, icd
from .models import InboundMessage, OutboxMessage


def reference_of(message: dict) -> str:
    body = message["body"]
    if message["type"] == "delivery.ack":
        return body["acked_message_id"]
    return body.get("query_ref") or body.get("augment_ref") or body.get("request_ref") or ""


def unknown_reference_errors(message: dict) -> list[icd.ICDError]:
    """ICD §3: a first copy that refers to an unknown query_ref, request_ref, augment_ref or message is answered 400."""
    return handlers.reference_errors(message)


def handle_inbound(message: dict, row: InboundMessage) -> None:
    """Apply one message. Runs inside the processing transaction; raises inbound.NotReady / inbound.Ignored."""
    from .inbound import Ignored

    handler = handlers.receive_handler(message)
    if handler is None:  # `manage.py check` reports this at start-up (ident_bridge.E001)
        raise Ignored(f"no handler is registered for {message['type']} messages")
    handler(message=message, inbound=row)


def inbound_gave_up(row: InboundMessage) -> None:
    """A message from IDENT could not be processed after every attempt: whoever listens is told."""
    handlers.attention("inbound_gave_up", row, f"A {row.type} message from IDENT ({row.partner}, {row.ref or row.message_id}) "
                                               f"could not be processed: {row.last_error}")


def outbound_failed(row: OutboxMessage) -> None:
    """IDENT refused our message (4xx), the partner rejected it, or we gave up: the owning app and whoever listens."""
    handlers.outbound_failed(row)
    what = "was rejected by the partner" if row.delivery_status == OutboxMessage.Delivery.REJECTED else (
        "was refused by IDENT" if row.status == OutboxMessage.Status.REJECTED else "could not be delivered (gave up retrying)")
    handlers.attention("outbound_failed", row, f"Our {row.type} to {row.partner} ({row.ref}) {what}: "
                                               f"{row.last_error or row.delivery_detail}")


def outbound_sent(row: OutboxMessage) -> None:
    """IDENT accepted our message (2xx): the owning apps (the accounting dates its disclosure by it)."""
    handlers.outbound_sent(row)


def outbound_delivered(row: OutboxMessage) -> None:
    """IDENT says the partner has our message."""
    handlers.outbound_delivered(row)


def acked_message_errors(message: dict) -> list[icd.ICDError]:
    """ICD §3 (v1.2), at receipt of a first copy, inside its transaction: a `delivery.ack` names a message CPMS sent to
    the partner of the ack's own envelope (else 400), and the first ack of a message decides its delivery for good:
    a later one with the same status is accepted and changes nothing, one with the other status is a conflict (409).

    The outbox row is locked so that two acks of one message arriving together are decided one after the other: the
    second sees the first once it has committed."""
    acked = message["body"]["acked_message_id"]
    sent_to = OutboxMessage.objects.select_for_update().filter(message_id=acked).values_list("partner", flat=True).first()
    if sent_to is None:
        return [icd.ICDError("/body/acked_message_id", "is not a message CPMS sent")]
    if sent_to != message["partner"]:
        return [icd.ICDError("/body/acked_message_id", f"is not a message CPMS sent to {message['partner']}")]
    first = (InboundMessage.objects.filter(type="delivery.ack", ref=acked).exclude(message_id=message["message_id"])
             .order_by("received_at", "pk").values_list("raw", flat=True).first())
    if first is not None:
        decided = orjson.loads(bytes(first))["body"]["status"]
        if decided != message["body"]["status"]:
            raise handlers.ReferenceConflict([icd.ICDError(
                "/body/status", f"contradicts the first delivery.ack of this message, which said {decided}; the first ack is "
                                "final (ICD §3)")])
    return []


def record_delivery_ack(*, message: dict, inbound) -> None:
    from .outbox import outbox_record_delivery

    body = message["body"]
    outbox_record_delivery(acked_message_id=body["acked_message_id"], status=body["status"], detail=body.get("detail", ""))
