"""An accounting that tells the truth about what left (issue 17): each entry keeps when it was queued and what became
of its message; only what IDENT accepted and no partner rejected counts as disclosed, dated by IDENT's acceptance."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpms.disclosure.models import DisclosureRecord
from cpms.queries import services
from ident_bridge.models import OutboxMessage
from ident_bridge.outbox import outbox_deliver, outbox_record_delivery, outbox_retry_expired
from ident_bridge.transport import BridgeError
from tests.factories import AgreementFactory, CaseFactory, UserFactory
from tests.fakes import FakeTransport

D = DisclosureRecord.Delivery


def submit(officer, partner="CAN"):
    return services.query_submit(actor=officer, case=CaseFactory(officers=[officer]), partner_code=partner,
                                 reason="asylum_claimant", priority="high")


@pytest.fixture
def queued(db, django_capture_on_commit_callbacks):
    officer = UserFactory(role="officer")
    AgreementFactory(partner__code="CAN")
    with django_capture_on_commit_callbacks(execute=False):
        query = submit(officer)
    outbox = OutboxMessage.objects.get(ref=query.query_ref)
    return query, outbox, DisclosureRecord.objects.get(outbox_message=outbox)


def refused_by_ident():
    return BridgeError("400: schema violation", permanent=True, status=400,
                       problem={"errors": [{"pointer": "/body/fin", "detail": "unknown FIN"}]})


def test_an_entry_is_pending_until_ident_accepts_it_and_dated_by_the_acceptance(queued):
    _, outbox, record = queued
    assert record.delivery == D.PENDING and not record.is_disclosed and record.queued_at == record.disclosed_at
    assert outbox_deliver(outbox.pk, transport=FakeTransport()) == OutboxMessage.Status.SENT
    record.refresh_from_db()
    outbox.refresh_from_db()
    assert record.delivery == D.DELIVERED and record.is_disclosed
    assert record.disclosed_at == outbox.sent_at >= record.queued_at


def test_a_message_ident_refused_is_not_a_disclosure(queued):
    _, outbox, record = queued
    outbox_deliver(outbox.pk, transport=FakeTransport(refused_by_ident()))
    record.refresh_from_db()
    assert record.delivery == D.REFUSED and not record.is_disclosed
    assert "unknown FIN" in record.delivery_detail


def test_a_message_the_partner_rejected_is_not_a_disclosure_and_a_later_ack_changes_nothing(queued):
    _, outbox, record = queued
    outbox_deliver(outbox.pk, transport=FakeTransport())
    outbox_record_delivery(acked_message_id=str(outbox.message_id), status="rejected", detail="FIN not in our gallery")
    outbox_record_delivery(acked_message_id=str(outbox.message_id), status="delivered")
    record.refresh_from_db()
    assert record.delivery == D.REJECTED and record.delivery_detail == "FIN not in our gallery"


def test_a_message_that_expired_is_not_a_disclosure(queued, settings):
    _, outbox, record = queued
    OutboxMessage.objects.filter(pk=outbox.pk).update(created_at=timezone.now() - timedelta(hours=49))
    outbox_deliver(outbox.pk, transport=FakeTransport(BridgeError("cannot connect", permanent=False)))
    record.refresh_from_db()
    assert record.delivery == D.EXPIRED and "cannot connect" in record.delivery_detail


def test_the_accounting_shows_a_refused_query_as_not_disclosed_with_the_reason(client, queued):
    query, outbox, record = queued
    outbox_deliver(outbox.pk, transport=FakeTransport(refused_by_ident()))
    privacy_officer = UserFactory(role="privacy_officer")
    client.force_login(privacy_officer)
    session = client.session
    session["system_use_accepted_at"] = "2026-11-25T00:00:00Z"
    session.save()
    page = client.get(reverse("privacy-accounting", args=[query.person_id])).content.decode()
    assert "0 disclosures; 1 message that did not reach the partner, listed as not disclosed" in page
    assert "Not disclosed" in page and "IDENT refused the message" in page and "unknown FIN" in page
    csv = client.get(reverse("privacy-accounting-csv", args=[query.person_id])).content.decode().splitlines()
    header, row = csv[0].split(","), csv[1].split(",")
    assert row[header.index("disclosed")] == "no" and row[header.index("disclosed_at")] == ""
    assert row[header.index("outcome")] == "Not disclosed: IDENT refused the message"
    timeline = client.get(reverse("privacy-person", args=[query.person_id])).content.decode()
    assert "(not disclosed: IDENT refused the message)" in timeline


# --- the property: disclosed entries are exactly the messages IDENT accepted and no partner rejected -------------

MESSAGES = 3
operations = st.lists(st.one_of(
    st.tuples(st.just("deliver"), st.integers(0, MESSAGES - 1),
              st.sampled_from(["accept", "refuse", "unavailable", "unavailable_too_long"])),
    st.tuples(st.just("ack"), st.integers(0, MESSAGES - 1), st.sampled_from(["delivered", "rejected"])),
    st.tuples(st.just("retry_expired"), st.integers(0, MESSAGES - 1), st.just("")),
), max_size=14)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=operations)
def test_disclosed_entries_are_exactly_what_ident_accepted_and_no_partner_rejected(db, ops):
    with transaction.atomic():
        officer = UserFactory(role="officer")
        AgreementFactory(partner__code="CAN")
        rows = [OutboxMessage.objects.get(ref=submit(officer).query_ref) for _ in range(MESSAGES)]
        accepted, first_ack = set(), {}
        for op, i, arg in ops:
            row = rows[i]
            if op == "deliver":
                OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())  # its retry is due
                if arg == "unavailable_too_long":
                    OutboxMessage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=49),
                                                                   retried_at=None)
                answer = {"accept": None, "refuse": refused_by_ident(),
                          "unavailable": BridgeError("503", permanent=False, status=503),
                          "unavailable_too_long": BridgeError("503", permanent=False, status=503)}[arg]
                status = outbox_deliver(row.pk, transport=FakeTransport(*([answer] if answer else [])))
                if status == OutboxMessage.Status.SENT:
                    accepted.add(i)
            elif op == "ack":
                outbox_record_delivery(acked_message_id=str(row.message_id), status=arg)  # duplicates included
                first_ack.setdefault(i, arg)
            else:
                outbox_retry_expired(row.pk)  # a query's expired message is never sent again: nothing happens
        records = {r.outbox_message_id: r for r in DisclosureRecord.objects.filter(outbox_message__in=rows)}
        disclosed = {i for i, row in enumerate(rows) if records[row.pk].is_disclosed}
        assert disclosed == {i for i in accepted if first_ack.get(i) != "rejected"}, (ops, disclosed, accepted, first_ack)
        for i in disclosed:
            rows[i].refresh_from_db()
            assert records[rows[i].pk].disclosed_at == rows[i].sent_at
        transaction.set_rollback(True)
