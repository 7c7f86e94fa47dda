"""The fault suite (scripts/faults.py, docs/faults.md) with 100 messages, as CI runs it: a stack of its own
(gunicorn, Celery worker and beat, Redis, a PostgreSQL cluster on another port, the IDENT simulator) under
traffic both ways while workers are SIGKILLed, Redis and PostgreSQL restart and the simulator answers 5xx,
times out and delivers duplicates. Every column of the table but sent and delivered must be 0.

The suite runs as a subprocess: it builds and tears down its own processes and database, and never touches the
test database, the shared PostgreSQL on 5432 or the shared Redis on 6379.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 100
TIMEOUT_SECONDS = 420  # the suite bounds itself (about 2 minutes, 4 at worst); this only guards against a hang


def test_fault_suite_loses_nothing_doubles_nothing_and_answers_no_5xx(tmp_path):
    initdb = Path(os.environ.get("FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"), "initdb")
    if not initdb.exists():
        if os.environ.get("CI"):  # CI must run it: missing PostgreSQL binaries are a failure there, not a skip
            pytest.fail(f"{initdb} is missing on CI: the fault suite cannot be skipped there", pytrace=False)
        pytest.skip(f"{initdb} is missing: the fault suite needs PostgreSQL 15's binaries (Debian: postgresql-15)")
    result_file = tmp_path / "faults.json"
    env = {k: v for k, v in os.environ.items() if k != "FAULTS_MESSAGES"}
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "faults.py"), "--messages", str(MESSAGES),
                             "--json", str(result_file)], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.terminate()  # SIGTERM: the suite stops its processes and deletes its cluster
        try:
            stdout, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, _ = proc.communicate()
        pytest.fail(f"the fault suite did not finish within {TIMEOUT_SECONDS} s:\n{stdout[-6000:]}", pytrace=False)
    output = stdout[-12000:] + ("\n" + stderr[-4000:] if stderr.strip() else "")
    assert result_file.exists(), f"the fault suite wrote no result (exit {proc.returncode}):\n{output}"
    result = json.loads(result_file.read_text())
    assert "error" not in result, f"the fault suite could not run: {result['error']}\n{output}"
    columns = result["columns"]
    must_be_zero = {name: columns[name] for name in ("lost", "sent twice", "processed twice", "stuck", "5xx for valid input")}
    assert must_be_zero == dict.fromkeys(must_be_zero, 0), f"exit {proc.returncode}; {must_be_zero}\n{output}"
    assert columns["sent"] >= MESSAGES and columns["delivered"] == columns["sent"], output
    assert proc.returncode == 0, output


def test_the_ledger_counts_each_kind_of_defect():
    """The columns are not vacuous: fed a made-up outcome with one defect of each kind, each column counts it."""
    from collections import Counter

    from scripts.faults.ledger import compute
    from scripts.faults.traffic import Flow

    def out(mid, kind, ref, **kw):
        return {"message_id": mid, "type": kind, "partner": "CAN", "ref": ref, "request_ref": ref, "status": "sent",
                "attempts": 1, "last_error": "", "delivery_status": "delivered", **kw}

    def got(mid, kind, body):
        return {"message_id": mid, "type": kind, "partner": "CAN", "body": body, "times_received": 1, "processed": True,
                "process_error": None}

    def sim_out(mid, kind, body):
        return {"message_id": mid, "type": kind, "partner": "CAN", "status": "sent", "attempts": 1, "last_error": None,
                "message": {"body": body}}

    query = Flow(1, "query_no_match", 0, "CAN", "FIN1000000004", key="K1", query_ref="Q1", ok=True)
    request = Flow(2, "request_no_match", 0, "CAN", "FIN1000000004", request_ref="R1", problem="timed out")
    cpms = {
        "outbox": [out("m1", "query.submit", "Q1"), out("m3", "query.submit", "Q1"),  # two messages for one query
                   out("m2", "request.reply", "R1", delivery_status="")],  # never reached the simulator
        "inbound": [{"message_id": mid, "type": t, "partner": "CAN", "ref": "", "processed_at": 1, "attempts": 1,
                     "last_error": ""} for mid, t in (("a1", "delivery.ack"), ("a1b", "delivery.ack"), ("a3", "delivery.ack"),
                                                      ("r1", "query.result"))],
        "queries": [{"query_ref": "Q1", "submission_key": "K1", "status": "no_match"}],
        "facts": {"matches per query": Counter({("Q1",): 2})},  # one fact stored twice
    }
    sim = {
        "received": [got("m1", "query.submit", {"query_ref": "Q1"}), got("m3", "query.submit", {"query_ref": "Q1"})],
        "outbound": [sim_out("a1", "delivery.ack", {"acked_message_id": "m1"}),
                     sim_out("a1b", "delivery.ack", {"acked_message_id": "m1"}),  # the simulator answered m1 twice
                     sim_out("a3", "delivery.ack", {"acked_message_id": "m3"}),
                     sim_out("r1", "query.result", {"query_ref": "Q1"})],
        "requests": [{"request_ref": "R1", "reply_outcome": None}],
        "queries": [],
    }
    answers = [{"t0": 100.0, "t1": 100.5, "method": "POST", "path": "/ident/v1/messages", "status": 503},  # PostgreSQL down
               {"t0": 110.0, "t1": 110.1, "method": "POST", "path": "/ident/v1/messages", "status": 503},  # it was back
               {"t0": 120.0, "t1": 120.1, "method": "GET", "path": "/api/v1/queries/1/", "status": 500},
               {"t0": 121.0, "t1": 121.1, "method": "GET", "path": "/api/v1/queries/1/", "status": 200}]
    ledger = compute(cpms=cpms, sim=sim, answers=answers, pg_down=[(99.0, 105.0)], flows=[query, request], exchanges=[])
    assert ledger.columns == {"sent": 7, "delivered": 6, "lost": 1, "sent twice": 1, "processed twice": 2, "stuck": 2,
                              "5xx for valid input": 2}, dict(ledger.why)
