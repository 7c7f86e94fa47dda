"""ICD v1.1 at the door: a retry is answered from its first copy whatever became of it (§3), hostile or malformed
input is refused with a 400 that names the field (§2), and nothing in a body can make CPMS answer 5xx."""

import json
import time

import pytest

from cpms.partner_requests.models import PartnerRequest
from cpms.queries import services
from ident_bridge import icd
from ident_bridge.inbound import inbound_process
from ident_bridge.models import InboundMessage, RejectedInbound
from tests.concurrency import run_at_once
from tests.factories import (AgreementFactory, CaseFactory, PersonFactory, UserFactory, cis_record, request_message,
                             response_message, result_message)

URL = "/ident/v1/messages"
SECRET = "test-shared-secret"


def post(client, raw: bytes, *, ts=None, **extra):
    ts = int(time.time()) if ts is None else ts
    return client.generic("POST", URL, raw, content_type="application/json", HTTP_X_IDENT_TIMESTAMP=str(ts),
                          HTTP_X_IDENT_SIGNATURE=icd.sign(raw, SECRET, ts), **extra)


def problem(resp, status):
    assert resp.status_code == status, resp.content[:500]
    assert resp["Content-Type"] == "application/problem+json"
    doc = resp.json()
    assert doc["status"] == status and doc["title"] and doc["detail"]
    return doc


@pytest.fixture
def query(db, django_capture_on_commit_callbacks):
    officer = UserFactory(role="officer")
    AgreementFactory(partner__code="CAN")
    with django_capture_on_commit_callbacks(execute=False):
        return services.query_submit(actor=officer, case=CaseFactory(officers=[officer]), partner_code="CAN",
                                     reason="asylum_claimant", priority="high")


def raw_of(message) -> bytes:
    return icd.canonical_bytes(message)


# --- defect 1: a retry is answered 200 whatever became of the first copy -----------------------------------------


def test_retried_request_after_processing_gets_200_not_unknown_reference(client, db, django_capture_on_commit_callbacks):
    cis_record(PersonFactory(fin="FIN1000000001"))
    AgreementFactory(partner__code="CAN")
    raw = raw_of(request_message(request_ref="CAN-RETRY-1"))
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, raw)
    assert first.status_code == 202
    assert PartnerRequest.objects.get(request_ref="CAN-RETRY-1").status != "received"  # processed
    again = post(client, raw, ts=int(time.time()) + 1)  # fresh timestamp and signature, same bytes
    assert again.status_code == 200 and again.json() == first.json()
    assert InboundMessage.objects.count() == 1 and PartnerRequest.objects.count() == 1
    assert not RejectedInbound.objects.exists()


def every_inbound_type(query):
    """One valid message of each IDENT → CPMS type, in an order CPMS can apply."""
    result = result_message(query)
    response = response_message(query)
    from ident_bridge.models import OutboxMessage

    ack = icd.envelope("delivery.ack", "CAN", {"acked_message_id": str(OutboxMessage.objects.get().message_id),
                                               "status": "delivered"})
    return [("query.result", result), ("query.response", response), ("delivery.ack", ack),
            ("request.received", request_message(request_ref="CAN-RETRY-2"))]


def test_every_inbound_type_retried_after_processing_gets_200(client, query, django_capture_on_commit_callbacks):
    for kind, message in every_inbound_type(query):
        raw = raw_of(message)
        with django_capture_on_commit_callbacks(execute=True):
            assert post(client, raw).status_code == 202, kind
        row = InboundMessage.objects.get(message_id=message["message_id"])
        assert row.processed_at is not None, (kind, row.last_error)
        assert post(client, raw).status_code == 200, kind
    assert not RejectedInbound.objects.exists()


def test_retry_whose_query_has_since_failed_still_gets_200(client, query, django_capture_on_commit_callbacks):
    """The first copy was accepted; the query it refers to then failed (so processing ignored it): still 200."""
    from cpms.queries.workflow import QueryStatus, transition

    raw = raw_of(result_message(query, outcome="no_match"))
    assert post(client, raw).status_code == 202
    transition(query, QueryStatus.FAILED, reason="IDENT rejected the submit")
    inbound_process(InboundMessage.objects.get().pk)
    assert InboundMessage.objects.get().last_error.startswith("ignored")
    assert post(client, raw).status_code == 200


def test_a_different_body_under_a_used_message_id_is_409_even_when_invalid(client, query):
    message = result_message(query, outcome="no_match")
    assert post(client, raw_of(message)).status_code == 202
    message["body"]["outcome"] = "nonsense"
    doc = problem(post(client, raw_of(message)), 409)
    assert doc["errors"] == [{"pointer": "/message_id", "detail": "already used for a different message"}]


def test_another_message_with_a_known_request_ref_is_still_400(client, db):
    first = request_message(request_ref="CAN-DUP-1")
    second = request_message(request_ref="CAN-DUP-1")
    assert post(client, raw_of(first)).status_code == 202  # stored, not yet processed
    doc = problem(post(client, raw_of(second)), 400)
    assert [e["pointer"] for e in doc["errors"]] == ["/body/request_ref"]
    assert InboundMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_copies_one_202_the_other_200(live_server):
    import requests

    raw = raw_of(request_message(request_ref="CAN-CONCURRENT-1"))

    def send():
        ts = int(time.time())
        return requests.post(live_server.url + URL, data=raw, timeout=30, headers={
            "Content-Type": "application/json", icd.TIMESTAMP_HEADER: str(ts), icd.SIGNATURE_HEADER: icd.sign(raw, SECRET, ts)})

    results = run_at_once(*[send] * 4)
    statuses = sorted(value.status_code for kind, value in results if kind == "ok")
    assert statuses == [200, 200, 200, 202], results
    assert InboundMessage.objects.count() == 1 and not RejectedInbound.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_different_messages_with_one_request_ref_accept_one(live_server):
    import requests

    bodies = [raw_of(request_message(request_ref="CAN-CONCURRENT-2")) for _ in range(3)]

    def send(raw):
        def go():
            ts = int(time.time())
            return requests.post(live_server.url + URL, data=raw, timeout=30, headers={
                "Content-Type": "application/json", icd.TIMESTAMP_HEADER: str(ts), icd.SIGNATURE_HEADER: icd.sign(raw, SECRET, ts)})
        return go

    results = run_at_once(*[send(b) for b in bodies])
    statuses = sorted(value.status_code for kind, value in results if kind == "ok")
    assert statuses == [202, 400, 400], results
    assert InboundMessage.objects.count() == 1


# --- defect 2 and 3: hostile input is refused at the door, named by its pointer, never a 5xx --------------------


def request_raw(**replace) -> bytes:
    raw = raw_of(request_message(request_ref="CAN-HOSTILE-1", subject={
        "family_name": "Haddad", "given_names": "Amal Noor", "date_of_birth": "1985-04-12", "gender": "female"}))
    for old, new in replace.items():
        assert old.encode() in raw, old
        raw = raw.replace(old.encode(), new.encode())
    return raw


HOSTILE = {
    "U+0000 in a name": (dict(**{"Amal Noor": "Amal\\u0000Noor"}), "/body/subject/given_names", "U+0000"),
    "lone surrogate": (dict(**{"Amal Noor": "Amal\\ud800Noor"}), "/body/subject/given_names", "unpaired surrogate"),
    "30 February": (dict(**{'"requested_at":"2026-11-25T14:00:00Z"': '"requested_at":"2026-02-30T10:00:00Z"'}),
                    "/body/requested_at", "date-time"),
    "newline after the FIN": (dict(**{'"FIN1000000001"': '"FIN1000000001\\n"'}), "/body/fin", "U+000A"),
    "bell in a name": (dict(**{"Amal Noor": "Amal\\u0007Noor"}), "/body/subject/given_names", "U+0007"),
    "5,000-digit number": (dict(**{'"priority":"high"': '"priority":' + "9" * 5000}), "/body/priority", "5000 digits"),
    "16-digit number": (dict(**{'"priority":"high"': '"priority":1234567890123456'}), "/body/priority", "15 digits"),
    "1,100 nested arrays": (dict(**{'"requested_items":[': '"x":' + "[" * 1100 + "]" * 1100 + ',"requested_items":['}),
                            "/body/x/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0/0", "deeper than 32"),
    "40 nested objects": (dict(**{'"requested_items":[': '"x":' + '{"a":' * 40 + "1" + "}" * 40 + ',"requested_items":['}),
                          "/body/x/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a", "deeper than 32"),
    "U+0000 in a member name": (dict(**{'"gender"': '"gen\\u0000der"'}), "/body/subject", "member name"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_input_is_400_with_its_pointer_and_leaves_nothing(client, db, name):
    replace, pointer, words = HOSTILE[name]
    doc = problem(post(client, request_raw(**replace)), 400)
    assert pointer in [e["pointer"] for e in doc["errors"]], doc
    assert any(words in e["detail"] for e in doc["errors"] if e["pointer"] == pointer), doc
    assert not InboundMessage.objects.exists() and not PartnerRequest.objects.exists()
    row = RejectedInbound.objects.get()
    assert row.status == 400 and pointer in row.pointers


def test_message_id_with_u0000_is_400_and_logged_without_it(client, db):
    raw = request_raw(**{'"message_id":"': '"message_id":"\\u0000'})
    doc = problem(post(client, raw), 400)
    assert "/message_id" in [e["pointer"] for e in doc["errors"]]
    row = RejectedInbound.objects.get()
    assert row.message_id == "" and row.body_sha256 == icd.sha256_hex(raw)


def test_free_text_may_carry_line_breaks_but_not_u0000(client, query):
    message = response_message(query)
    message["body"]["person"]["immigration_history"] = [{"date": "2020-01-01", "event": "Entry", "detail": "Line one\nline two"}]
    assert icd.schema_errors(message) == []
    message["body"]["person"]["immigration_history"][0]["detail"] = "Line one\u0000"
    assert [e.pointer for e in icd.schema_errors(message)] == ["/body/person/immigration_history/0/detail"]


def test_the_reject_log_keeps_no_personal_data(client, db):
    raw = request_raw(**{'"date_of_birth":"1985-04-12"': '"date_of_birth":"1985-04-99"'})
    problem(post(client, raw), 400)
    row = RejectedInbound.objects.get()
    stored = json.dumps([row.title, row.detail, row.pointers, row.message_id])
    assert "Haddad" not in stored and "1985-04-99" not in stored and "Amal" not in stored
    assert row.pointers and all(p.startswith("/") for p in row.pointers)


def test_unsigned_junk_grows_the_reject_log_by_one_row_per_address_and_minute(client, db):
    for i in range(50):
        resp = client.generic("POST", URL, b'{"junk": %d}' % i, content_type="application/json")
        assert resp.status_code == 401
    row = RejectedInbound.objects.get()
    assert row.status == 401 and row.count == 50


def test_chunked_body_without_length_is_411_not_a_false_401(client, db):
    raw = raw_of(request_message())
    ts = int(time.time())
    resp = client.generic("POST", URL, raw, content_type="application/json", HTTP_TRANSFER_ENCODING="chunked",
                          CONTENT_LENGTH="", HTTP_X_IDENT_TIMESTAMP=str(ts), HTTP_X_IDENT_SIGNATURE=icd.sign(raw, SECRET, ts))
    problem(resp, 411)
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize("skew,status", [(-301, 401), (-300, 202), (300, 202), (301, 401)])
def test_clock_window_with_a_pinned_clock(skew, status):
    raw = b'{"a":1}'
    now = 1_800_000_000
    sig = icd.sign(raw, SECRET, now + skew)
    if status == 401:
        with pytest.raises(icd.SignatureError, match="window is"):
            icd.verify_signature(raw, str(now + skew), sig, SECRET, now=now)
    else:
        icd.verify_signature(raw, str(now + skew), sig, SECRET, now=now)


def test_database_down_is_503_problem_not_html(client, db, monkeypatch):
    from django.db import OperationalError

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("ident_bridge.inbound.InboundMessage.objects.create", down)
    doc = problem(post(client, raw_of(request_message())), 503)
    assert "send it again" in doc["detail"]


def test_a_server_fault_is_a_500_problem_document(client, db, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr("ident_bridge.inbound.receive", broken)
    problem(post(client, raw_of(request_message())), 500)


def test_a_control_character_in_attachment_content_is_refused_by_its_decoding(client, query):
    message = response_message(query)
    message["body"]["attachments"][0]["content_base64"] = "iVBOR\u0000w0KGgo="
    doc = problem(post(client, raw_of(message)), 400)
    assert "/body/attachments/0/content_base64" in [e["pointer"] for e in doc["errors"]]
    assert not InboundMessage.objects.exists()
