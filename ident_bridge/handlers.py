"""What an ICD message means is the apps' business: they register their handlers when they start.

ident_bridge knows the wire (the ICD, receipt, the outbox, transport, the simulator) and imports no CPMS or ICTS
app. Each app's `AppConfig.ready()` registers, for the message types it owns:

- `on_receive(type, handler, when=member)`: apply a stored inbound message, inside the processing transaction
  (`handler(message=..., inbound=row)`; may raise inbound.NotReady or inbound.Ignored). `when` picks the handler
  by a member of the body (`query.response` carries either `query_ref` or `augment_ref`).
- `on_references(type, check, when=member)`: the first copy's reference errors at receipt (`check(message)` returns
  a list of icd.ICDError; ICD §3: an unknown reference is answered 400), inside the receipt's transaction; it raises
  ReferenceConflict when the message contradicts one already accepted (answered 409).
- `on_outbound_sent(type, handler)`: IDENT accepted our message (its 2xx), in the transaction that records it.
- `on_outbound_failed(type, handler)` / `on_outbound_delivered(type, handler)`: our message was refused by IDENT,
  rejected by the partner or expired, or it reached the partner (`handler(outbox=row)`).
- `on_attention(listener)`: someone to tell whenever a message needs a person (`listener(kind, row, summary)`).

An IDENT → CPMS type without a receive handler is a configuration error that `manage.py check` (and so every start
of the web server or a worker) reports, not a failure found when the first such message arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core import checks

from . import icd


class ReferenceConflict(Exception):
    """Raised by a reference check: the message contradicts one already accepted (ICD §3: a second `delivery.ack` of a
    message with the other status). Answered 409; nothing is stored."""

    def __init__(self, errors: list[icd.ICDError]):
        super().__init__("; ".join(f"{e.pointer}: {e.detail}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class _Entry:
    when: str | None
    handler: Callable


_receive: dict[str, list[_Entry]] = {}
_references: dict[str, list[_Entry]] = {}
_failed: dict[str, list[Callable]] = {}
_sent: dict[str, list[Callable]] = {}
_delivered: dict[str, list[Callable]] = {}
_attention: list[Callable] = []


def _add(table: dict, message_type: str, entry) -> None:
    entries = table.setdefault(message_type, [])
    if entry not in entries:  # ready() may run twice (tests, autoreload): registering is idempotent
        entries.append(entry)


def on_receive(message_type: str, handler: Callable, *, when: str | None = None) -> None:
    if message_type not in icd.IDENT_TO_CPMS:
        raise ValueError(f"{message_type} is not a message IDENT sends to CPMS (ICD §3)")
    _add(_receive, message_type, _Entry(when, handler))


def on_references(message_type: str, check: Callable, *, when: str | None = None) -> None:
    _add(_references, message_type, _Entry(when, check))


def on_outbound_failed(message_type: str, handler: Callable) -> None:
    if message_type not in icd.CPMS_TO_IDENT:
        raise ValueError(f"{message_type} is not a message CPMS sends to IDENT (ICD §3)")
    _add(_failed, message_type, handler)


def on_outbound_sent(message_type: str, handler: Callable) -> None:
    if message_type not in icd.CPMS_TO_IDENT:
        raise ValueError(f"{message_type} is not a message CPMS sends to IDENT (ICD §3)")
    _add(_sent, message_type, handler)


def on_outbound_delivered(message_type: str, handler: Callable) -> None:
    _add(_delivered, message_type, handler)


def on_attention(listener: Callable) -> None:
    if listener not in _attention:
        _attention.append(listener)


def _pick(table: dict, message: dict) -> list[Callable]:
    body = message.get("body") or {}
    return [e.handler for e in table.get(message["type"], []) if e.when is None or e.when in body]


def receive_handler(message: dict) -> Callable | None:
    found = _pick(_receive, message)
    return found[0] if found else None


def reference_errors(message: dict) -> list[icd.ICDError]:
    errors: list[icd.ICDError] = []
    for check in _pick(_references, message):
        errors.extend(check(message))
    return errors


def outbound_failed(row) -> None:
    for handler in _failed.get(row.type, []):
        handler(outbox=row)


def outbound_sent(row) -> None:
    for handler in _sent.get(row.type, []):
        handler(outbox=row)


def outbound_delivered(row) -> None:
    for handler in _delivered.get(row.type, []):
        handler(outbox=row)


def attention(kind: str, row, summary: str) -> None:
    for listener in _attention:
        listener(kind, row, summary)


@checks.register()
def check_every_inbound_type_is_handled(app_configs=None, **kwargs):
    """Every type IDENT may send has a handler (and, for `query.response`, one per shape of its body)."""
    errors = []
    expected = [("query.result", None), ("query.response", "query_ref"), ("query.response", "augment_ref"),
                ("request.received", None), ("delivery.ack", None)]
    assert {t for t, _ in expected} == set(icd.IDENT_TO_CPMS), "a new IDENT → CPMS type needs a line here"
    for message_type, member in expected:
        body = {member: "x"} if member else {}
        if receive_handler({"type": message_type, "body": body}) is None:
            errors.append(checks.Error(
                f"No handler is registered for IDENT's {message_type} messages"
                + (f" carrying {member}" if member else "") + ".",
                hint="Register one in the owning app's AppConfig.ready() with ident_bridge.handlers.on_receive().",
                id="ident_bridge.E001"))
    return errors
