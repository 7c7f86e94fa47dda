"""From a stored message to the handler its owning app registered (ident_bridge.handlers). No app is imported here:
ident_bridge knows the wire, the apps know what a message means."""

from __future__ import annotations

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


def outbound_delivered(row: OutboxMessage) -> None:
    """IDENT says the partner has our message."""
    handlers.outbound_delivered(row)


def acked_message_errors(message: dict) -> list[icd.ICDError]:
    exists = OutboxMessage.objects.filter(message_id=message["body"]["acked_message_id"]).exists()
    return [] if exists else [icd.ICDError("/body/acked_message_id", "is not a message CPMS sent")]


def record_delivery_ack(*, message: dict, inbound) -> None:
    from .outbox import outbox_record_delivery

    body = message["body"]
    outbox_record_delivery(acked_message_id=body["acked_message_id"], status=body["status"], detail=body.get("detail", ""))
