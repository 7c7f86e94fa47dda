"""ICD 1.2 at the door (§2, §3): no object names a member twice, a body is exactly Content-Length bytes, and a
`delivery.ack` is bound to the partner of the message it acknowledges, the first one final."""

import io
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpms.queries import services
from cpms.queries.workflow import QueryStatus
from ident_bridge import icd
from ident_bridge.models import InboundMessage, OutboxMessage, RejectedInbound
from tests.concurrency import run_at_once
from tests.factories import AgreementFactory, CaseFactory, UserFactory, request_message

URL = "/ident/v1/messages"
SECRET = "test-shared-secret"


def post(client, raw: bytes, *, ts=None, **extra):
    ts = int(time.time()) if ts is None else ts
    return client.generic("POST", URL, raw, content_type="application/json", HTTP_X_IDENT_TIMESTAMP=str(ts),
                          HTTP_X_IDENT_SIGNATURE=icd.sign(raw, SECRET, ts), **extra)


def problem(resp, status):
    assert resp.status_code == status, resp.content[:500]
    assert resp["Content-Type"] == "application/problem+json"
    return resp.json()


# --- §2: duplicate member names ------------------------------------------------------------------------------


def with_second(raw: bytes, member: bytes, value: bytes) -> bytes:
    """The body with `"member": value` written again right after the first occurrence of `"member":…,`."""
    at = raw.index(b'"' + member + b'":')
    comma = raw.index(b",", at)
    return raw[:comma] + b',"' + member + b'":' + value + raw[comma:]


@pytest.mark.parametrize("member,value,pointer", [
    (b"message_id", b'"00000000-0000-4000-8000-000000000000"', "/message_id"),
    (b"family_name", b'"Other"', "/body/subject/family_name"),
    (b"request_ref", b'"CAN-OTHER-1"', "/body/request_ref"),
])
def test_a_member_named_twice_is_refused_with_its_pointer_and_nothing_is_stored(client, db, member, value, pointer):
    raw = with_second(icd.canonical_bytes(request_message()), member, value)
    assert json.loads(raw)  # the standard library would take the last one, silently
    doc = problem(post(client, raw), 400)
    assert doc["errors"] == [{"pointer": pointer, "detail": "names a member a second time in the same object; each name "
                                                              "may appear once (ICD §2)"}]
    assert not InboundMessage.objects.exists()
    assert RejectedInbound.objects.get().pointers == [pointer]


def test_a_colon_written_as_an_escape_cannot_hide_a_second_member(client, db):
    """The common path counts colons; an escaped one (\\u003a) would offset a dropped member, so it takes the exact path."""
    message = request_message()
    message["body"]["requestor"]["name"] = "J:Citizen"
    raw = icd.canonical_bytes(message).replace(b"J:Citizen", b"J\\u003aCitizen")
    raw = with_second(raw, b"priority", b'"low"')
    assert problem(post(client, raw), 400)["errors"][0]["pointer"] == "/body/priority"
    assert not InboundMessage.objects.exists()


# JSON values with keys that may repeat: written by hand, so that a repeated name survives into the bytes.
_names = st.sampled_from(["a", "b", "c:d", "é", "x"])
_scalars = st.one_of(st.integers(-10**6, 10**6), st.text(alphabet="ab:\\\"é\n", max_size=6), st.booleans(), st.none())


def _objects(children):
    return st.lists(st.tuples(_names, children), max_size=4)


_trees = st.recursive(_scalars, lambda children: st.one_of(st.lists(children, max_size=3), _objects(children)),
                      max_leaves=12)


def _write(node) -> str:
    if isinstance(node, list) and all(isinstance(p, tuple) for p in node) and node:
        return "{" + ",".join(f"{json.dumps(k)}:{_write(v)}" for k, v in node) + "}"
    if isinstance(node, list):
        return "[" + ",".join(_write(v) for v in node) + "]"
    return json.dumps(node)


def _repeats(node) -> bool:
    if isinstance(node, list) and node and all(isinstance(p, tuple) for p in node):
        names = [k for k, _ in node]
        return len(names) != len(set(names)) or any(_repeats(v) for _, v in node)
    if isinstance(node, list):
        return any(_repeats(v) for v in node)
    return False


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=_trees, ascii_only=st.booleans())
def test_loads_refuses_exactly_the_bodies_that_repeat_a_name(tree, ascii_only):
    text = _write(tree)
    if ascii_only:  # another sender's encoder: every non-ASCII character and colon in strings as \\u escapes
        text = text.encode("ascii", "backslashreplace").decode().replace("\\x", "\\u00")
    value, errors = icd.loads(("{" + f'"v":{text}' + "}").encode())
    if _repeats(tree):
        assert value is None and errors and all("second time" in e.detail for e in errors)
    else:
        assert errors == [] and value == {"v": json.loads(text)}


# --- §2: the body is exactly Content-Length bytes --------------------------------------------------------------


def test_a_body_shorter_than_its_content_length_is_refused(client, db):
    """A sender that half-closed after part of the body, with a signature over the part that arrived."""
    raw = icd.canonical_bytes(request_message())
    doc = problem(post(client, raw, CONTENT_LENGTH=str(len(raw) + 100), **{"wsgi.input": io.BytesIO(raw)}), 400)
    assert "Content-Length" in doc["detail"] and doc["errors"][0]["pointer"] == ""
    assert not InboundMessage.objects.exists()


def test_a_body_of_exactly_its_content_length_is_accepted(client, db):
    raw = icd.canonical_bytes(request_message())
    AgreementFactory(partner__code="CAN")
    assert post(client, raw, CONTENT_LENGTH=str(len(raw)), **{"wsgi.input": io.BytesIO(raw)}).status_code == 202


# --- §3: a delivery.ack is bound to its message's partner, and the first one decides ------------------------------


@pytest.fixture
def sent_to_aus(db, django_capture_on_commit_callbacks):
    officer = UserFactory(role="officer")
    AgreementFactory(partner__code="AUS")
    with django_capture_on_commit_callbacks(execute=False):
        query = services.query_submit(actor=officer, case=CaseFactory(officers=[officer]), partner_code="AUS",
                                      reason="asylum_claimant", priority="high")
    return query, OutboxMessage.objects.get(ref=query.query_ref)


def ack(outbox, status, *, partner=None):
    return icd.canonical_bytes(icd.envelope("delivery.ack", partner or outbox.partner,
                                            {"acked_message_id": str(outbox.message_id), "status": status}))


def test_an_ack_from_another_partner_is_refused_and_changes_nothing(client, sent_to_aus, django_capture_on_commit_callbacks):
    query, outbox = sent_to_aus
    with django_capture_on_commit_callbacks(execute=True):
        doc = problem(post(client, ack(outbox, "rejected", partner="GBR")), 400)
    assert doc["errors"] == [{"pointer": "/body/acked_message_id", "detail": "is not a message CPMS sent to GBR"}]
    outbox.refresh_from_db()
    query.refresh_from_db()
    assert outbox.delivery_status == "" and query.status != QueryStatus.FAILED
    assert not InboundMessage.objects.filter(type="delivery.ack").exists()


def test_an_ack_of_a_message_never_sent_is_refused(client, db):
    raw = icd.canonical_bytes(icd.envelope("delivery.ack", "CAN", {"acked_message_id": icd.new_message_id(),
                                                                   "status": "delivered"}))
    assert problem(post(client, raw), 400)["errors"][0]["pointer"] == "/body/acked_message_id"


def test_the_first_ack_is_final_a_contradicting_one_is_409(client, sent_to_aus, django_capture_on_commit_callbacks):
    query, outbox = sent_to_aus
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, ack(outbox, "delivered")).status_code == 202
        doc = problem(post(client, ack(outbox, "rejected")), 409)
    assert doc["errors"][0]["pointer"] == "/body/status" and "first ack is final" in doc["errors"][0]["detail"]
    outbox.refresh_from_db()
    query.refresh_from_db()
    assert outbox.delivery_status == "delivered" and query.status != QueryStatus.FAILED
    assert InboundMessage.objects.filter(type="delivery.ack").count() == 1


def test_a_rejection_stays_a_rejection(client, sent_to_aus, django_capture_on_commit_callbacks):
    query, outbox = sent_to_aus
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, ack(outbox, "rejected")).status_code == 202
        problem(post(client, ack(outbox, "delivered")), 409)
    outbox.refresh_from_db()
    query.refresh_from_db()
    assert outbox.delivery_status == "rejected" and query.status == QueryStatus.FAILED


def test_a_later_ack_with_the_same_status_is_accepted_and_changes_nothing(client, sent_to_aus,
                                                                        django_capture_on_commit_callbacks):
    _, outbox = sent_to_aus
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, ack(outbox, "delivered")).status_code == 202
    outbox.refresh_from_db()
    first_at = outbox.delivery_at
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, ack(outbox, "delivered")).status_code == 202
    outbox.refresh_from_db()
    assert outbox.delivery_status == "delivered" and outbox.delivery_at == first_at


def test_a_late_contradicting_ack_applied_by_a_sweep_changes_nothing(sent_to_aus):
    """Acks stored before ICD 1.2 (or applied out of order) cannot flip a decided delivery either."""
    from ident_bridge.outbox import outbox_record_delivery

    _, outbox = sent_to_aus
    outbox_record_delivery(acked_message_id=str(outbox.message_id), status="delivered")
    outbox_record_delivery(acked_message_id=str(outbox.message_id), status="rejected", detail="late")
    outbox.refresh_from_db()
    assert outbox.delivery_status == "delivered" and outbox.delivery_detail == ""


@pytest.mark.django_db(transaction=True)
def test_two_contradicting_acks_at_once_one_wins_the_other_is_409():
    from django.test import Client

    officer = UserFactory(role="officer")
    AgreementFactory(partner__code="AUS")
    query = services.query_submit(actor=officer, case=CaseFactory(officers=[officer]), partner_code="AUS",
                                  reason="asylum_claimant", priority="high")
    outbox = OutboxMessage.objects.get(ref=query.query_ref)
    results = run_at_once(lambda: post(Client(), ack(outbox, "delivered")).status_code,
                          lambda: post(Client(), ack(outbox, "rejected")).status_code)
    assert sorted(code for _, code in results) == [202, 409], results
    stored = InboundMessage.objects.get(type="delivery.ack")
    assert json.loads(bytes(stored.raw))["body"]["status"] in ("delivered", "rejected")
