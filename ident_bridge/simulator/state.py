"""The simulator's durable state: one SQLite file (stdlib sqlite3, WAL), so it survives a restart.

What it holds: every message received from CPMS (for the duplicate check, and so tests can prove nothing
was processed twice), the queries, partner requests and augmentation refs IDENT knows (for the ICD §3
"unknown reference → 400" rule), and the simulator's own outbound queue to CPMS.

One connection shared by the HTTP handler threads, the processor and the sender, serialised by a lock:
the simulator's load is tiny and a single writer keeps every check-then-write atomic. One simulator
process per state file.
"""

from __future__ import annotations

import enum
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from os import PathLike

from .. import icd
from .partners import Outgoing

_SCHEMA = """
CREATE TABLE IF NOT EXISTS received (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    sha256 TEXT NOT NULL,
    type TEXT NOT NULL,
    partner TEXT NOT NULL,
    body TEXT NOT NULL,
    times_received INTEGER NOT NULL DEFAULT 1,
    processed INTEGER NOT NULL DEFAULT 0,
    process_error TEXT,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS queries (
    partner TEXT NOT NULL,
    query_ref TEXT NOT NULL,
    fin TEXT NOT NULL,
    partner_person_id TEXT,
    rounds_answered INTEGER NOT NULL DEFAULT 0,
    submit_message_id TEXT NOT NULL,
    followup_message_id TEXT,
    PRIMARY KEY (partner, query_ref)
);
CREATE TABLE IF NOT EXISTS requests (
    request_ref TEXT PRIMARY KEY,
    partner TEXT NOT NULL,
    fin TEXT NOT NULL,
    template TEXT NOT NULL,
    message_id TEXT NOT NULL,
    reply_message_id TEXT,
    reply_outcome TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS augments (
    augment_ref TEXT PRIMARY KEY,
    request_ref TEXT NOT NULL REFERENCES requests (request_ref),
    partner TEXT NOT NULL,
    message_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbound (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    partner TEXT NOT NULL,
    raw BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'rejected')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    created_at REAL NOT NULL,
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS outbound_due ON outbound (status, next_attempt_at, seq);
"""

_TABLES = ("received", "queries", "requests", "augments", "outbound")


class Receipt(enum.Enum):
    """How the store took an inbound message; the HTTP layer maps it to ICD §1's answers."""

    ACCEPTED = "accepted"  # 202
    DUPLICATE = "duplicate"  # 200: same message_id, byte-identical body
    CONFLICT = "conflict"  # 409: same message_id, different body
    REFUSED = "refused"  # 400: refers to something unknown (or reuses a ref)


@dataclass(frozen=True)
class ReceiveOutcome:
    receipt: Receipt
    errors: list[icd.ICDError] = field(default_factory=list)


@dataclass(frozen=True)
class Received:
    message_id: str
    type: str
    partner: str
    body: dict


@dataclass(frozen=True)
class Query:
    partner: str
    query_ref: str
    fin: str
    partner_person_id: str | None


@dataclass(frozen=True)
class Request:
    request_ref: str
    partner: str
    fin: str


@dataclass(frozen=True)
class Pending:
    message_id: str
    type: str
    raw: bytes
    attempts: int


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


class Store:
    def __init__(self, path: str | PathLike[str]):
        self._lock = threading.Lock()
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a transaction takes the write lock
        # up front and a check-then-insert can never interleave with another writer.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # ICD §1: "stored durably" before the 202
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # --- inbound ----------------------------------------------------------------------------------------

    def receive(self, message: dict, sha256: str, *, match: str | None = None) -> ReceiveOutcome:
        """Store a schema-valid CPMS message unless it is a duplicate, a conflict or refers to the unknown.

        `match` is, for a `query.submit`, the partner person id the partner's gallery holds for the FIN
        (None for a no-match): a round 3 is only possible on a matched query.
        """
        with self._tx() as db:
            known = db.execute("SELECT sha256 FROM received WHERE message_id = ?", (message["message_id"],)).fetchone()
            if known is not None:
                if known["sha256"] != sha256:
                    return ReceiveOutcome(Receipt.CONFLICT)
                db.execute("UPDATE received SET times_received = times_received + 1 WHERE message_id = ?", (message["message_id"],))
                return ReceiveOutcome(Receipt.DUPLICATE)
            errors = self._reference_errors(db, message)
            if errors:
                return ReceiveOutcome(Receipt.REFUSED, errors)
            db.execute(
                "INSERT INTO received (message_id, sha256, type, partner, body, received_at) VALUES (?, ?, ?, ?, ?, ?)",
                (message["message_id"], sha256, message["type"], message["partner"],
                 json.dumps(message["body"], ensure_ascii=False), time.time()),
            )
            self._register(db, message, match)
        return ReceiveOutcome(Receipt.ACCEPTED)

    @staticmethod
    def _reference_errors(db: sqlite3.Connection, message: dict) -> list[icd.ICDError]:
        """ICD §3: a reference to an unknown query, request or augmentation is answered 400.

        References are registered when a message is accepted (not when it is processed), so a follow-up
        that arrives right behind its query.submit is judged on the same facts.
        """
        kind, partner, body = message["type"], message["partner"], message["body"]
        if kind == "disclosure.correction":  # ICD v1.1: corrects what a reply or a query disclosed to this partner
            if "query_ref" in body:
                known = db.execute("SELECT 1 FROM queries WHERE partner = ? AND query_ref = ?", (partner, body["query_ref"])).fetchone()
                return [] if known else [icd.ICDError("/body/query_ref", f"is not a query CPMS submitted to {partner}")]
            known = db.execute("SELECT 1 FROM requests WHERE partner = ? AND request_ref = ? AND reply_outcome = 'response'",
                               (partner, body["request_ref"])).fetchone()
            return [] if known else [icd.ICDError("/body/request_ref", f"is not a request {partner} was sent a response for")]
        if kind in ("query.submit", "query.followup"):
            query = db.execute(
                "SELECT partner_person_id, followup_message_id FROM queries WHERE partner = ? AND query_ref = ?",
                (partner, body["query_ref"]),
            ).fetchone()
            if kind == "query.submit":
                if query is not None:
                    return [icd.ICDError("/body/query_ref", f"query_ref was already submitted to {partner}")]
                return []
            if query is None:
                return [icd.ICDError("/body/query_ref", f"is not a query CPMS submitted to {partner}")]
            if query["partner_person_id"] is None:
                return [icd.ICDError("/body/query_ref", "this query ended with no_match; no round 3 follows (ICD §3)")]
            if query["followup_message_id"] is not None:
                return [icd.ICDError("/body/round", "round 3 was already requested for this query; there is no fourth round")]
            return []
        request = db.execute(
            "SELECT partner, reply_message_id FROM requests WHERE request_ref = ?", (body["request_ref"],)
        ).fetchone()
        if request is None or request["partner"] != partner:
            return [icd.ICDError("/body/request_ref", f"is not a request {partner} sent through IDENT")]
        if kind == "request.reply" and request["reply_message_id"] is not None:
            return [icd.ICDError("/body/request_ref", "this request was already answered")]
        if kind == "request.augment":
            taken = db.execute("SELECT 1 FROM augments WHERE augment_ref = ?", (body["augment_ref"],)).fetchone()
            if taken is not None:
                return [icd.ICDError("/body/augment_ref", "augment_ref was already used")]
        return []

    @staticmethod
    def _register(db: sqlite3.Connection, message: dict, match: str | None) -> None:
        kind, partner, body, message_id = message["type"], message["partner"], message["body"], message["message_id"]
        if kind == "query.submit":
            db.execute(
                "INSERT INTO queries (partner, query_ref, fin, partner_person_id, submit_message_id) VALUES (?, ?, ?, ?, ?)",
                (partner, body["query_ref"], body["fin"], match, message_id),
            )
        elif kind == "query.followup":
            db.execute(
                "UPDATE queries SET followup_message_id = ? WHERE partner = ? AND query_ref = ?",
                (message_id, partner, body["query_ref"]),
            )
        elif kind == "request.reply":
            db.execute(
                "UPDATE requests SET reply_message_id = ?, reply_outcome = ? WHERE request_ref = ?",
                (message_id, body["outcome"], body["request_ref"]),
            )
        elif kind == "request.augment":
            db.execute(
                "INSERT INTO augments (augment_ref, request_ref, partner, message_id) VALUES (?, ?, ?, ?)",
                (body["augment_ref"], body["request_ref"], partner, message_id),
            )

    def next_unprocessed(self) -> Received | None:
        rows = self._read(
            "SELECT message_id, type, partner, body FROM received WHERE processed = 0 AND process_error IS NULL "
            "ORDER BY seq LIMIT 1"
        )
        if not rows:
            return None
        row = rows[0]
        return Received(row["message_id"], row["type"], row["partner"], json.loads(row["body"]))

    def query(self, partner: str, query_ref: str) -> Query | None:
        rows = self._read(
            "SELECT fin, partner_person_id FROM queries WHERE partner = ? AND query_ref = ?", (partner, query_ref)
        )
        return Query(partner, query_ref, rows[0]["fin"], rows[0]["partner_person_id"]) if rows else None

    def request(self, request_ref: str) -> Request | None:
        rows = self._read("SELECT partner, fin FROM requests WHERE request_ref = ?", (request_ref,))
        return Request(request_ref, rows[0]["partner"], rows[0]["fin"]) if rows else None

    def finish_processing(self, received: Received, answers: Sequence[Outgoing]) -> None:
        """Queue the answers and mark the message processed in one transaction: exactly once, even across
        a crash (either both happened or neither, and then the message is processed again on restart)."""
        with self._tx() as db:
            done = db.execute(
                "UPDATE received SET processed = 1 WHERE message_id = ? AND processed = 0", (received.message_id,)
            )
            if done.rowcount == 0:
                return
            self._enqueue(db, answers)
            # Round 1 always; round 2 follows automatically on a match; a follow-up is round 3.
            if received.type == "query.submit":
                db.execute(
                    "UPDATE queries SET rounds_answered = CASE WHEN partner_person_id IS NULL THEN 1 ELSE 2 END "
                    "WHERE partner = ? AND query_ref = ?",
                    (received.partner, received.body["query_ref"]),
                )
            elif received.type == "query.followup":
                db.execute(
                    "UPDATE queries SET rounds_answered = 3 WHERE partner = ? AND query_ref = ?",
                    (received.partner, received.body["query_ref"]),
                )

    def fail_processing(self, message_id: str, error: str) -> None:
        """Park a message the simulator could not answer (a simulator bug) so it is shown, not retried."""
        with self._tx() as db:
            db.execute("UPDATE received SET process_error = ? WHERE message_id = ?", (error, message_id))

    # --- partner requests -------------------------------------------------------------------------------

    def record_request(self, outgoing: Outgoing, *, template: str) -> bool:
        """Register a partner's request and queue its request.received together. False if the ref is taken."""
        message = outgoing.message
        body = message["body"]
        with self._tx() as db:
            if db.execute("SELECT 1 FROM requests WHERE request_ref = ?", (body["request_ref"],)).fetchone():
                return False
            db.execute(
                "INSERT INTO requests (request_ref, partner, fin, template, message_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (body["request_ref"], message["partner"], body["fin"], template, message["message_id"], time.time()),
            )
            self._enqueue(db, [outgoing])
        return True

    # --- outbound queue ---------------------------------------------------------------------------------

    @staticmethod
    def _enqueue(db: sqlite3.Connection, answers: Sequence[Outgoing]) -> None:
        now = time.time()
        db.executemany(
            "INSERT INTO outbound (message_id, type, partner, raw, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(a.message_id, a.message["type"], a.message["partner"], a.raw, a.due, now) for a in answers],
        )

    def next_due(self, now: float) -> Pending | None:
        rows = self._read(
            "SELECT message_id, type, raw, attempts FROM outbound WHERE status = 'pending' AND next_attempt_at <= ? "
            "ORDER BY next_attempt_at, seq LIMIT 1",
            (now,),
        )
        return Pending(rows[0]["message_id"], rows[0]["type"], bytes(rows[0]["raw"]), rows[0]["attempts"]) if rows else None

    def next_wakeup(self) -> float | None:
        rows = self._read("SELECT MIN(next_attempt_at) AS due FROM outbound WHERE status = 'pending'")
        return rows[0]["due"]

    def mark_sent(self, message_id: str, *, attempts: int) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE outbound SET status = 'sent', attempts = ?, sent_at = ?, last_error = NULL WHERE message_id = ?",
                (attempts, time.time(), message_id),
            )

    def mark_retry(self, message_id: str, *, attempts: int, next_attempt_at: float, error: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE outbound SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE message_id = ?",
                (attempts, next_attempt_at, error, message_id),
            )

    def mark_rejected(self, message_id: str, *, attempts: int, error: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE outbound SET status = 'rejected', attempts = ?, last_error = ? WHERE message_id = ?",
                (attempts, error, message_id),
            )

    def count_attempt(self, message_id: str) -> None:
        """An extra POST of an already delivered message (the duplicate_deliveries fault)."""
        with self._tx() as db:
            db.execute("UPDATE outbound SET attempts = attempts + 1 WHERE message_id = ?", (message_id,))

    # --- control plane views ----------------------------------------------------------------------------

    def received_list(self) -> list[dict]:
        return [
            {
                "message_id": row["message_id"],
                "type": row["type"],
                "partner": row["partner"],
                "body": json.loads(row["body"]),
                "times_received": row["times_received"],
                "processed": bool(row["processed"]),
                "process_error": row["process_error"],
            }
            for row in self._read("SELECT * FROM received ORDER BY seq")
        ]

    def outbound_list(self) -> list[dict]:
        return [
            {
                "message_id": row["message_id"],
                "type": row["type"],
                "partner": row["partner"],
                "status": row["status"],
                "attempts": row["attempts"],
                "next_attempt_at": _iso(row["next_attempt_at"]),
                "sent_at": _iso(row["sent_at"]),
                "last_error": row["last_error"],
                "message": json.loads(bytes(row["raw"])),
            }
            for row in self._read("SELECT * FROM outbound ORDER BY seq")
        ]

    def queries_list(self) -> list[dict]:
        return [
            {key: row[key] for key in ("partner", "query_ref", "fin", "partner_person_id", "rounds_answered")}
            for row in self._read("SELECT * FROM queries ORDER BY rowid")
        ]

    def requests_list(self) -> list[dict]:
        requests = []
        for row in self._read("SELECT * FROM requests ORDER BY created_at"):
            augments = self._read("SELECT augment_ref FROM augments WHERE request_ref = ?", (row["request_ref"],))
            requests.append({
                **{key: row[key] for key in ("request_ref", "partner", "fin", "template", "message_id")},
                "reply_message_id": row["reply_message_id"],
                "reply_outcome": row["reply_outcome"],
                "augment_refs": [a["augment_ref"] for a in augments],
            })
        return requests

    def requests_overview(self, limit: int = 100) -> list[dict]:
        """The partner requests for the simulator's page, newest first: each with the delivery of its
        `request.received` and CPMS's `request.reply` as received (a `response` carries its `package`)."""
        rows = self._read(
            "SELECT r.request_ref, r.partner, r.fin, r.template, r.created_at, r.reply_outcome, "
            "o.status AS delivery_status, o.attempts, o.last_error, o.sent_at AS delivered_at, "
            "reply.body AS reply_body, reply.received_at AS replied_at "
            "FROM requests r LEFT JOIN outbound o ON o.message_id = r.message_id "
            "LEFT JOIN received reply ON reply.message_id = r.reply_message_id "
            "ORDER BY r.created_at DESC, r.rowid DESC LIMIT ?",
            (limit,),
        )
        overview = []
        for row in rows:
            augments = self._read("SELECT augment_ref FROM augments WHERE request_ref = ? ORDER BY rowid", (row["request_ref"],))
            reply = json.loads(row["reply_body"]) if row["reply_body"] else None
            overview.append({
                **{key: row[key] for key in ("request_ref", "partner", "fin", "template", "reply_outcome")},
                "created_at": _iso(row["created_at"]),
                "delivery": {
                    "status": row["delivery_status"],
                    "attempts": row["attempts"],
                    "sent_at": _iso(row["delivered_at"]),
                    "last_error": row["last_error"],
                },
                "replied_at": _iso(row["replied_at"]),
                "reply_package": reply.get("package") if reply else None,
                "augment_refs": [a["augment_ref"] for a in augments],
            })
        return overview

    def recent_received(self, limit: int = 50) -> list[dict]:
        """The latest messages from CPMS for the simulator's page, newest first, without their bodies (a
        reply's attachments can be megabytes): type, partner, the reference it carries and when."""
        rows = self._read(
            "SELECT message_id, type, partner, received_at, times_received, processed, process_error, "
            "coalesce(json_extract(body, '$.query_ref'), json_extract(body, '$.request_ref')) AS ref, "
            "json_extract(body, '$.augment_ref') AS augment_ref, json_extract(body, '$.round') AS round, "
            "json_extract(body, '$.outcome') AS outcome "
            "FROM received ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        return [
            {
                **{key: row[key] for key in ("message_id", "type", "partner", "ref", "augment_ref", "round", "outcome",
                                             "times_received", "process_error")},
                "received_at": _iso(row["received_at"]),
                "processed": bool(row["processed"]),
            }
            for row in rows
        ]

    def processing_errors(self) -> list[dict]:
        rows = self._read("SELECT message_id, type, process_error FROM received WHERE process_error IS NOT NULL")
        return [dict(row) for row in rows]

    def clear(self) -> None:
        """Forget everything (control plane `reset?all=1`)."""
        with self._tx() as db:
            for table in reversed(_TABLES):  # augments reference requests
                db.execute(f"DELETE FROM {table}")  # fixed names, never input
