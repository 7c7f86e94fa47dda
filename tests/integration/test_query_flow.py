"""A USCIS query end to end, over real HTTP: CPMS (live server) ⇄ IDENT simulator, with a real Celery worker,
Redis and PostgreSQL (tests/integration/harness.py), including the failures the ICD's delivery rules are for.

The simulator's galleries (docs/simulator.md): FIN1000000001 matches in CAN only, FIN1000000002 in AUS only,
FIN1000000003 in both, FIN1000000004 nowhere.
"""

from __future__ import annotations

import hashlib

import pytest

from cpms.queries.models import InternationalQuery, Match, PartnerResponse
from cpms.queries.services import RoundLimitReached, query_request_round3, query_submit
from ident_bridge.models import InboundMessage, OutboxMessage, RejectedInbound
from tests.factories import AgreementFactory, CaseFactory, PersonFactory, UserFactory
from tests.integration.harness import Stack, describe_query, dump, wait_for_status

pytestmark = pytest.mark.integration


@pytest.fixture
def officer(cpms_stack):
    AgreementFactory(partner__code="CAN")
    AgreementFactory(partner__code="AUS")
    return UserFactory(username="officer", role="officer")


def submit(officer, fin: str, partner: str) -> InternationalQuery:
    case = CaseFactory(person=PersonFactory(fin=fin), officers=[officer])
    return query_submit(actor=officer, case=case, partner_code=partner, reason="asylum_claimant", priority="high")


def statuses(query) -> list[str]:
    return list(query.transitions.order_by("at", "id").values_list("to_status", flat=True))


def wait_outbox_delivered(stack: Stack, query) -> list[OutboxMessage]:
    """Every message CPMS wrote for the query was accepted by IDENT and acknowledged as delivered."""

    def settled():
        rows = list(OutboxMessage.objects.filter(ref=query.query_ref))
        return rows if rows and all(r.status == "sent" and r.delivery_status == "delivered" for r in rows) else None

    return stack.wait_until(settled, what=f"{query.query_ref}'s outbox messages to be sent and delivered",
                            describe=lambda: describe_query(query.pk))


def wait_inbound_processed(stack: Stack, query) -> list[InboundMessage]:
    """Everything the simulator sent about the query has reached CPMS and been processed."""

    def done():
        outbound = stack.sim.outbound()  # one query per test: everything the simulator sent is about it
        if not outbound or any(m["status"] != "sent" for m in outbound):
            return None
        rows = list(InboundMessage.objects.all())
        if {str(r.message_id) for r in rows} >= {m["message_id"] for m in outbound} and all(r.processed_at for r in rows):
            return rows
        return None

    return stack.wait_until(done, what=f"the simulator's messages about {query.query_ref} to be processed by CPMS",
                            describe=lambda: describe_query(query.pk) + "\nsimulator outbound:\n" + dump(stack.sim.outbound()))


def assert_simulator_processed_each_once(stack: Stack, outbox_rows: list[OutboxMessage]) -> list[dict]:
    received = stack.sim.received()
    ids = [r["message_id"] for r in received]
    assert len(ids) == len(set(ids)), f"the simulator stored a message twice:\n{dump(received)}"
    assert set(ids) == {str(r.message_id) for r in outbox_rows}, dump(received)
    assert all(r["processed"] for r in received), dump(received)
    assert stack.sim.health() == {"ok": True}
    return received


def test_no_match_ends_the_query_after_round_one(cpms_stack: Stack, officer):
    query = submit(officer, "FIN1000000004", "CAN")

    query = wait_for_status(cpms_stack, query, "no_match")

    rounds = list(query.rounds.all())
    assert [(r.number, r.outcome) for r in rounds] == [(1, "no_match")] and rounds[0].answered_at
    assert statuses(query) == ["submitted", "no_match"]
    assert not Match.objects.exists() and not PartnerResponse.objects.exists()
    assert_simulator_processed_each_once(cpms_stack, wait_outbox_delivered(cpms_stack, query))
    wait_inbound_processed(cpms_stack, query)
    assert query.rounds.count() == 1  # nothing arrived later: no round 2 after a no-match (ICD §3)


def test_match_round_two_then_round_three_then_no_fourth(cpms_stack: Stack, officer):
    query = submit(officer, "FIN1000000001", "CAN")

    query = wait_for_status(cpms_stack, query, "responded")
    assert statuses(query) == ["submitted", "awaiting_round2", "responded"]
    assert query.match.partner_person_id and query.match.biographic["family_name"] == "Haddad"
    round2 = PartnerResponse.objects.get(query=query, round__number=2)
    attachments = list(round2.attachments.all())
    assert len(attachments) == 2
    for att in attachments:
        with att.file.open("rb") as fh:
            data = fh.read()
        assert hashlib.sha256(data).hexdigest() == att.sha256 and len(data) == att.size, att.filename

    query_request_round3(actor=officer, query=query, requested_items=["immigration_history", "document_images"],
                         justification="The applicant's account of travel through Canada needs checking.")
    query = wait_for_status(cpms_stack, query, "completed")
    round3 = PartnerResponse.objects.get(query=query, round__number=3)
    assert round3.attachments.count() == 1 and "immigration_history" in round3.person

    sent_before = OutboxMessage.objects.count()
    with pytest.raises(RoundLimitReached):
        query_request_round3(actor=officer, query=query, requested_items=["biographic"], justification="once more")
    assert OutboxMessage.objects.count() == sent_before  # refused, and nothing was sent

    rows = wait_outbox_delivered(cpms_stack, query)
    assert sorted(r.type for r in rows) == ["query.followup", "query.submit"]
    assert_simulator_processed_each_once(cpms_stack, rows)


def test_simulator_down_then_back_delivers_once(cpms_stack: Stack, officer):
    sim = cpms_stack.sim
    sim.set_faults(fail_next=1000)  # IDENT answers 503 ...
    query = submit(officer, "FIN1000000002", "AUS")
    row = OutboxMessage.objects.get(ref=query.query_ref)
    cpms_stack.wait_until(
        lambda: OutboxMessage.objects.filter(pk=row.pk, attempts__gte=2, last_error__startswith="503").exists(),
        what="two attempts answered 503", describe=lambda: describe_query(query.pk))
    sim.stop()  # ... then is down altogether (connection refused) ...
    cpms_stack.wait_until(
        lambda: OutboxMessage.objects.filter(pk=row.pk, last_error__startswith="cannot connect").exists(),
        what="an attempt refused while the simulator is down", describe=lambda: describe_query(query.pk))
    assert OutboxMessage.objects.get(pk=row.pk).status == "pending"
    sim.start()  # ... and comes back with its state file (and no faults)

    query = wait_for_status(cpms_stack, query, "responded")

    rows = wait_outbox_delivered(cpms_stack, query)
    assert [r.pk for r in rows] == [row.pk], "CPMS wrote the message once and only retried it"
    assert rows[0].attempts >= 4
    assert_simulator_processed_each_once(cpms_stack, rows)
    assert statuses(query) == ["submitted", "awaiting_round2", "responded"]


def test_worker_killed_mid_send_is_replaced_and_nothing_is_processed_twice(cpms_stack: Stack, officer):
    cpms_stack.sim.set_faults(delay_seconds=3)  # IDENT takes 3 s to answer: the send is in flight
    query = submit(officer, "FIN1000000003", "CAN")
    row = OutboxMessage.objects.get(ref=query.query_ref)
    cpms_stack.wait_until(
        lambda: OutboxMessage.objects.filter(pk=row.pk, attempts__gte=1, lease_until__isnull=False).exists(),
        what="the worker to claim the outbox message", describe=lambda: describe_query(query.pk))

    cpms_stack.worker.kill()
    assert OutboxMessage.objects.get(pk=row.pk).status == "pending"
    cpms_stack.sim.set_faults(delay_seconds=0)
    cpms_stack.worker.start()  # a new worker; the dead one's lease expires and the message is sent again

    query = wait_for_status(cpms_stack, query, "responded")

    rows = wait_outbox_delivered(cpms_stack, query)
    assert [r.pk for r in rows] == [row.pk] and rows[0].attempts >= 2
    assert_simulator_processed_each_once(cpms_stack, rows)
    assert statuses(query) == ["submitted", "awaiting_round2", "responded"]


def test_duplicate_deliveries_have_one_effect_each(cpms_stack: Stack, officer):
    cpms_stack.sim.set_faults(duplicate_deliveries=True)  # IDENT posts every message to CPMS twice
    query = submit(officer, "FIN1000000001", "CAN")

    query = wait_for_status(cpms_stack, query, "responded")

    inbound = wait_inbound_processed(cpms_stack, query)
    outbound = cpms_stack.sim.outbound()
    assert all(m["attempts"] >= 2 for m in outbound), f"the fault did not duplicate:\n{dump(outbound)}"
    assert sorted(str(r.message_id) for r in inbound) == sorted(m["message_id"] for m in outbound)
    assert InboundMessage.objects.count() == len({m["message_id"] for m in outbound})
    assert sorted(r.type for r in inbound) == ["delivery.ack", "query.response", "query.result"]
    assert Match.objects.filter(query=query).count() == 1
    assert PartnerResponse.objects.filter(query=query).count() == 1
    assert statuses(query) == ["submitted", "awaiting_round2", "responded"]
    assert not RejectedInbound.objects.exists(), list(RejectedInbound.objects.values("status", "detail"))
    assert_simulator_processed_each_once(cpms_stack, wait_outbox_delivered(cpms_stack, query))
