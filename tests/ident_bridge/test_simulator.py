"""The IDENT simulator over real HTTP: ICD §1 answers, the partners' behaviour (§3), delivery and faults.

The simulator runs in-process on a free port against `FakeCPMS`, a tiny receiver that checks what it gets
the way CPMS must (signature, schema, direction, attachments) and records every POST. No database.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from ident_bridge import icd
from ident_bridge.simulator import Simulator, galleries, images, partners, server

SECRET = "simulator-test-secret"
FOUND_IN = {  # docs/simulator.md's table: FIN -> partners whose gallery holds it
    "FIN1000000001": {"CAN"},
    "FIN1000000002": {"AUS"},
    "FIN1000000003": {"CAN", "AUS"},
    "FIN1000000004": set(),
    "FIN1000000005": {"CAN"},
    "FIN9999999999": set(),
}


# --- a fake CPMS ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    message_id: str | None
    raw: bytes
    status: int


class FakeCPMS:
    """CPMS's receiving end, reduced to the ICD §1 checks, with a switch to answer `fail_status` instead."""

    def __init__(self, *, port: int = 0, fail_status: int | None = None):
        self.fail_status = fail_status
        self.posts: list[Post] = []
        self.accepted: dict[str, dict] = {}  # insertion order = arrival order
        self.refused: list[tuple[int, dict]] = []
        self._digests: dict[str, str] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                status, document = fake.receive(raw, self.headers.get(icd.TIMESTAMP_HEADER), self.headers.get(icd.SIGNATURE_HEADER))
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:  # http.server's signature
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/ident/v1"

    def receive(self, raw: bytes, timestamp: str | None, signature: str | None) -> tuple[int, dict]:
        try:
            message_id = json.loads(raw).get("message_id")
        except ValueError:
            message_id = None
        with self._lock:
            status, document = self._check(raw, timestamp, signature, message_id)
            self.posts.append(Post(message_id, raw, status))
            if status >= 400 and status != self.fail_status:
                self.refused.append((status, document))
            return status, document

    def _check(self, raw: bytes, timestamp: str | None, signature: str | None, message_id: str | None) -> tuple[int, dict]:
        if self.fail_status:
            return self.fail_status, icd.problem(self.fail_status, "Told to fail", "test switch")
        try:
            icd.verify_signature(raw, timestamp, signature, SECRET)
        except icd.SignatureError as exc:
            return 401, icd.problem(401, "Unauthorized", str(exc))
        parsed = icd.parse(raw, accept_types=icd.IDENT_TO_CPMS)
        if parsed.errors or parsed.message is None:
            return 400, icd.problem(400, "Invalid message", "refused", parsed.errors)
        assert message_id is not None
        digest = icd.sha256_hex(raw)
        if message_id in self._digests:
            return (200, {"message_id": message_id, "status": "accepted"}) if self._digests[message_id] == digest else (
                409, icd.problem(409, "Conflict", "different body"))
        self._digests[message_id] = digest
        self.accepted[message_id] = parsed.message
        return 202, {"message_id": message_id, "status": "accepted"}

    def messages(self, message_type: str | None = None) -> list[dict]:
        with self._lock:
            return [m for m in self.accepted.values() if message_type in (None, m["type"])]

    def wait_for(self, count: int, message_type: str | None = None) -> list[dict]:
        return wait_until(lambda: (found := self.messages(message_type)) and len(found) >= count and found)

    def posts_of(self, message_id: str) -> list[Post]:
        with self._lock:
            return [p for p in self.posts if p.message_id == message_id]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- helpers ----------------------------------------------------------------------------------------------


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until `predicate` returns something truthy; return it. Fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"condition not met within {timeout} s")


def outbound_when(sim: Simulator, condition: Callable[[dict], bool], count: int | None = None) -> list[dict] | None:
    """The simulator's outbound rows once there are `count` (if given) and all meet `condition`."""
    rows = sim.store.outbound_list()
    return rows if rows and (count is None or len(rows) == count) and all(map(condition, rows)) else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def query_submit(partner: str, fin: str, **body: Any) -> dict:
    return icd.envelope("query.submit", partner, {
        "query_ref": f"Q-{uuid.uuid4().hex[:12]}",
        "fin": fin,
        "reason": "asylum_claimant",
        "priority": "high",
        "requestor": {"name": "Officer Jane Roe", "organization": "USCIS", "email": "jane.roe@example.gov"},
        "requested_at": icd.now_rfc3339(),
        **body,
    })


def followup(submit: dict, items: list[str]) -> dict:
    body = {"query_ref": submit["body"]["query_ref"], "round": 3, "requested_items": items, "justification": "Identity check"}
    return icd.envelope("query.followup", submit["partner"], body)


def post(sim: Simulator, message: dict | None = None, *, raw: bytes | None = None, secret: str = SECRET,
         timestamp: int | None = None, signed: bool = True) -> requests.Response:
    raw = icd.canonical_bytes(message) if raw is None else raw
    headers = icd.signed_headers(raw, secret, timestamp=timestamp) if signed else {"Content-Type": "application/json"}
    return requests.post(sim.ident_url + "/messages", data=raw, headers=headers, timeout=10)


def control(sim: Simulator, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, sim.base_url + path, timeout=10, **kwargs)


def pointers(response: requests.Response) -> list[str]:
    assert response.headers["Content-Type"] == "application/problem+json"
    return [e["pointer"] for e in response.json()["errors"]]


def decoded(attachment: dict) -> bytes:
    return base64.b64decode(attachment["content_base64"], validate=True)


# --- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture
def cpms() -> Iterator[FakeCPMS]:
    fake = FakeCPMS()
    yield fake
    fake.stop()
    assert not fake.refused, f"CPMS refused simulator messages: {fake.refused}"


@pytest.fixture
def make_sim(tmp_path: Path) -> Iterator[Callable[..., Simulator]]:
    started: list[Simulator] = []

    def make(cpms_url: str, *, state: Path | None = None, result_delay: float = 0.0) -> Simulator:
        sim = Simulator(cpms_url, SECRET, state or tmp_path / "sim.sqlite3", result_delay, timeout=2.0)
        started.append(sim)
        sim.start_in_thread("127.0.0.1", 0)
        return sim

    yield make
    for sim in started:
        assert sim.store.processing_errors() == []  # a simulator bug shows here, not as a silent timeout
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., Simulator], cpms: FakeCPMS) -> Simulator:
    return make_sim(cpms.url)


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "BACKOFF_BASE_SECONDS", 0.05)


# --- ICD §1: what the simulator refuses ---------------------------------------------------------------------


def test_inbound_without_signature_gets_401(sim: Simulator) -> None:
    response = post(sim, query_submit("CAN", "FIN1000000001"), signed=False)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert sim.store.received_list() == []


def test_inbound_with_wrong_signature_gets_401(sim: Simulator) -> None:
    response = post(sim, query_submit("CAN", "FIN1000000001"), secret="not-the-secret")
    assert response.status_code == 401
    assert sim.store.received_list() == []


def test_inbound_with_stale_timestamp_gets_401(sim: Simulator) -> None:
    response = post(sim, query_submit("CAN", "FIN1000000001"), timestamp=int(time.time()) - icd.CLOCK_WINDOW_SECONDS - 5)
    assert response.status_code == 401
    assert "window" in response.json()["detail"]


def test_inbound_over_size_limit_gets_413_before_the_body_is_read(sim: Simulator) -> None:
    host, port = sim.address
    connection = http.client.HTTPConnection(host, port, timeout=5)
    connection.putrequest("POST", "/ident/v1/messages")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(icd.MAX_BODY_BYTES + 1))
    connection.endheaders()  # and never send the body: the answer must not wait for it
    response = connection.getresponse()
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/problem+json"
    connection.close()


def test_inbound_naming_a_member_twice_gets_400_with_its_pointer(sim: Simulator) -> None:
    """ICD 1.2 §2, from IDENT's side: a CPMS message that repeats a name is refused, whichever copy a parser keeps."""
    raw = icd.canonical_bytes(query_submit("CAN", "FIN1000000001"))
    raw = raw.replace(b'"priority":"high"', b'"priority":"high","priority":"low"')
    response = post(sim, raw=raw)
    assert response.status_code == 400
    assert pointers(response) == ["/body/priority"]
    assert sim.store.received_list() == []


def test_inbound_body_shorter_than_its_content_length_gets_400(sim: Simulator) -> None:
    """ICD 1.2 §2: the sender half-closes after part of a body whose signature covers only that part."""
    raw = icd.canonical_bytes(query_submit("CAN", "FIN1000000001"))
    headers = icd.signed_headers(raw, SECRET)
    with socket.create_connection(sim.address, timeout=5) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(f"POST /ident/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: {len(raw) + 50}\r\n{head}\r\n".encode()
                     + raw)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"Content-Length" in answer
    assert sim.store.received_list() == []


def test_inbound_schema_errors_get_400_with_one_pointer_each(sim: Simulator) -> None:
    message = query_submit("CAN", "fin-lower-case", priority="urgent")
    response = post(sim, message)
    assert response.status_code == 400
    assert sorted(pointers(response)) == ["/body/fin", "/body/priority"]
    assert sim.store.received_list() == []


def test_inbound_not_json_gets_400(sim: Simulator) -> None:
    response = post(sim, raw=b"{not json")
    assert response.status_code == 400
    assert pointers(response) == [""]


def test_inbound_ident_to_cpms_type_gets_400_on_type(sim: Simulator) -> None:
    message = icd.envelope("query.result", "CAN", {"query_ref": "Q-1", "outcome": "no_match"})
    response = post(sim, message)
    assert response.status_code == 400
    assert pointers(response) == ["/type"]


def test_inbound_attachment_with_wrong_sha256_gets_400(sim: Simulator) -> None:
    attachment = icd.attachment(filename="p.png", media_type="image/png", kind="photograph", data=b"\x89PNG\r\n\x1a\nxx")
    attachment["sha256"] = "0" * 64
    package = {"reviewer": {"name": "Analyst"}, "responded_at": icd.now_rfc3339(), "person": {}, "attachments": [attachment]}
    message = icd.envelope("request.reply", "AUS", {"request_ref": "AUS-1", "outcome": "response", "package": package})
    response = post(sim, message)
    assert response.status_code == 400
    assert pointers(response) == ["/body/package/attachments/0/sha256"]


def test_followup_with_unknown_query_ref_gets_400(sim: Simulator) -> None:
    response = post(sim, followup(query_submit("CAN", "FIN1000000001"), ["photographs"]))
    assert response.status_code == 400
    assert pointers(response) == ["/body/query_ref"]
    assert sim.store.received_list() == []


def test_augment_and_reply_with_unknown_request_ref_get_400(sim: Simulator) -> None:
    augment = {"request_ref": "CAN-NOPE", "augment_ref": "AUG-1", "requested_items": ["biographic"], "justification": "x"}
    assert pointers(post(sim, icd.envelope("request.augment", "CAN", augment))) == ["/body/request_ref"]
    reply = {"request_ref": "CAN-NOPE", "outcome": "no_match"}
    assert pointers(post(sim, icd.envelope("request.reply", "CAN", reply))) == ["/body/request_ref"]


def test_duplicate_identical_gets_200_and_is_processed_once(sim: Simulator, cpms: FakeCPMS) -> None:
    message = query_submit("CAN", "FIN1000000004")
    raw = icd.canonical_bytes(message)
    first = post(sim, raw=raw)
    second = post(sim, raw=raw)
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json() == second.json() == {"message_id": message["message_id"], "status": "accepted"}
    cpms.wait_for(2)
    received = control(sim, "GET", "/_sim/received").json()
    assert [(r["message_id"], r["times_received"], r["processed"]) for r in received] == [(message["message_id"], 2, True)]
    assert len(sim.store.outbound_list()) == 2  # one ack, one result: nothing answered twice


def test_same_message_id_with_different_body_gets_409(sim: Simulator) -> None:
    message = query_submit("CAN", "FIN1000000004")
    assert post(sim, message).status_code == 202
    altered = {**message, "body": {**message["body"], "priority": "low"}}
    response = post(sim, altered)
    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"


# --- ICD §3: the partners' behaviour -------------------------------------------------------------------------


def test_query_without_match_gets_ack_and_no_match_only(sim: Simulator, cpms: FakeCPMS) -> None:
    message = query_submit("CAN", "FIN1000000004")
    assert post(sim, message).status_code == 202
    ack, result = cpms.wait_for(2)
    assert ack["type"] == "delivery.ack"
    assert ack["body"] == {"acked_message_id": message["message_id"], "status": "delivered"}
    assert result["type"] == "query.result"
    assert result["body"] == {"query_ref": message["body"]["query_ref"], "outcome": "no_match"}
    assert cpms.messages("query.response") == []
    assert post(sim, followup(message, ["photographs"])).status_code == 400  # no_match ends the query


def test_query_with_match_gets_result_then_round_two_with_verified_attachments(sim: Simulator, cpms: FakeCPMS) -> None:
    message = query_submit("CAN", "FIN1000000001")
    assert post(sim, message).status_code == 202
    ack, result, response = cpms.wait_for(3)
    assert [ack["type"], result["type"], response["type"]] == ["delivery.ack", "query.result", "query.response"]
    assert result["partner"] == response["partner"] == "CAN"
    body = result["body"]
    assert (body["outcome"], body["partner_person_id"], body["second_query_sent"]) == ("match", "12345678", True)
    assert set(body["biographic"]) == set(icd.IDENTITY_ELEMENTS)
    assert body["biographic"]["family_name"] == "Haddad"
    round_two = response["body"]
    assert (round_two["query_ref"], round_two["round"]) == (message["body"]["query_ref"], 2)
    assert "immigration_history" in round_two["person"]
    assert "watchlist_status" not in round_two["person"]
    assert sorted(a["kind"] for a in round_two["attachments"]) == ["passport", "photograph"]
    for attachment in round_two["attachments"]:
        data = decoded(attachment)
        assert icd.sha256_hex(data) == attachment["sha256"]
        assert icd.sniff_media_type(data) == attachment["media_type"]
        assert len(data) < 100_000
    queries = control(sim, "GET", "/_sim/queries").json()
    assert [(q["query_ref"], q["rounds_answered"]) for q in queries] == [(message["body"]["query_ref"], 2)]


def test_round_three_answers_exactly_the_requested_items(sim: Simulator, cpms: FakeCPMS) -> None:
    submit = query_submit("AUS", "FIN1000000003")
    assert post(sim, submit).status_code == 202
    cpms.wait_for(1, "query.response")
    request = followup(submit, ["watchlist_status", "document_images", "photographs"])
    assert post(sim, request).status_code == 202
    response = wait_until(lambda: [m for m in cpms.messages("query.response") if m["body"].get("round") == 3])[0]
    assert any(a["body"]["acked_message_id"] == request["message_id"] for a in cpms.messages("delivery.ack"))
    person = response["body"]["person"]
    assert set(person) == {"family_name", "given_names", "partner_person_id", "watchlist_status"}
    assert person["partner_person_id"] == "88990011"
    assert sorted(a["kind"] for a in response["body"]["attachments"]) == ["photograph", "visa"]
    visa = next(a for a in response["body"]["attachments"] if a["kind"] == "visa")
    assert icd.sniff_media_type(decoded(visa)) == "image/jpeg"
    again = post(sim, followup(submit, ["biographic"]))  # there is no fourth round
    assert again.status_code == 400
    assert pointers(again) == ["/body/round"]


def test_partner_request_then_augment_and_reply(sim: Simulator, cpms: FakeCPMS) -> None:
    sent = sim.send_partner_request(partner="CAN", fin="FIN1000000005", template="CAN-v1", request_ref="CAN-2026-000001")
    received = cpms.wait_for(1, "request.received")[0]
    assert received == sent
    assert received["body"]["subject"] == {
        "surname": "李",
        "given_names": "伟",
        "dob": "1992-11-30",
        "sex": "M",
        "birth_country": "CHN",
        "other_names": ["LI, Wei"],
        "uci": "87654321",
    }
    augment_body = {
        "request_ref": "CAN-2026-000001",
        "augment_ref": "AUG-2026-000001",
        "requested_items": ["immigration_history", "photographs"],
        "justification": "Confirm travel history",
    }
    augment = icd.envelope("request.augment", "CAN", augment_body)
    assert post(sim, augment).status_code == 202
    response = cpms.wait_for(1, "query.response")[0]["body"]
    assert response["augment_ref"] == "AUG-2026-000001"
    assert "query_ref" not in response and "round" not in response
    assert set(response["person"]) == {"family_name", "given_names", "partner_person_id", "immigration_history"}
    assert [a["kind"] for a in response["attachments"]] == ["photograph"]
    reply = icd.envelope("request.reply", "CAN", {"request_ref": "CAN-2026-000001", "outcome": "no_match"})
    assert post(sim, reply).status_code == 202
    wait_until(lambda: any(a["body"]["acked_message_id"] == reply["message_id"] for a in cpms.messages("delivery.ack")))
    [request] = control(sim, "GET", "/_sim/requests").json()
    assert (request["reply_outcome"], request["augment_refs"]) == ("no_match", ["AUG-2026-000001"])
    assert post(sim, icd.envelope("request.reply", "CAN", reply["body"])).status_code == 400  # answered already


def test_partner_request_from_another_partner_is_unknown(sim: Simulator, cpms: FakeCPMS) -> None:
    sim.send_partner_request(partner="AUS", fin="FIN1000000002", template="AUS-v1", request_ref="AUS-2026-000123")
    reply = icd.envelope("request.reply", "CAN", {"request_ref": "AUS-2026-000123", "outcome": "no_match"})
    assert pointers(post(sim, reply)) == ["/body/request_ref"]


@pytest.mark.parametrize(
    ("partner", "fin", "template", "expected"),
    [
        ("AUS", "FIN1000000002", "AUS-v1", {
            "family_name": "Nguyễn", "given_names": "Thị Minh", "date_of_birth": "03/07/1988", "gender": "Female",
            "country_of_birth": "VNM", "also_known_as": [{"family_name": "Nguyen", "given_names": "Thi Minh"}],
            "client_id": "88213344",
        }),
        ("CAN", "FIN1000000001", "CAN-v1", {
            "surname": "Haddad", "given_names": "Amal", "dob": "1985-04-12", "sex": "F", "birth_country": "SYR",
            "other_names": ["حداد, أمل"], "uci": "12345678",
        }),
        ("CAN", "FIN1000000003", "uniform-v1", {
            "family_name": "Петренко", "given_names": "Олег", "date_of_birth": "1979-05-14", "gender": "male",
            "country_of_birth": "UKR", "aliases": [{"family_name": "Petrenko", "given_names": "Oleg"}],
            "partner_person_id": "1122334455",
        }),
        # A partial date of birth only fits the uniform template; AUS-v1 and CAN-v1 leave it out.
        ("AUS", "FIN1000000003", "uniform-v1", {"date_of_birth": "1979-05"}),
        ("AUS", "FIN1000000003", "AUS-v1", {"family_name": "Petrenko", "client_id": "88990011", "date_of_birth": None}),
        ("AUS", "FIN1000000003", "CAN-v1", {"surname": "Petrenko", "uci": "88990011", "dob": None}),
        # Not in the partner's gallery: a stable generic subject.
        ("GBR", "FIN1000000001", "uniform-v1", {}),
        ("NZL", "FIN9999999999", "CAN-v1", {}),
        ("CAN", "FIN1000000002", "AUS-v1", {}),
    ],
)
def test_request_received_renders_each_template_schema_valid(
    sim: Simulator, cpms: FakeCPMS, partner: str, fin: str, template: str, expected: dict
) -> None:
    message = sim.send_partner_request(partner=partner, fin=fin, template=template)
    assert icd.schema_errors(message) == []
    subject = message["body"]["subject"]
    assert {key: subject.get(key) for key in expected} == expected
    assert cpms.wait_for(1, "request.received")[0] == message  # and CPMS's checks accept it
    again = sim.send_partner_request(partner=partner, fin=fin, template=template)
    assert again["body"]["subject"] == subject  # generic subjects too are stable per (partner, FIN)


def test_control_requests_endpoint_sends_and_validates(sim: Simulator, cpms: FakeCPMS) -> None:
    created = control(sim, "POST", "/_sim/requests", json={"partner": "AUS", "fin": "FIN1000000002", "template": "AUS-v1",
                                                          "requested_items": ["biographic"]})
    assert created.status_code == 201
    assert cpms.wait_for(1, "request.received")[0] == created.json()
    taken = control(sim, "POST", "/_sim/requests", json={"partner": "AUS", "fin": "FIN1000000002", "template": "AUS-v1",
                                                        "request_ref": created.json()["body"]["request_ref"]})
    assert pointers(taken) == ["/request_ref"]
    bad = control(sim, "POST", "/_sim/requests", json={"partner": "FRA", "fin": "short", "template": "FRA-v1",
                                                      "requested_items": ["everything"], "colour": "blue"})
    assert bad.status_code == 400
    assert sorted(pointers(bad)) == ["/colour"]  # unknown fields are refused before anything else
    bad = control(sim, "POST", "/_sim/requests", json={"partner": "FRA", "fin": "short", "template": "FRA-v1",
                                                      "requested_items": ["everything"]})
    assert sorted(pointers(bad)) == ["/fin", "/partner", "/requested_items/0", "/template"]


# --- delivery to CPMS: retries, rejections, faults, restart ---------------------------------------------------


def test_cpms_down_then_up_gets_each_message_once_with_identical_retries(
    make_sim: Callable[..., Simulator], fast_backoff: None
) -> None:
    port = free_port()
    sim = make_sim(f"http://127.0.0.1:{port}/ident/v1")
    assert post(sim, query_submit("CAN", "FIN1000000001")).status_code == 202
    wait_until(lambda: len(sim.store.outbound_list()) == 3 and sim.store.outbound_list()[0]["attempts"] >= 2)
    cpms = FakeCPMS(port=port, fail_status=503)  # up, but failing: now the retries are visible
    try:
        wait_until(lambda: len(cpms.posts) >= 3)
        cpms.fail_status = None
        cpms.wait_for(3)
        outbound = wait_until(lambda: outbound_when(sim, lambda row: row["status"] == "sent"))
        for row in outbound:
            posts = cpms.posts_of(row["message_id"])
            assert [p.status for p in posts].count(202) == 1
            assert all(p.status in (202, 503) for p in posts)
            assert len({p.raw for p in posts}) == 1  # the same bytes on every attempt
        assert outbound[0]["attempts"] >= 3 and outbound[0]["last_error"] is None
        assert cpms.refused == []
    finally:
        cpms.stop()


def test_cpms_4xx_marks_the_message_rejected_without_retry(sim: Simulator, cpms: FakeCPMS) -> None:
    cpms.fail_status = 400
    assert post(sim, query_submit("GBR", "FIN1000000001")).status_code == 202
    rows = wait_until(lambda: outbound_when(sim, lambda row: row["status"] == "rejected", 2))
    assert [(r["type"], r["attempts"]) for r in rows] == [("delivery.ack", 1), ("query.result", 1)]
    assert "400" in rows[0]["last_error"]
    assert len(cpms.posts) == 2


def test_fail_next_answers_503_then_accepts(sim: Simulator) -> None:
    assert control(sim, "POST", "/_sim/faults", json={"fail_next": 2}).json()["fail_next"] == 2
    message = query_submit("CAN", "FIN1000000004")
    first, second, third = (post(sim, message) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 202)
    assert first.headers["Content-Type"] == "application/problem+json"
    assert control(sim, "GET", "/_sim/faults").json()["fail_next"] == 0


def test_delay_fault_slows_inbound_answers_and_reset_clears_it(sim: Simulator) -> None:
    control(sim, "POST", "/_sim/faults", json={"delay_seconds": 0.3, "result_delay": 2.5})
    started = time.monotonic()
    assert post(sim, query_submit("CAN", "FIN1000000004")).status_code == 202
    assert time.monotonic() - started >= 0.3
    assert control(sim, "GET", "/_sim/faults").json()["result_delay"] == 2.5
    assert control(sim, "POST", "/_sim/reset").status_code == 200
    assert control(sim, "GET", "/_sim/faults").json() == {
        "delay_seconds": 0.0, "fail_next": 0, "duplicate_deliveries": False, "result_delay": 0.0,
    }
    assert len(control(sim, "GET", "/_sim/received").json()) == 1  # state survives a faults reset


def test_faults_endpoint_refuses_unknown_faults_and_bad_values(sim: Simulator) -> None:
    response = control(sim, "POST", "/_sim/faults", json={"fail_next": -1, "duplicate_deliveries": "yes", "chaos": 1})
    assert response.status_code == 400
    assert sorted(pointers(response)) == ["/chaos", "/duplicate_deliveries", "/fail_next"]
    assert control(sim, "GET", "/_sim/faults").json()["fail_next"] == 0


def test_reset_all_forgets_state(sim: Simulator, cpms: FakeCPMS) -> None:
    message = query_submit("CAN", "FIN1000000004")
    post(sim, message)
    cpms.wait_for(2)
    assert control(sim, "POST", "/_sim/reset?all=1").json() == {"ok": True, "cleared": "faults and state"}
    assert control(sim, "GET", "/_sim/received").json() == []
    assert control(sim, "GET", "/_sim/outbound").json() == []
    assert post(sim, followup(message, ["photographs"])).status_code == 400


def test_duplicate_deliveries_sends_identical_bytes_twice(sim: Simulator, cpms: FakeCPMS) -> None:
    control(sim, "POST", "/_sim/faults", json={"duplicate_deliveries": True})
    assert post(sim, query_submit("NZL", "FIN1000000002")).status_code == 202
    rows = wait_until(lambda: outbound_when(sim, lambda row: row["attempts"] == 2, 2))
    for row in rows:
        posts = wait_until(lambda row=row: len(found := cpms.posts_of(row["message_id"])) == 2 and found)
        assert [p.status for p in posts] == [202, 200]
        assert posts[0].raw == posts[1].raw
    assert len(cpms.messages()) == 2


def test_restart_resumes_pending_outbound(make_sim: Callable[..., Simulator], cpms: FakeCPMS, tmp_path: Path,
                                          fast_backoff: None) -> None:
    state = tmp_path / "restart.sqlite3"
    cpms.fail_status = 503
    first = Simulator(cpms.url, SECRET, state, 0.0, timeout=2.0)
    try:
        first.start_in_thread()
        message = query_submit("AUS", "FIN1000000002")
        assert post(first, message).status_code == 202
        wait_until(lambda: len(first.store.outbound_list()) == 3 and cpms.posts)
        pending = [r["message_id"] for r in first.store.outbound_list()]
    finally:
        first.stop()
    cpms.fail_status = None
    second = make_sim(cpms.url, state=state)
    cpms.wait_for(3)
    assert sorted(cpms.accepted) == sorted(pending)
    wait_until(lambda: [r["status"] for r in second.store.outbound_list()] == ["sent"] * 3)
    [received] = second.store.received_list()
    assert (received["message_id"], received["times_received"], received["processed"]) == (message["message_id"], 1, True)
    assert post(second, message).status_code == 200  # the restarted simulator still knows the message


def test_an_invalid_answer_is_a_simulator_bug_not_a_message() -> None:
    with pytest.raises(partners.OutboundSchemaError, match="/body/outcome"):
        partners.outgoing("query.result", "CAN", {"query_ref": "Q-1", "outcome": "maybe"}, due=time.time())


def test_a_message_the_simulator_cannot_answer_is_parked_and_turns_health_red(
    cpms: FakeCPMS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> list:
        raise partners.OutboundSchemaError("simulated bug")

    monkeypatch.setattr(partners, "answer_query_submit", broken)
    sim = Simulator(cpms.url, SECRET, tmp_path / "broken.sqlite3", 0.0, timeout=2.0)
    try:
        sim.start_in_thread()
        assert post(sim, query_submit("CAN", "FIN1000000001")).status_code == 202
        wait_until(lambda: sim.store.processing_errors())
        health = control(sim, "GET", "/_sim/health")
        assert health.status_code == 500
        assert health.json()["processing_errors"][0]["process_error"] == "OutboundSchemaError: simulated bug"
        [received] = sim.store.received_list()
        assert received["processed"] is False
        assert sim.store.outbound_list() == []  # nothing half-answered
    finally:
        sim.stop()


def test_backoff_grows_to_the_cap_with_jitter() -> None:
    assert 0.25 <= server.backoff_seconds(1) <= 0.5
    assert 1.0 <= server.backoff_seconds(3) <= 2.0
    assert all(15.0 <= server.backoff_seconds(n) <= 30.0 for n in (7, 50, 5000))


# --- control plane basics, galleries and images ---------------------------------------------------------------


def test_health_and_unknown_routes(sim: Simulator) -> None:
    assert control(sim, "GET", "/_sim/health").json() == {"ok": True}
    assert control(sim, "GET", "/nowhere").status_code == 404
    wrong_method = control(sim, "GET", "/ident/v1/messages")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST"


@pytest.mark.parametrize("fin", sorted(FOUND_IN))
def test_galleries_match_the_documented_table(fin: str) -> None:
    assert {p for p in icd.PARTNERS if galleries.lookup(p, fin)} == FOUND_IN[fin]


def test_gallery_people_are_schema_shaped_and_nfc() -> None:
    people = [person for gallery in galleries.GALLERIES.values() for person in gallery.values()]
    assert galleries.GALLERIES["GBR"] == galleries.GALLERIES["NZL"] == {}
    for person in people:
        elements = person.elements()
        message = icd.envelope("query.response", person.partner, {
            "query_ref": "Q-1", "round": 2, "responder": {"name": "x"}, "responded_at": icd.now_rfc3339(),
            "person": elements, "attachments": [],
        })
        assert icd.schema_errors(message) == []
        text = json.dumps(elements, ensure_ascii=False)
        assert unicodedata.normalize("NFC", text) == text
    assert {p.partner_person_id for p in people if p.partner == "CAN"} <= {"12345678", "1122334455", "87654321"}


def test_images_are_deterministic_small_and_well_formed() -> None:
    person = galleries.lookup("AUS", "FIN1000000003")
    assert person is not None
    photo = images.photograph_png(person)
    passport = images.document_jpeg(person, kind="passport", issuer="UKR")
    images.photograph_png.cache_clear()
    images.document_jpeg.cache_clear()
    assert images.photograph_png(person) == photo
    assert images.document_jpeg(person, kind="passport", issuer="UKR") == passport
    assert (icd.sniff_media_type(photo), icd.sniff_media_type(passport)) == ("image/png", "image/jpeg")
    assert len(photo) < 100_000 and len(passport) < 100_000
    line1, line2 = images.mrz_lines(person, kind="passport", issuer="UKR")
    assert line1.startswith("P<UKRPETRENKO<<OLEG<")
    assert len(line1) == len(line2) == 44
    assert line2[13:20] == "7905<<1"  # partial date of birth: unknown day as fillers, then its check digit
