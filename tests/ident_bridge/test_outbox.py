"""The outbox relay: same bytes on every attempt, backoff on transient errors, 4xx final and told to a person."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from cpms.core.models import Notification
from cpms.queries import services
from cpms.queries.workflow import QueryStatus
from ident_bridge import outbox
from ident_bridge.inbound import inbound_process
from ident_bridge.models import OutboxMessage
from ident_bridge.transport import BridgeError
from tests.factories import AgreementFactory, CaseFactory, UserFactory, store_inbound
from tests.fakes import FakeTransport


@pytest.fixture
def query(db, django_capture_on_commit_callbacks):
    officer = UserFactory(role="officer")
    AgreementFactory(partner__code="CAN")
    case = CaseFactory(officers=[officer])
    with django_capture_on_commit_callbacks(execute=False):
        return services.query_submit(actor=officer, case=case, partner_code="CAN", reason="other", priority="low")


def row_of(query):
    return query.rounds.get(number=1).outbox_message


def test_enqueue_outside_a_transaction_is_a_bug():
    with pytest.raises(RuntimeError):
        outbox.outbox_enqueue(message_type="query.submit", partner="CAN", body={}, ref="x")


def test_invalid_outbound_message_is_never_written(db):
    with pytest.raises(outbox.OutboundMessageInvalid), transaction.atomic():
        outbox.outbox_enqueue(message_type="query.submit", partner="CAN", body={"query_ref": "Q"}, ref="Q")
    assert not OutboxMessage.objects.exists()


def test_success_marks_sent(query):
    t = FakeTransport()
    assert outbox.outbox_deliver(row_of(query).pk, transport=t) == "sent"
    row = row_of(query)
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 1 and row.lease_until is None and t.sent == [bytes(row.raw)]


def test_transient_error_backs_off_and_retries_with_identical_bytes(query):
    t = FakeTransport(BridgeError("503", permanent=False, status=503), BridgeError("timeout", permanent=False))
    pk = row_of(query).pk
    assert outbox.outbox_deliver(pk, transport=t) == "pending"
    row = OutboxMessage.objects.get(pk=pk)
    assert row.next_attempt_at > timezone.now() and row.last_error == "503"
    assert outbox.outbox_deliver(pk, transport=t) is None  # not due yet: nobody sends it
    OutboxMessage.objects.filter(pk=pk).update(next_attempt_at=timezone.now())
    outbox.outbox_deliver(pk, transport=t)
    OutboxMessage.objects.filter(pk=pk).update(next_attempt_at=timezone.now())
    assert outbox.outbox_deliver(pk, transport=t) == "sent"
    assert len(t.sent) == 3 and len(set(t.sent)) == 1
    assert json.loads(t.sent[0])["message_id"] == str(row.message_id)


def test_backoff_grows_and_is_capped(settings):
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 2
    settings.OUTBOX_BACKOFF_MAX_SECONDS = 60
    assert all(1 <= outbox.backoff_seconds(1) <= 2 for _ in range(20))
    assert all(8 <= outbox.backoff_seconds(4) <= 16 for _ in range(20))
    assert all(30 <= outbox.backoff_seconds(30) <= 60 for _ in range(20))


def test_a_claimed_row_is_not_sent_by_a_second_relay_until_its_lease_expires(query, settings):
    pk = row_of(query).pk
    assert outbox._claim(pk) is True
    assert outbox.outbox_deliver(pk, transport=FakeTransport()) is None
    assert pk not in outbox.outbox_due_ids()
    OutboxMessage.objects.filter(pk=pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert pk in outbox.outbox_due_ids()
    assert outbox.outbox_deliver(pk, transport=FakeTransport()) == "sent"


def test_4xx_is_final_fails_the_query_and_tells_the_officer(query):
    problem = {"errors": [{"pointer": "/body/fin", "detail": "unknown"}]}
    t = FakeTransport(BridgeError("400: Invalid message", permanent=True, status=400, problem=problem))
    assert outbox.outbox_deliver(row_of(query).pk, transport=t) == "rejected"
    row = row_of(query)
    row.refresh_from_db()
    assert row.status == "rejected" and "/body/fin" in row.last_error
    query.refresh_from_db()
    assert query.status == QueryStatus.FAILED
    assert Notification.objects.filter(query=query, kind="failed").exists()
    assert outbox.outbox_deliver(row.pk, transport=t) is None  # never retried


def test_gives_up_after_the_retry_horizon(query, settings):
    settings.OUTBOX_RETRY_HORIZON_HOURS = 24
    pk = row_of(query).pk
    OutboxMessage.objects.filter(pk=pk).update(created_at=timezone.now() - timedelta(hours=25))
    assert outbox.outbox_deliver(pk, transport=FakeTransport(BridgeError("down", permanent=False))) == "expired"
    query.refresh_from_db()
    assert query.status == QueryStatus.FAILED


def _ack(query, status):
    from ident_bridge import icd

    row = row_of(query)
    return icd.envelope("delivery.ack", "CAN", {"acked_message_id": str(row.message_id), "status": status})


def test_delivery_ack_delivered_is_recorded(query):
    inbound_process(store_inbound(_ack(query, "delivered")).pk)
    row = row_of(query)
    row.refresh_from_db()
    assert row.delivery_status == "delivered" and row.delivery_at is not None
    query.refresh_from_db()
    assert query.status == QueryStatus.SUBMITTED


def test_delivery_ack_rejected_fails_the_query(query):
    inbound_process(store_inbound(_ack(query, "rejected")).pk)
    query.refresh_from_db()
    assert query.status == QueryStatus.FAILED
