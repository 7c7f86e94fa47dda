"""ICD §1 at `POST /ident/v1/messages`: each kind of bad message gets its status and pointer."""

import json
import time

import pytest

from cpms.queries import services
from ident_bridge import icd
from ident_bridge.models import InboundMessage, RejectedInbound
from tests.factories import AgreementFactory, CaseFactory, UserFactory, png_bytes, result_message

URL = "/ident/v1/messages"
SECRET = "test-shared-secret"


@pytest.fixture
def query(db, django_capture_on_commit_callbacks):
    officer = UserFactory(role="officer")
    AgreementFactory(partner__code="CAN")
    case = CaseFactory(officers=[officer])
    with django_capture_on_commit_callbacks(execute=False):
        return services.query_submit(actor=officer, case=case, partner_code="CAN", reason="asylum_claimant", priority="high")


def post(client, raw: bytes, *, ts=None, signature=None, **extra):
    ts = int(time.time()) if ts is None else ts
    headers = {"HTTP_X_IDENT_TIMESTAMP": str(ts), "HTTP_X_IDENT_SIGNATURE": signature or icd.sign(raw, SECRET, ts)}
    headers.update(extra)
    return client.generic("POST", URL, raw, content_type="application/json", **headers)


def pointers(resp):
    assert resp["Content-Type"] == "application/problem+json"
    doc = resp.json()
    assert {"type", "title", "status", "detail"} <= doc.keys() and doc["status"] == resp.status_code
    return [e["pointer"] for e in doc.get("errors", [])]


def test_valid_message_is_committed_then_202_and_processing_enqueued(client, query, django_capture_on_commit_callbacks):
    message = result_message(query, outcome="no_match")
    raw = icd.canonical_bytes(message)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resp = post(client, raw)
    assert resp.status_code == 202
    assert resp.json() == {"message_id": message["message_id"], "status": "accepted"}
    row = InboundMessage.objects.get(message_id=message["message_id"])
    assert bytes(row.raw) == raw and row.processed_at is None
    assert len(callbacks) == 1  # the processing task, only after commit


def test_identical_duplicate_gets_200_and_is_stored_once(client, query):
    raw = icd.canonical_bytes(result_message(query, outcome="no_match"))
    first = post(client, raw)
    second = post(client, raw)
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json() == first.json()
    assert InboundMessage.objects.count() == 1


def test_same_id_different_body_gets_409(client, query):
    message = result_message(query, outcome="no_match")
    post(client, icd.canonical_bytes(message))
    message["sent_at"] = "2026-11-25T15:00:00Z"
    resp = post(client, icd.canonical_bytes(message))
    assert resp.status_code == 409
    assert pointers(resp) == ["/message_id"]
    assert InboundMessage.objects.count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_IDENT_SIGNATURE": ""},
        {"HTTP_X_IDENT_SIGNATURE": "v1=" + "0" * 64},
        {"HTTP_X_IDENT_TIMESTAMP": "not-a-number"},
    ],
    ids=["missing-signature", "wrong-signature", "bad-timestamp"],
)
def test_bad_signature_gets_401(client, query, headers):
    raw = icd.canonical_bytes(result_message(query, outcome="no_match"))
    resp = post(client, raw, **headers)
    assert resp.status_code == 401
    pointers(resp)
    assert not InboundMessage.objects.exists()
    assert RejectedInbound.objects.filter(status=401).count() == 1


@pytest.mark.parametrize("skew,status", [(-301, 401), (301, 401), (-300, 202), (300, 202)])
def test_clock_window_is_300_seconds(client, query, skew, status, monkeypatch):
    now = 1_800_000_000  # the receiver's clock, pinned: the edges are exact, never a second off
    monkeypatch.setattr("ident_bridge.icd.clock", lambda: now)
    raw = icd.canonical_bytes(result_message(query, outcome="no_match"))
    assert post(client, raw, ts=now + skew).status_code == status


def test_signature_over_other_bytes_is_refused(client, query):
    raw = icd.canonical_bytes(result_message(query, outcome="no_match"))
    ts = int(time.time())
    resp = post(client, raw.replace(b"no_match", b"no_match "), ts=ts, signature=icd.sign(raw, SECRET, ts))
    assert resp.status_code == 401


def test_declared_length_over_25_mib_gets_413_even_when_the_body_is_short(client, query):
    resp = post(client, b"{}", CONTENT_LENGTH=str(icd.MAX_BODY_BYTES + 1))
    assert resp.status_code == 413
    assert resp["Content-Type"] == "application/problem+json"


def test_oversized_body_gets_413(client, query):
    raw = b'{"x":"' + b"a" * icd.MAX_BODY_BYTES + b'"}'
    assert post(client, raw).status_code == 413


def test_not_json_gets_400_with_root_pointer(client, query):
    resp = post(client, b"{not json")
    assert resp.status_code == 400
    assert pointers(resp) == [""]


def test_schema_violation_names_each_field(client, query):
    message = result_message(query)
    message["body"]["biographic"]["date_of_birth"] = "12/04/1985"
    message["body"]["biographic"]["nickname"] = "Am"
    resp = post(client, icd.canonical_bytes(message))
    assert resp.status_code == 400
    assert set(pointers(resp)) == {"/body/biographic/date_of_birth", "/body/biographic/nickname"}
    assert not InboundMessage.objects.exists()


def test_missing_member_points_at_it(client, query):
    message = result_message(query)
    del message["body"]["partner_person_id"]
    resp = post(client, icd.canonical_bytes(message))
    assert resp.status_code == 400
    assert pointers(resp) == ["/body/partner_person_id"]


def test_unknown_type_gets_400(client, query):
    message = result_message(query, outcome="no_match")
    message["type"] = "query.cancel"
    resp = post(client, icd.canonical_bytes(message))
    assert resp.status_code == 400
    assert "/type" in pointers(resp)


def test_message_for_the_other_direction_gets_400(client, query):
    message = icd.envelope("request.augment", "CAN", {"request_ref": "R1", "augment_ref": "A1",
                                                        "requested_items": ["biographic"], "justification": "x"})
    resp = post(client, icd.canonical_bytes(message))
    assert resp.status_code == 400
    assert pointers(resp) == ["/type"]


def test_unknown_query_ref_gets_400(client, query):
    message = result_message(query, outcome="no_match")
    message["body"]["query_ref"] = "USCIS-Q-UNKNOWN"
    resp = post(client, icd.canonical_bytes(message))
    assert resp.status_code == 400
    assert pointers(resp) == ["/body/query_ref"]


def test_query_ref_of_another_partner_gets_400(client, query):
    message = result_message(query, outcome="no_match")
    message["partner"] = "AUS"
    assert post(client, icd.canonical_bytes(message)).status_code == 400


def _response_with(query, **att_overrides):
    from tests.factories import response_message

    message = response_message(query)
    message["body"]["attachments"][0].update(att_overrides)
    return message


@pytest.mark.parametrize(
    "override,pointer",
    [
        ({"sha256": "0" * 64}, "/body/attachments/0/sha256"),
        ({"media_type": "application/pdf"}, "/body/attachments/0/media_type"),
        ({"content_base64": "!!!!"}, "/body/attachments/0/content_base64"),
    ],
    ids=["sha256-mismatch", "magic-mismatch", "bad-base64"],
)
def test_bad_attachment_refuses_the_whole_message(client, query, override, pointer):
    resp = post(client, icd.canonical_bytes(_response_with(query, **override)))
    assert resp.status_code == 400
    assert pointers(resp) == [pointer]
    assert not InboundMessage.objects.exists()


def test_attachment_over_10_mib_is_refused(client, query):
    big = png_bytes() + b"\0" * (icd.MAX_ATTACHMENT_BYTES + 1)
    att = icd.attachment(filename="big.png", media_type="image/png", kind="photograph", data=big)
    from tests.factories import response_message

    resp = post(client, icd.canonical_bytes(response_message(query, attachments=[att])))
    assert resp.status_code == 400
    assert pointers(resp) == ["/body/attachments/0/content_base64"]


def test_get_is_405(client):
    assert client.get(URL).status_code == 405


def test_problem_body_is_json(client, query):
    resp = post(client, b"[]")
    doc = json.loads(resp.content)
    assert doc["status"] == 400 and doc["errors"]
