"""Nobody left uninformed (defect 8): an inbound message at the attempt limit, and every outbound message that IDENT
refuses, the partner rejects or that expires, tells the administrators and the person whose work it is, and waits
on an admin list with a way to retry or close it."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cpms.core.models import Notification
from cpms.partner_requests import services as request_services
from cpms.partner_requests.models import PartnerRequest
from cpms.queries import services as query_services
from ident_bridge import inbound, outbox
from ident_bridge.inbound import MAX_PROCESS_ATTEMPTS, inbound_process
from ident_bridge.models import InboundMessage, OutboxMessage
from ident_bridge.transport import BridgeError
from icts.models import IctsCase
from tests.factories import (AgreementFactory, CaseFactory, PersonFactory, UserFactory, cis_record, request_message,
                             store_inbound)
from tests.fakes import FakeTransport


@pytest.fixture
def admins(db):
    admin = UserFactory(role="admin", is_staff=True)
    return admin, UserFactory(username="root", is_superuser=True, is_staff=True)


def notified(user, words: str) -> list[Notification]:
    return [n for n in Notification.objects.filter(user=user) if words in n.message]


def admin_browser(user) -> Client:
    from django.urls import reverse

    client = Client()
    client.post(reverse("system-use"))
    client.force_login(user)
    return client


def test_inbound_message_at_the_attempt_limit_tells_the_admins_once_and_can_be_retried(admins, monkeypatch,
                                                                                       django_capture_on_commit_callbacks):
    admin, root = admins
    AgreementFactory(partner__code="CAN")
    monkeypatch.setattr("ident_bridge.outbox.default_transport", lambda: FakeTransport())
    row = store_inbound(request_message(request_ref="CAN-BROKEN-1"))

    def broken(message, row):
        raise RuntimeError("CIS index corrupt")

    with monkeypatch.context() as patched:
        patched.setattr("ident_bridge.routing.handle_inbound", broken)
        for _ in range(MAX_PROCESS_ATTEMPTS + 3):
            with pytest.raises(RuntimeError):
                inbound_process(row.pk)
    row.refresh_from_db()
    assert row.gave_up_at is not None and row.processed_at is None and "CIS index corrupt" in row.last_error
    for user in admins:
        assert len(notified(user, "could not be processed")) == 1  # once, not at every later attempt
    assert row.pk not in inbound.inbound_stale_ids()

    page = admin_browser(root).get("/admin/ident_bridge/inboundattention/")
    assert page.status_code == 200 and str(row.message_id) in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        resp = admin_browser(root).post("/admin/ident_bridge/inboundattention/",
                                        {"action": "retry", "_selected_action": [row.pk]}, follow=True)
    assert resp.status_code == 200
    row.refresh_from_db()
    assert row.processed_at is not None and row.gave_up_at is None
    assert PartnerRequest.objects.filter(request_ref="CAN-BROKEN-1").exists()


def test_closing_an_item_records_who_closed_it(admins, monkeypatch):
    admin, root = admins
    row = store_inbound(request_message(request_ref="CAN-BROKEN-2"))
    InboundMessage.objects.filter(pk=row.pk).update(gave_up_at=timezone.now(), attempts=MAX_PROCESS_ATTEMPTS)
    admin_browser(root).post("/admin/ident_bridge/inboundattention/", {"action": "close", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.attention_closed_by == root and row.attention_closed_at is not None
    assert str(row.message_id) not in admin_browser(root).get("/admin/ident_bridge/inboundattention/").content.decode()


@pytest.fixture
def query_world(admins, django_capture_on_commit_callbacks):
    AgreementFactory(partner__code="CAN")
    officer = UserFactory(role="officer")
    with django_capture_on_commit_callbacks(execute=False):
        query = query_services.query_submit(actor=officer, case=CaseFactory(officers=[officer]), partner_code="CAN",
                                            reason="asylum_claimant", priority="high")
    return officer, query


def refused_by_ident(pk):
    fake = FakeTransport(BridgeError("400: Invalid message", permanent=True, status=400,
                                     problem={"errors": [{"pointer": "/body/fin", "detail": "unknown"}]}))
    return outbox.outbox_deliver(pk, transport=fake)


def test_query_submit_refused_by_ident_tells_the_officer_and_the_admins(query_world, admins):
    officer, query = query_world
    row = OutboxMessage.objects.get(type="query.submit")
    assert refused_by_ident(row.pk) == OutboxMessage.Status.REJECTED
    query.refresh_from_db()
    assert query.status == "failed"
    assert notified(officer, "did not accept")
    for user in admins:
        assert notified(user, "was refused by IDENT")
    listing = admin_browser(admins[1]).get("/admin/ident_bridge/outboxattention/").content.decode()
    assert query.query_ref in listing


def no_match_reply(monkeypatch, capture, request_ref):
    """A no-match reply whose first send failed (IDENT unreachable): pending, due now."""
    AgreementFactory(partner__code="CAN")
    monkeypatch.setattr("ident_bridge.outbox.default_transport",
                        lambda: FakeTransport(BridgeError("cannot connect", permanent=False)))
    with capture(execute=True):
        inbound_process(store_inbound(request_message(fin="FIN0000000000", request_ref=request_ref)).pk)
    row = OutboxMessage.objects.get(type="request.reply")
    assert row.status == OutboxMessage.Status.PENDING
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    return row


def test_expired_message_tells_everyone_and_an_expired_reply_can_be_sent_again(admins, monkeypatch,
                                                                               django_capture_on_commit_callbacks):
    row = no_match_reply(monkeypatch, django_capture_on_commit_callbacks, "CAN-EXPIRE-1")
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=49))
    down = FakeTransport(BridgeError("cannot connect", permanent=False))
    assert outbox.outbox_deliver(row.pk, transport=down) == OutboxMessage.Status.EXPIRED
    for user in admins:
        assert notified(user, "could not be delivered")
    assert outbox.outbox_retry_expired(row.pk)
    row.refresh_from_db()
    assert row.status == OutboxMessage.Status.PENDING and row.retried_at is not None
    up = FakeTransport()
    assert outbox.outbox_deliver(row.pk, transport=up) == OutboxMessage.Status.SENT
    assert up.sent == [bytes(row.raw)]  # the same message_id and bytes


def test_an_expired_query_message_is_not_sent_again(query_world):
    officer, query = query_world
    row = OutboxMessage.objects.get(type="query.submit")
    OutboxMessage.objects.filter(pk=row.pk).update(status=OutboxMessage.Status.EXPIRED)
    assert outbox.outbox_retry_expired(row.pk) is False


def test_partner_rejecting_an_augmentation_tells_its_requester(admins, monkeypatch, django_capture_on_commit_callbacks):
    AgreementFactory(partner__code="CAN")
    cis_record(PersonFactory(fin="FIN1000000001"))
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(request_message(request_ref="CAN-AUG-1")).pk)
    analyst = UserFactory(role="icts_analyst")
    with django_capture_on_commit_callbacks(execute=False):
        aug = request_services.augmentation_request(actor=analyst, req=PartnerRequest.objects.get(), requested_items=["photographs"],
                                                    justification="To compare photographs.")
    ack = {"message_id": "6f1d2a7e-0000-4000-8000-000000000001", "type": "delivery.ack", "sent_at": "2026-11-25T14:03:11Z",
           "partner": "CAN", "body": {"acked_message_id": str(aug.outbox_message.message_id), "status": "rejected",
                                      "detail": "unknown request_ref"}}
    inbound_process(store_inbound(ack).pk)
    assert notified(analyst, f"augmentation {aug.augment_ref} did not reach Canada")
    for user in admins:
        assert notified(user, "was rejected by the partner")
    # The partner said no: a new question may now be asked (the rejected one no longer waits for an answer).
    with django_capture_on_commit_callbacks(execute=False):
        request_services.augmentation_request(actor=analyst, req=PartnerRequest.objects.get(), requested_items=["photographs"],
                                              justification="Asking again.")


def test_partner_rejecting_a_response_tells_the_analyst_and_the_approver(admins, monkeypatch, django_capture_on_commit_callbacks):
    from icts import services as icts

    AgreementFactory(partner__code="CAN", authorised_data_elements=["family_name"])
    cis_record(PersonFactory(fin="FIN1000000001"))
    monkeypatch.setattr("ident_bridge.outbox.default_transport", lambda: FakeTransport())
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(request_message(request_ref="CAN-RESP-1")).pk)
    analyst, reviewer = UserFactory(role="icts_analyst"), UserFactory(role="icts_reviewer")
    case = icts.case_assign(actor=analyst, case=IctsCase.objects.get(), analyst=analyst)
    icts.package_save(actor=analyst, case=case, reviewer_name="Rita Moreno", person={"family_name": "Haddad"})
    icts.package_submit(actor=analyst, case=case)
    with django_capture_on_commit_callbacks(execute=True):
        icts.package_review(actor=reviewer, case=case, verdict="approved")
    row = OutboxMessage.objects.get(type="request.reply")
    ack = {"message_id": "6f1d2a7e-0000-4000-8000-000000000002", "type": "delivery.ack", "sent_at": "2026-11-25T14:03:11Z",
           "partner": "CAN", "body": {"acked_message_id": str(row.message_id), "status": "rejected", "detail": "mailbox full"}}
    inbound_process(store_inbound(ack).pk)
    assert IctsCase.objects.get().status == "delivery_failed"
    assert notified(analyst, "did not reach Canada: mailbox full") and notified(reviewer, "did not reach Canada: mailbox full")
    for user in admins:
        assert notified(user, "was rejected by the partner")


def test_no_match_reply_refused_by_ident_tells_the_admins(admins, monkeypatch, django_capture_on_commit_callbacks):
    row = no_match_reply(monkeypatch, django_capture_on_commit_callbacks, "CAN-NM-1")
    assert refused_by_ident(row.pk) == OutboxMessage.Status.REJECTED
    for user in admins:
        assert notified(user, "request.reply to CAN (CAN-NM-1) was refused by IDENT")
