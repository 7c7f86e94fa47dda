"""The suite's clients and their flows: what officers, ICTS analysts and reviewers, a privacy officer and the
foreign partners do, each flow one business intent followed to its end.

Every action goes through the public doors: officers, ICTS and the privacy officer through CPMS's REST API,
partners through the simulator's `POST /_sim/requests`. Like a real client, a call that ends in a connection
error, a timeout or a 5xx is repeated as it was (the same body, the same `Idempotency-Key`) until it gets an
answer or the flow's deadline passes. A 4xx after such an ambiguous attempt is checked against the database
("did the first attempt do it?"); a 4xx on a first attempt is a refusal of valid input and fails the flow.

Waiting for CPMS (a query's status, an ICTS case) reads CPMS's database directly through the ORM, on a
read-only connection: the suite never writes to CPMS's database.
"""

from __future__ import annotations

import io
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

AGENT = "cpms-faults-suite"
CALL_TIMEOUT = 10.0
POLL_SECONDS = 0.4
RETRY_SECONDS = (0.3, 0.6, 1.2, 2.0)


class FlowFailed(Exception):
    """The flow cannot reach its end: the message says where it stopped and what was seen."""


@dataclass
class Exchange:
    """One HTTP request the suite made and what it got."""

    t0: float
    t1: float
    who: str
    method: str
    path: str
    status: int | None
    error: str
    flow: str
    attempt: int


class Recorder:
    """Every exchange of every client, for the table's 5xx column and the report."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exchanges: list[Exchange] = []

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def snapshot(self) -> list[Exchange]:
        with self._lock:
            return list(self.exchanges)


@dataclass
class Reply:
    status: int
    body: Any
    attempts: int
    ambiguous: bool  # an earlier attempt may have done it (connection error, timeout or 5xx)


class Client:
    """One user's HTTP client (one requests.Session per thread), retrying like a real client."""

    def __init__(self, base_url: str, recorder: Recorder, who: str, *, token: str | None = None,
                 stop: threading.Event | None = None):
        self.base_url = base_url.rstrip("/")
        self.recorder = recorder
        self.who = who
        self.token = token
        self.stop = stop or threading.Event()
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers["User-Agent"] = f"{AGENT} ({self.who})"
            if self.token:
                session.headers["Authorization"] = f"Token {self.token}"
        return session

    def call(self, method: str, path: str, *, flow: str, deadline: float, json: Any = None, data: Any = None,
             files: Any = None, headers: dict | None = None) -> Reply:
        ambiguous = False
        attempt = 0
        while True:
            attempt += 1
            t0 = time.time()
            status, error, body = None, "", None
            try:
                resp = self._session().request(method, self.base_url + path, json=json, data=data, files=files,
                                               headers=headers, timeout=CALL_TIMEOUT)
                status = resp.status_code
                try:
                    body = resp.json()
                except ValueError:
                    body = resp.text[:500]
            except requests.RequestException as exc:
                error = exc.__class__.__name__
                self._local.session = None  # a fresh connection next time
            self.recorder.add(Exchange(t0, time.time(), self.who, method, path, status, error, flow, attempt))
            if status is not None and status < 500:
                return Reply(status, body, attempt, ambiguous)
            ambiguous = True
            pause = RETRY_SECONDS[min(attempt - 1, len(RETRY_SECONDS) - 1)]
            if time.monotonic() + pause > deadline or self.stop.is_set():
                raise FlowFailed(f"{method} {path}: no answer but {status or error} after {attempt} attempts")
            time.sleep(pause)


def jpeg_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 12), (40, 90, 160)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


# --- reading CPMS's database --------------------------------------------------------------------------------


def read_only_connections() -> None:
    """Every connection the suite opens to CPMS's database refuses writes."""
    from django.db.backends.signals import connection_created

    def on_connect(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")

    connection_created.connect(on_connect, weak=False)


def db_read(fn, *, deadline: float, stop: threading.Event):
    """Run a read; while the database is down (or the connection stale after a restart) try again."""
    from django.db import DatabaseError, connection

    while True:
        try:
            return fn()
        except DatabaseError:
            connection.close()
            if time.monotonic() > deadline or stop.is_set():
                raise
            time.sleep(0.5)


def wait_until(what: str, fn, *, deadline: float, stop: threading.Event, describe=None):
    """Poll `fn` (a database read returning a value, None to keep waiting, or raising FlowFailed)."""
    from django.db import DatabaseError

    last = None
    while True:
        try:
            value = db_read(fn, deadline=deadline, stop=stop)
        except DatabaseError as exc:
            raise FlowFailed(f"waiting for {what}: database unreadable ({exc.__class__.__name__})") from exc
        if value is not None:
            return value
        if time.monotonic() > deadline or stop.is_set():
            if describe is not None:
                try:
                    last = db_read(describe, deadline=time.monotonic() + 5, stop=threading.Event())
                except Exception as exc:  # the description is a courtesy
                    last = f"({exc.__class__.__name__})"
            raise FlowFailed(f"timed out waiting for {what}" + (f"; {last}" if last else ""))
        time.sleep(POLL_SECONDS)


# --- the flows ----------------------------------------------------------------------------------------------

# The simulator's galleries and CPMS's demo data (docs/simulator.md, docs/demo-data.md). Queries go only about the
# people the disclosure rules let USCIS ask about without a privacy officer (FIN 3, 4 and 5 hold T, U and VAWA classes:
# their queries are held before sending, which the fault suite does not exercise).
QUERY_MATCH = [("FIN1000000001", "CAN"), ("FIN1000000002", "AUS")]
QUERY_NO_MATCH = [("FIN1000000001", "AUS"), ("FIN1000000002", "CAN")]
REQUEST_ICTS = [("CAN", "FIN1000000001"), ("AUS", "FIN1000000001"), ("CAN", "FIN1000000002"), ("AUS", "FIN1000000002"),
                ("CAN", "FIN1000000007"), ("CAN", "FIN1000000009"), ("AUS", "FIN1000000009")]
REQUEST_NO_MATCH = [(p, f) for f in ("FIN1000000003", "FIN1000000004", "FIN1000000005", "FIN1000000006", "FIN9999999999")
                    for p in ("CAN", "AUS")] + [("AUS", "FIN1000000007")]
REQUEST_REFER = [("CAN", "FIN1000000008"), ("AUS", "FIN1000000008")]
TEMPLATES = {"CAN": ("uniform-v1", "CAN-v1"), "AUS": ("uniform-v1", "AUS-v1")}
REASONS = ("asylum_claimant", "refugee_claimant", "application", "other")
PRIORITIES = ("high", "medium", "low")
ITEMS = ("biographic", "immigration_status", "immigration_history", "watchlist_status", "photographs", "document_images")

# kind: (messages it puts on the wire both ways, weight in the mix)
KINDS = {
    "query_no_match": (3, 20),  # query.submit, delivery.ack, query.result no_match
    "query_match": (4, 14),  # + query.response round 2
    "query_round3": (7, 14),  # + query.followup, delivery.ack, query.response round 3
    "request_no_match": (3, 20),  # request.received, request.reply no_match, delivery.ack
    "request_icts": (3, 14),  # request.received, (ICTS case, package, review) request.reply response, delivery.ack
    "request_icts_augment": (6, 6),  # + request.augment, delivery.ack, query.response (augment_ref)
    "referral_withhold": (3, 6),  # request.received, (privacy officer withholds) request.reply no_match, delivery.ack
    "referral_share": (3, 6),  # request.received, (privacy officer shares, ICTS) request.reply response, delivery.ack
}


@dataclass
class Flow:
    n: int
    kind: str
    start_at: float  # seconds after the traffic starts
    partner: str
    fin: str
    template: str = ""
    key: str = ""  # officer flows: the Idempotency-Key
    request_ref: str = ""  # partner flows
    attach: bool = False
    items: list[str] = field(default_factory=list)
    # filled in while it runs
    query_id: int | None = None
    query_ref: str = ""
    request_id: int | None = None
    started: float | None = None
    ended: float | None = None
    ok: bool = False
    problem: str = ""
    steps: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.kind}#{self.n}"

    @property
    def expected_messages(self) -> int:
        return KINDS[self.kind][0]

    @property
    def is_query(self) -> bool:
        return self.kind.startswith("query_")

    @property
    def expected_reply(self) -> str | None:
        """The outcome the partner must receive in `request.reply`."""
        if self.is_query:
            return None
        return "no_match" if self.kind in ("request_no_match", "referral_withhold") else "response"


def plan(messages: int, *, duration: float, seed: int, run_id: str) -> list[Flow]:
    """Flows whose messages add up to at least `messages`: one of each kind first, then a seeded random mix,
    started evenly over the first 85% of the traffic phase."""
    rng = random.Random(seed)
    kinds = list(KINDS)
    chosen = list(kinds)
    total = sum(KINDS[k][0] for k in chosen)
    while total < messages:
        kind = rng.choices(kinds, weights=[KINDS[k][1] for k in kinds])[0]
        chosen.append(kind)
        total += KINDS[kind][0]
    rng.shuffle(chosen)
    flows = []
    spread = duration * 0.85
    for n, kind in enumerate(chosen, 1):
        start = spread * (n - 1) / max(1, len(chosen) - 1) if len(chosen) > 1 else 0.0
        if kind.startswith("query_"):
            fin, partner = rng.choice(QUERY_NO_MATCH if kind == "query_no_match" else QUERY_MATCH)
            flow = Flow(n, kind, start, partner, fin, key=f"faults-{run_id}-{n:05d}")
            if kind == "query_round3":
                flow.items = rng.sample(ITEMS, rng.randint(1, 3))
        else:
            pool = {"request_no_match": REQUEST_NO_MATCH, "referral_withhold": REQUEST_REFER,
                    "referral_share": REQUEST_REFER}.get(kind, REQUEST_ICTS)
            partner, fin = rng.choice(pool)
            flow = Flow(n, kind, start, partner, fin, template=rng.choice(TEMPLATES[partner]),
                        request_ref=f"{partner}-F{run_id}-{n:05d}", attach=rng.random() < 0.5)
            flow.items = rng.sample(ITEMS, rng.randint(1, 3))
        flows.append(flow)
    return flows


@dataclass
class Users:
    officer: Client
    analyst: Client
    reviewer: Client
    privacy: Client
    partners: Client  # the simulator's control plane: the partners' side
    analyst_id: int
    case_by_fin: dict[str, int]


class Runner:
    """Runs one flow to its end (or its deadline). Thread-safe: one Runner serves every flow thread."""

    def __init__(self, users: Users, *, deadline: float, stop: threading.Event, jpeg: bytes):
        self.u = users
        self.deadline = deadline
        self.stop = stop
        self.jpeg = jpeg

    def run(self, flow: Flow) -> None:
        from django.db import connection

        flow.started = time.time()
        try:
            if flow.is_query:
                self._query(flow)
            else:
                self._request(flow)
            flow.ok = True
        except FlowFailed as exc:
            flow.problem = str(exc)
        except Exception as exc:  # a bug of the suite: shown, never hidden
            flow.problem = f"suite error: {exc.__class__.__name__}: {exc}"
        finally:
            flow.ended = time.time()
            connection.close()

    # --- officer queries ------------------------------------------------------------------------------

    def _query(self, f: Flow) -> None:
        from cpms.queries.models import QueryRound

        body = {"case": self.u.case_by_fin[f.fin], "partner": f.partner, "reason": REASONS[f.n % len(REASONS)],
                "priority": PRIORITIES[f.n % len(PRIORITIES)]}
        reply = self.u.officer.call("POST", "/api/v1/queries/", json=body, headers={"Idempotency-Key": f.key},
                                    flow=f.name, deadline=self.deadline)
        if reply.status != 201:
            raise FlowFailed(f"create query: {reply.status} {str(reply.body)[:300]}")
        f.query_id, f.query_ref = reply.body["id"], reply.body["query_ref"]
        f.steps.append(f"created {f.query_ref}" + (f" after {reply.attempts} attempts" if reply.attempts > 1 else ""))
        target = "no_match" if f.kind == "query_no_match" else "responded"
        self._wait_query(f, target)
        if f.kind == "query_round3":
            reply = self.u.officer.call("POST", f"/api/v1/queries/{f.query_id}/round3/",
                                        json={"requested_items": f.items, "justification": "Fault suite: the officer needs more."},
                                        flow=f.name, deadline=self.deadline)
            if reply.status != 202:
                done = db_read(lambda: QueryRound.objects.filter(query_id=f.query_id, number=3).exists(),
                               deadline=self.deadline, stop=self.stop)
                if not (reply.ambiguous and done):
                    raise FlowFailed(f"round 3: {reply.status} {str(reply.body)[:300]}")
            f.steps.append("round 3 requested")
            target = "completed"
            self._wait_query(f, target)
        reply = self.u.officer.call("GET", f"/api/v1/queries/{f.query_id}/", flow=f.name, deadline=self.deadline)
        if reply.status != 200:
            raise FlowFailed(f"read the query: {reply.status} {str(reply.body)[:300]}")
        rounds = len(reply.body.get("rounds", []))
        want = {"query_no_match": 1, "query_match": 2, "query_round3": 3}[f.kind]
        if reply.body.get("status") != target or rounds != want:
            raise FlowFailed(f"the API shows {reply.body.get('status')} with {rounds} rounds, expected {target} with {want}")

    def _wait_query(self, f: Flow, target: str) -> None:
        from cpms.queries.models import InternationalQuery

        def reached():
            status = InternationalQuery.objects.filter(pk=f.query_id).values_list("status", flat=True).first()
            if status == target:
                return status
            if status in ("no_match", "completed", "closed", "failed") or (status == "responded" and target == "no_match"):
                raise FlowFailed(f"{f.query_ref} became {status}, expected {target}")
            return None

        wait_until(f"{f.query_ref} to become {target}", reached, deadline=self.deadline, stop=self.stop,
                   describe=lambda: f"status is {InternationalQuery.objects.get(pk=f.query_id).status}")
        f.steps.append(target)

    # --- partners' requests ---------------------------------------------------------------------------

    def _request(self, f: Flow) -> None:
        from cpms.partner_requests.models import PartnerRequest

        body = {"partner": f.partner, "fin": f.fin, "template": f.template, "request_ref": f.request_ref,
                "requested_items": f.items, "reason": "refugee_claimant", "priority": PRIORITIES[f.n % len(PRIORITIES)]}
        reply = self.u.partners.call("POST", "/_sim/requests", json=body, flow=f.name, deadline=self.deadline)
        if reply.status != 201 and not (reply.ambiguous and reply.status == 400 and "already used" in str(reply.body)):
            raise FlowFailed(f"the simulator did not send the request: {reply.status} {str(reply.body)[:300]}")
        f.steps.append(f"{f.partner} sent {f.request_ref}")
        first = {"request_no_match": "answered_no_match", "request_icts": "in_icts", "request_icts_augment": "in_icts",
                 "referral_withhold": "referred", "referral_share": "referred"}[f.kind]
        self._wait_request(f, first)
        if f.kind.startswith("referral_"):
            outcome = "withhold" if f.kind == "referral_withhold" else "share"
            reply = self.u.privacy.call("POST", f"/api/v1/partner-requests/{f.request_id}/resolve/",
                                        json={"outcome": outcome, "justification": "Fault suite: the privacy officer decides."},
                                        flow=f.name, deadline=self.deadline)
            if reply.status != 200:
                status = db_read(lambda: PartnerRequest.objects.get(pk=f.request_id).status, deadline=self.deadline,
                                 stop=self.stop)
                if not (reply.ambiguous and status != "referred"):
                    raise FlowFailed(f"resolve ({outcome}): {reply.status} {str(reply.body)[:300]}")
            f.steps.append(f"privacy officer: {outcome}")
            self._wait_request(f, "answered_no_match" if outcome == "withhold" else "in_icts")
        if f.expected_reply == "response":
            self._icts(f)
            if f.kind == "request_icts_augment":
                self._augment(f)

    def _wait_request(self, f: Flow, target: str) -> None:
        from cpms.partner_requests.models import PartnerRequest

        def reached():
            row = PartnerRequest.objects.filter(partner_id=f.partner, request_ref=f.request_ref).values("pk", "status").first()
            if row is None:
                return None
            f.request_id = row["pk"]
            if row["status"] == target:
                return row
            if row["status"] in ("answered_no_match", "answered") or (target == "referred" and row["status"] == "in_icts"):
                raise FlowFailed(f"request {f.request_ref} became {row['status']}, expected {target}")
            return None

        def describe():
            row = PartnerRequest.objects.filter(partner_id=f.partner, request_ref=f.request_ref).values("status").first()
            return f"status is {row['status']}" if row else "CPMS has no such request"

        wait_until(f"request {f.request_ref} to become {target}", reached, deadline=self.deadline, stop=self.stop,
                   describe=describe)
        f.steps.append(target)

    def _icts(self, f: Flow) -> None:
        from cpms.core.models import Person
        from icts.models import IctsCase

        case_id = wait_until(f"the ICTS case of {f.request_ref}",
                             lambda: IctsCase.objects.filter(partner_request_id=f.request_id).values_list("pk", flat=True).first(),
                             deadline=self.deadline, stop=self.stop)
        base = f"/api/v1/icts/cases/{case_id}"

        def case():
            return IctsCase.objects.values("status", "assigned_analyst_id").get(pk=case_id)

        def act(client: Client, method: str, path: str, done, what: str, **kwargs) -> None:
            reply = client.call(method, base + path, flow=f.name, deadline=self.deadline, **kwargs)
            if reply.status == 200:
                f.steps.append(what)
                return
            if reply.ambiguous and db_read(done, deadline=self.deadline, stop=self.stop):
                f.steps.append(f"{what} (by an earlier attempt)")
                return
            raise FlowFailed(f"ICTS {what}: {reply.status} {str(reply.body)[:300]}")

        act(self.u.analyst, "POST", "/assign/", lambda: case()["assigned_analyst_id"] == self.u.analyst_id, "assigned", json={})
        person = db_read(lambda: Person.objects.values("family_name", "given_names", "a_number", "country_of_birth",
                                                      "citizenships").get(fin=f.fin), deadline=self.deadline, stop=self.stop)
        package = {"family_name": person["family_name"], "given_names": person["given_names"], "a_number": person["a_number"],
                   "country_of_birth": person["country_of_birth"], "countries_of_citizenship": person["citizenships"],
                   "immigration_status": {"status": "Case pending with USCIS", "as_of": "2026-01-15"}}
        act(self.u.analyst, "PUT", "/package/", lambda: False, "package saved",
            json={"reviewer_name": "Rita Moreno", "reviewer_email": "rita.moreno@uscis.example.gov", "person": package})
        if f.attach:
            from icts.models import PackageAttachment

            act(self.u.analyst, "POST", "/attachments/",
                lambda: PackageAttachment.objects.filter(package__case_id=case_id).exists(), "passport attached",
                files={"file": ("passport.jpg", self.jpeg, "image/jpeg")}, data={"kind": "passport"})
        act(self.u.analyst, "POST", "/submit/", lambda: case()["status"] != "preparing", "submitted")
        act(self.u.reviewer, "POST", "/review/", lambda: case()["status"] in ("approved", "transmitted", "delivered"),
            "approved", json={"verdict": "approved"})

        def delivered():
            status = case()["status"]
            if status == "delivered":
                return status
            if status in ("delivery_failed", "blocked", "closed", "returned"):
                raise FlowFailed(f"ICTS case of {f.request_ref} became {status}")
            return None

        wait_until(f"the ICTS case of {f.request_ref} to be delivered", delivered, deadline=self.deadline, stop=self.stop,
                   describe=lambda: f"case status is {case()['status']}")
        f.steps.append("delivered")

    def _augment(self, f: Flow) -> None:
        from cpms.partner_requests.models import Augmentation

        reply = self.u.analyst.call("POST", f"/api/v1/partner-requests/{f.request_id}/augment/",
                                    json={"requested_items": f.items, "justification": "Fault suite: identity check."},
                                    flow=f.name, deadline=self.deadline)
        if reply.status != 202:
            exists = db_read(lambda: Augmentation.objects.filter(partner_request_id=f.request_id).exists(),
                             deadline=self.deadline, stop=self.stop)
            if not (reply.ambiguous and exists):
                raise FlowFailed(f"augment: {reply.status} {str(reply.body)[:300]}")
        f.steps.append("augmentation asked")

        def answered():
            rows = list(Augmentation.objects.filter(partner_request_id=f.request_id).values_list("answered_at", flat=True))
            return True if rows and all(rows) else None

        wait_until(f"the augmentation of {f.request_ref} to be answered", answered, deadline=self.deadline, stop=self.stop)
        f.steps.append("augmentation answered")


def login(base_url: str, recorder: Recorder, username: str, password: str, *, deadline: float) -> str:
    """A token for a demo user: password, the pre-enrolled second factor's current code (cpms.core.demo_data), and the
    accepted system-use notification."""
    from django_otp.oath import totp

    from cpms.core.demo_data import demo_totp_key

    anonymous = Client(base_url, recorder, username)
    otp = f"{totp(bytes.fromhex(demo_totp_key(username))):06d}"
    reply = anonymous.call("POST", "/api/v1/auth/token/", json={"username": username, "password": password, "otp": otp,
                                                                "accept_system_use": True},
                           flow="login", deadline=deadline)
    if reply.status != 200:
        raise FlowFailed(f"login {username}: {reply.status} {reply.body}")
    return reply.body["token"]
