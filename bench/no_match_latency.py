"""A partner's request for an unknown FIN, end to end: from the IDENT simulator posting `request.received` until
CPMS's `request.reply` `no_match` reaches the simulator, next to an empty Celery task on the same worker.

What runs (every process on loopback, in its own process group, killed at the end):
- CPMS under gunicorn (sync workers, production settings `cpms.settings.base`) on a PostgreSQL database of its
  own, Redis as the broker (a database of the benchmarks' own, flushed before and after);
- a real Celery worker with embedded beat, as tests/integration/harness.py starts it (`celery -A cpms worker -B
  --pool=solo -Q cpms`), with production sweep timings (--fast-clocks: the harness's WORKER_TIMINGS), and
  `-I bench.celery_probe` for the empty task;
- the simulator (`manage.py ident_simulator`), delivering to gunicorn, with CPMS's IDENT_URL pointing at it.

The path measured: simulator → POST /ident/v1/messages (stored, 202) → task inbound_process (PartnerRequest
recorded) → task request_check (no USCIS person: withheld, reply written to the outbox) → task outbox_relay →
POST to the simulator's /ident/v1/messages. Requests go one at a time (--gap between them, so each starts on a
settled system), each for a FIN no one knows, partners and templates rotating. Empty tasks go the same way, one
at a time. The two alternate in --blocks blocks, so a busy machine slows both alike.

Figures (p50 / p95 / max, ms):
- no_match, polled: the bench's clock from just before POST /_sim/requests until GET /_sim/requests shows the
  reply (polled every --poll-ms);
- no_match, simulator clock: the simulator's own record, from queueing request.received to storing the
  request.reply (its state file, read after the run): no polling error;
- stages of it, from the timestamps CPMS and the simulator record anyway (receipt, processed_at, the reply's
  outbox row), and every task's run time from the worker's log;
- empty task: enqueue (just before apply_async) to the task's return (bench/celery_probe.py).
The ratio printed is no_match p95 (simulator clock) / empty task p95; the issue's target is at most 5x.
Nothing is asserted.

    python bench/no_match_latency.py [--requests 80] [--tasks 80] [--blocks 4] [--gap 0.15] [--fast-clocks]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from inbound_throughput import PG, REDIS, flush_redis, free_port, stop_group  # noqa: E402  (bench/ on sys.path)

PY = sys.executable
SECRET = "bench-shared-secret"
DB_NAME = os.environ.get("BENCH_LATENCY_DB", "cpms_bench_latency")
START_TIMEOUT = 90.0
PARTNERS = [("CAN", "CAN-v1"), ("AUS", "AUS-v1"), ("GBR", "uniform-v1"), ("NZL", "uniform-v1"), ("CAN", "uniform-v1")]
WORKER_TIMINGS = {  # tests/integration/harness.py, for --fast-clocks
    "SWEEP_INTERVAL_SECONDS": "1",
    "OUTBOX_LEASE_SECONDS": "3",
    "INBOUND_STALE_SECONDS": "2",
    "OUTBOX_BACKOFF_BASE_SECONDS": "0.2",
    "OUTBOX_BACKOFF_MAX_SECONDS": "2",
    "IDENT_TIMEOUT_SECONDS": "10",
}


def base_env(ident_url: str, var_dir: Path, fast_clocks: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "OUTBOX_", "INBOUND_", "IDENT_", "SWEEP_"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "cpms.settings.base",
        "CPMS_ALLOW_INSECURE_KEY": "1",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": REDIS,
        "IDENT_URL": ident_url,
        "IDENT_SHARED_SECRET": SECRET,
        "CPMS_VAR_DIR": str(var_dir),
        "CPMS_MEDIA_ROOT": str(var_dir / "media"),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    })
    if fast_clocks:
        env.update(WORKER_TIMINGS)
    return env


def setup_database(env: dict) -> None:
    subprocess.run(["psql", PG + "/postgres", "-qc", f"DROP DATABASE IF EXISTS {DB_NAME}"], check=True, capture_output=True)
    subprocess.run(["psql", PG + "/postgres", "-qc", f"CREATE DATABASE {DB_NAME}"], check=True, capture_output=True)
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    script = "from cpms.core.reference_data import load_reference_data; load_reference_data()"
    subprocess.run([PY, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, capture_output=True)


class Proc:
    """A subprocess in its own process group, logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict, log: Path):
        self.name, self.log = name, log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def check(self) -> None:
        if self.proc.poll() is not None:
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{tail}")

    def stop(self) -> None:
        stop_group(self.proc)


def http_json(port: int, method: str, path: str, body: dict | None = None, timeout: float = 10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        resp = conn.getresponse()
        payload = resp.read()
        return resp.status, (json.loads(payload) if payload else None)
    finally:
        conn.close()


def wait_for(what: str, predicate, procs: list[Proc], timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            p.check()
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):8.1f} {pct(values, 0.95):8.1f} {max(values):8.1f}"


def start_worker(env: dict, tmp: Path, label: str, procs: list[Proc], extra_env: dict | None = None) -> Proc:
    log = tmp / f"worker-{label}.log"
    worker = Proc(f"worker ({label})", [
        PY, "-m", "celery", "-A", "cpms", "worker", "-B", "--pool=solo", "-Q", "cpms", "-l", "info", "-I", "bench.celery_probe",
        "-n", f"bench-{label}-{os.getpid()}@%h", "-s", str(tmp / f"celerybeat-schedule-{label}"),
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ], env | {"LOG_LEVEL": "INFO"} | (extra_env or {}), log)
    procs.append(worker)
    wait_for(f"the worker ({label}) to log 'ready.'", lambda: b" ready." in log.read_bytes(), procs)
    return worker


class Phase:
    """One measurement: requests and empty tasks alternating in blocks, on the worker that is running."""

    def __init__(self, args, sim_port: int, procs: list[Proc], rconn, counter):
        self.args, self.sim_port, self.procs, self.rconn, self.counter = args, sim_port, procs, rconn, counter
        self.refs: list[str] = []
        self.polled: list[float] = []
        self.task_ms: list[float] = []

    def one_request(self) -> tuple[str, float]:
        args = self.args
        n = next(self.counter)
        partner, template = PARTNERS[n % len(PARTNERS)]
        fin = f"FIN8{os.getpid() % 1000:03d}{n:06d}"  # in no gallery, and CPMS holds no person at all
        started = time.time()
        status, message = http_json(self.sim_port, "POST", "/_sim/requests", {"partner": partner, "fin": fin, "template": template})
        if status != 201:
            raise RuntimeError(f"POST /_sim/requests answered {status}: {message}")
        ref = message["body"]["request_ref"]
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            _, listed = http_json(self.sim_port, "GET", "/_sim/requests")
            row = next((r for r in listed if r["request_ref"] == ref), None)
            if row and row["reply_outcome"]:
                if row["reply_outcome"] != "no_match":
                    raise RuntimeError(f"{ref}: the reply is {row['reply_outcome']}, not no_match")
                return ref, 1000 * (time.time() - started)
            for p in self.procs:
                p.check()
            time.sleep(args.poll_ms / 1000)
        raise RuntimeError(f"no reply to {ref} within {args.timeout} s")

    def one_task(self) -> float:
        from bench.celery_probe import FINISHED_KEY, empty

        token = uuid.uuid4().hex
        started = time.time()
        empty.apply_async((token,))
        popped = self.rconn.blpop([FINISHED_KEY], timeout=self.args.timeout)
        if popped is None:
            raise RuntimeError(f"the empty task did not finish within {self.args.timeout} s")
        got, finished = popped[1].decode().split()
        if got != token:
            raise RuntimeError("the empty task finished out of order")
        return 1000 * (float(finished) - started)

    def run(self, label: str) -> None:
        args = self.args
        for _ in range(3):  # warm-up: every web worker and the Celery worker import, connect, compile
            self.one_request()
            time.sleep(args.gap)
        for _ in range(5):
            self.one_task()
            time.sleep(args.gap)
        per_block_r = [args.requests // args.blocks + (1 if i < args.requests % args.blocks else 0) for i in range(args.blocks)]
        per_block_t = [args.tasks // args.blocks + (1 if i < args.tasks % args.blocks else 0) for i in range(args.blocks)]
        for b in range(args.blocks):
            for kind in (("tasks", "requests") if b % 2 == 0 else ("requests", "tasks")):
                for _ in range(per_block_t[b] if kind == "tasks" else per_block_r[b]):
                    if kind == "tasks":
                        self.task_ms.append(self.one_task())
                    else:
                        ref, ms = self.one_request()
                        self.refs.append(ref)
                        self.polled.append(ms)
                    time.sleep(args.gap)
            print(f"  {label}: block {b + 1}/{args.blocks}, {len(self.refs)} requests and {len(self.task_ms)} tasks so far",
                  flush=True)
        time.sleep(1.0)  # the last delivery.ack reaches CPMS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=80, help="partner requests measured (after 3 warm-up ones)")
    parser.add_argument("--tasks", type=int, default=80, help="empty tasks measured (after 5 warm-up ones)")
    parser.add_argument("--blocks", type=int, default=4, help="the two measurements alternate in this many blocks")
    parser.add_argument("--gap", type=float, default=0.15, help="seconds between two requests or two tasks")
    parser.add_argument("--poll-ms", type=float, default=5.0, help="how often GET /_sim/requests is polled")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one request or task may take")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--fast-clocks", action="store_true", help="the harness's WORKER_TIMINGS (sweeps every second)")
    parser.add_argument("--profile", action="store_true",
                        help="sample the worker with py-spy (pip install py-spy into the venv) while requests run")
    parser.add_argument("--what-if", action="store_true",
                        help="measure again with a worker that keeps its database connection between tasks "
                             "(bench/worker_settings.py), same run")
    parser.add_argument("--statements", type=int, default=5,
                        help="requests replayed in-process to count each task's SQL statements (0: skip)")
    args = parser.parse_args()
    # SIGTERM (bench/run.py, a CI timeout) unwinds like Ctrl-C, so the finally blocks stop every process started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    tmp = Path(tempfile.mkdtemp(prefix="cpms-bench-latency-"))
    (tmp / "media").mkdir()
    cpms_port, sim_port = free_port(), free_port()
    env = base_env(f"http://127.0.0.1:{sim_port}/ident/v1", tmp, args.fast_clocks)
    os.environ.update(env)
    import django

    django.setup()
    import redis

    flush_redis()
    setup_database(env)
    rconn = redis.Redis.from_url(REDIS, socket_timeout=args.timeout + 5)
    procs: list[Proc] = []
    state = tmp / "sim.sqlite3"
    phases: dict[str, dict] = {}
    counter = iter(range(10**9))
    statements = None
    try:
        procs.append(Proc("gunicorn", [PY, "-m", "gunicorn", "cpms.wsgi", "-b", f"127.0.0.1:{cpms_port}", "-w",
                                       str(args.web_workers), "--log-level", "warning"], env, tmp / "gunicorn.log"))
        procs.append(Proc("simulator", [PY, "manage.py", "ident_simulator", "--port", str(sim_port), "--cpms-url",
                                        f"http://127.0.0.1:{cpms_port}/ident/v1", "--state", str(state), "--result-delay", "0"],
                          env, tmp / "simulator.log"))
        wait_for("gunicorn /healthz", lambda: http_json(cpms_port, "GET", "/healthz")[0] == 200, procs)
        wait_for("the simulator's /_sim/health", lambda: http_json(sim_port, "GET", "/_sim/health")[0] == 200, procs)
        variants = [("production", {})]
        if args.what_if:
            variants.append(("what-if: connection kept", {"DJANGO_SETTINGS_MODULE": "bench.worker_settings",
                                                          "BENCH_CLOSE_OLD_CONNECTIONS": "1"}))
        for label, extra in variants:
            worker = start_worker(env, tmp, label.split(":")[0].replace(" ", "-"), procs, extra)
            spy = start_profile(worker, tmp, label) if args.profile else None
            phase = Phase(args, sim_port, procs, rconn, counter)
            phase.run(label)
            profile = stop_profile(spy) if spy else None
            sim_ms, stages = timelines(state, phase.refs)
            phases[label] = {"sim_ms": sim_ms, "polled_ms": phase.polled, "task_ms": phase.task_ms, "stages_ms": stages,
                             "runtimes_ms": task_runtimes(worker.log), "profile": profile}
            worker.stop()
            procs.remove(worker)
    finally:
        for p in reversed(procs):
            p.stop()
    try:
        if args.statements:
            statements = statement_counts(args.statements)
    finally:
        flush_redis()

    print(f"\nA partner's request for an unknown FIN, simulator → CPMS (gunicorn {args.web_workers} workers, Celery solo worker "
          f"with beat, Redis, PostgreSQL) → request.reply no_match at the simulator; one at a time, {args.gap:g} s apart, "
          f"in {args.blocks} blocks alternating with empty tasks"
          f"{'; harness fast clocks' if args.fast_clocks else '; production sweep timings'}:")
    for label, ph in phases.items():
        ratio = pct(ph["sim_ms"], 0.95) / pct(ph["task_ms"], 0.95)
        ph["ratio_p95"] = ratio
        print(f"\n  [{label}] {len(ph['sim_ms'])} requests, {len(ph['task_ms'])} empty tasks")
        print(f"  {'ms':<62}{'p50':>8} {'p95':>8} {'max':>8}")
        print(f"  {'no_match, simulator clock (queued → reply stored)':<62}{summary(ph['sim_ms'])}")
        print(f"  {'no_match, polled by the bench (POST /_sim/requests → seen)':<62}{summary(ph['polled_ms'])}")
        for name, values in ph["stages_ms"].items():
            if values:
                print(f"  {'  ' + name:<62}{summary(values)}")
        print(f"  {'empty Celery task, enqueue → return (same worker)':<62}{summary(ph['task_ms'])}")
        print(f"  ratio of the p95s, no_match / empty task: {ratio:.1f}x (target: at most 5x); "
              f"p50s: {statistics.median(ph['sim_ms']) / statistics.median(ph['task_ms']):.1f}x")
        print("  task run times in the worker's log ('succeeded in', warm-up and delivery.ack processing included), ms:")
        for name, values in sorted(ph["runtimes_ms"].items()):
            print(f"    {name:<58}{summary(values)}  (n={len(values)})")
        if ph["profile"]:
            print_profile(ph["profile"])
    if len(phases) == 2:
        (a, pa), (b, pb) = phases.items()
        print(f"\n  same run, {b} / {a}: no_match p95 {pct(pb['sim_ms'], 0.95):.0f} / {pct(pa['sim_ms'], 0.95):.0f} ms "
              f"= {pct(pb['sim_ms'], 0.95) / pct(pa['sim_ms'], 0.95):.2f}x, p50 "
              f"{statistics.median(pb['sim_ms']) / statistics.median(pa['sim_ms']):.2f}x")
    if statements:
        print_statements(statements, args.statements)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "no_match_latency.json").write_text(json.dumps({"config": vars(args), "phases": phases, "statements": statements,
                                                           "logs": str(tmp)}, indent=1, default=str))
    print(f"\n  logs and the simulator's state: {tmp}")


def statement_counts(n: int) -> dict[str, dict]:
    """The same path replayed in this process, the worker stopped: SQL statements and ms of each step, with the
    connection kept open (BEGIN/COMMIT are not counted: psycopg issues them outside the cursor)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cpms.partner_requests import services
    from cpms.partner_requests.models import PartnerRequest
    from ident_bridge import icd, inbound, outbox
    from ident_bridge.models import InboundMessage
    from ident_bridge.simulator import galleries, partners
    from ident_bridge.transport import Delivery

    class Accepting:  # the simulator's side of outbox_deliver, without the network
        def post(self, raw: bytes) -> Delivery:
            return Delivery(202, {})

    steps: dict[str, dict] = {name: {"statements": [], "audit": [], "savepoints": [], "ms": []} for name in (
        "door: inbound.receive", "task 1: inbound_process", "task 2: request_check", "task 3: outbox_deliver")}
    for i in range(n + 1):  # the first is a warm-up
        fin = f"FIN7{os.getpid() % 1000:03d}{i:06d}"
        ref = f"CAN-BENCH-{uuid.uuid4().hex[:8].upper()}"
        out = partners.request_received(galleries.request_subject("CAN", fin), partner="CAN", template="CAN-v1", request_ref=ref,
                                        requested_items=["biographic"], reason="refugee_claimant", priority="high", now=time.time())
        headers = icd.signed_headers(out.raw, SECRET)

        def step(name: str, call, first: bool = i == 0) -> None:
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                call()
                ms = 1000 * (time.perf_counter() - started)
            if first:
                return
            sqls = [q["sql"] for q in captured.captured_queries]
            steps[name]["statements"].append(len(sqls))
            steps[name]["audit"].append(sum(1 for q in sqls if "auditlog_logentry" in q or '"audit_chain' in q))
            steps[name]["savepoints"].append(sum(1 for q in sqls if q.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))))
            steps[name]["ms"].append(ms)

        step("door: inbound.receive", partial(inbound.receive, raw=out.raw, content_length=len(out.raw),
                                              timestamp=headers[icd.TIMESTAMP_HEADER], signature=headers[icd.SIGNATURE_HEADER]))
        step("task 1: inbound_process", partial(inbound.inbound_process,
                                                InboundMessage.objects.get(message_id=out.message["message_id"]).pk))
        step("task 2: request_check", partial(services.request_check, PartnerRequest.objects.get(request_ref=ref).pk))
        step("task 3: outbox_deliver", partial(outbox.outbox_deliver, PartnerRequest.objects.get(request_ref=ref).reply_message_id,
                                               transport=Accepting()))
    return steps


def print_statements(steps: dict, n: int) -> None:
    print(f"\n  The same path replayed in-process ({n} requests, worker stopped, connection kept open, no network), median per step:")
    print(f"    {'step':<30}{'SQL statements':>16}{'of them audit':>15}{'savepoints':>12}{'ms':>9}")
    for name, v in steps.items():
        print(f"    {name:<30}{statistics.median(v['statements']):>16.0f}{statistics.median(v['audit']):>15.0f}"
              f"{statistics.median(v['savepoints']):>12.0f}{statistics.median(v['ms']):>9.1f}")
    print("    (in the worker each task also opens a new PostgreSQL connection: Celery's Django fixup closes it around every task)")


def timelines(state: Path, refs: list[str]) -> tuple[list[float], dict[str, list[float]]]:
    """Per request, from the simulator's state file and CPMS's rows: the whole latency and its stages (ms)."""
    from cpms.partner_requests.models import PartnerRequest

    db = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    total: list[float] = []
    stages: dict[str, list[float]] = {
        "sim queued → CPMS stored request.received (door)": [],
        "stored → inbound_process done (task 1 wait + run)": [],
        "→ reply in the outbox (task 2 request_check wait + run)": [],
        "outbox row → reply stored at the simulator (task 3 relay)": [],
    }
    by_ref = {r.request_ref: r for r in PartnerRequest.objects.filter(request_ref__in=refs)
              .select_related("inbound_message", "reply_message")}
    for ref in refs:
        row = db.execute(
            "SELECT o.created_at AS queued, r.received_at AS replied FROM requests q "
            "JOIN outbound o ON o.message_id = q.message_id JOIN received r ON r.message_id = q.reply_message_id "
            "WHERE q.request_ref = ?", (ref,)).fetchone()
        if row is None:
            continue
        total.append(1000 * (row["replied"] - row["queued"]))
        req = by_ref.get(ref)
        if req is None or req.reply_message is None or req.inbound_message.processed_at is None:
            continue
        stored = req.inbound_message.received_at.timestamp()
        processed = req.inbound_message.processed_at.timestamp()
        replied_row = req.reply_message.created_at.timestamp()
        for name, (a, b) in zip(stages, ((row["queued"], stored), (stored, processed), (processed, replied_row),
                                         (replied_row, row["replied"])), strict=True):
            stages[name].append(1000 * (b - a))
    db.close()
    return total, stages


# --- profile of the worker -------------------------------------------------------------------------------

TASK_FRAMES = {  # the task, by a frame of its stack (py-spy's "function (file:line)")
    "inbound_process": ("inbound_process (ident_bridge/tasks.py",),
    "request_check": ("request_check_task (cpms/partner_requests/tasks.py",),
    "outbox_relay": ("outbox_relay (ident_bridge/tasks.py",),
    "sweeps (beat)": ("outbox_sweep (ident_bridge", "inbound_sweep (ident_bridge", "recheck_due (cpms/partner_requests/tasks",
                      "transmit_due (icts/tasks", "flag_overdue_rounds (", "expire_referrals ("),
    "empty probe": ("empty (bench/celery_probe.py",),
}
# What a task's time is spent on (inclusive; a sample counts for the first group, in this order, that it is inside).
PROFILE_GROUPS = [
    ("opening a PostgreSQL connection", ("get_new_connection (django", "connect (psycopg/connection.py")),
    ("closing connections (Celery's Django fixup)", ("close_database (celery/fixups/django.py",)),
    ("HTTP POST to the simulator (Transport.post)", ("post (ident_bridge/transport.py",)),
    ("Celery publish (apply_async)", ("apply_async (celery/app/task.py",)),
    ("audit log + chain (auditlog, cpms.audit)", ("auditlog/", "cpms/audit/")),
    ("ICD schema check (icd.schema_errors)", ("schema_errors (ident_bridge/icd.py",)),
    ("SQL round trips (psycopg execute)", ("execute (psycopg/cursor.py", "_exec_command (psycopg", "commit (psycopg")),
]


def start_profile(worker: Proc, tmp: Path, label: str):
    import shutil

    pyspy = shutil.which("py-spy") or str(Path(PY).with_name("py-spy"))
    if not Path(pyspy).exists():
        print("  --profile: py-spy is not installed (pip install py-spy into the venv); skipped")
        return None
    raw = tmp / f"worker-profile-{label.split(':')[0].replace(' ', '-')}.txt"
    proc = subprocess.Popen([pyspy, "record", "--pid", str(worker.proc.pid), "--rate", "500", "--idle", "--format", "raw",
                             "--output", str(raw), "--nonblocking", "--duration", "1200"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(1.5)
    return proc, raw


def stop_profile(spy) -> dict | None:
    proc, raw = spy
    try:
        os.killpg(proc.pid, signal.SIGINT)  # py-spy writes its output on SIGINT
        proc.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    stop_group(proc, signal.SIGKILL)
    if not raw.exists() or not raw.stat().st_size:
        return None
    per_task: dict[str, int] = {k: 0 for k in TASK_FRAMES}
    groups: dict[str, dict[str, int]] = {k: {g: 0 for g, _ in PROFILE_GROUPS} for k in TASK_FRAMES}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        task = next((k for k, needles in TASK_FRAMES.items() if any(needle in stack for needle in needles)), None)
        if task is None:
            continue
        per_task[task] += n
        for label, needles in PROFILE_GROUPS:
            if any(needle in stack for needle in needles):
                groups[task][label] += n
                break
    return {"per_task": per_task, "groups": groups, "raw": str(raw), "rate": 500}


def print_profile(profile: dict) -> None:
    ms = 1000 / profile["rate"]  # one sample, wall clock
    print(f"\n  Worker profile (py-spy, wall clock incl. waiting, {profile['rate']} samples/s), ms in each task in all, "
          f"and what it was inside:")
    tasks = [k for k, v in profile["per_task"].items() if v]
    print(f"    {'':<48}" + "".join(f"{k:>17}" for k in tasks))
    print(f"    {'total':<48}" + "".join(f"{profile['per_task'][k] * ms:>17,.0f}" for k in tasks))
    for label, _ in PROFILE_GROUPS:
        cells = "".join(f"{100 * profile['groups'][k][label] / profile['per_task'][k]:>16.0f}%" for k in tasks)
        print(f"    {label:<48}{cells}")
    rest = "".join(f"{100 * (1 - sum(profile['groups'][k].values()) / profile['per_task'][k]):>16.0f}%" for k in tasks)
    print(f"    {'everything else (ORM, Python)':<48}{rest}")
    print(f"    raw stacks: {profile['raw']}")


_SUCCEEDED = re.compile(r"Task ([\w.]+)\[[0-9a-f-]+\] succeeded in ([0-9.e-]+)s")


def task_runtimes(log: Path) -> dict[str, list[float]]:
    runtimes: dict[str, list[float]] = {}
    for match in _SUCCEEDED.finditer(log.read_text(errors="replace")):
        runtimes.setdefault(match.group(1), []).append(1000 * float(match.group(2)))
    return runtimes


if __name__ == "__main__":
    main()
