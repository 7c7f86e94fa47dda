"""Inbound messages per second at `POST /ident/v1/messages`, next to a bare one-row ORM insert, same run.

Both endpoints run under the same gunicorn (sync workers) against PostgreSQL, with Redis as the broker
(the inbound path commits, then enqueues the processing task, as in production; no worker consumes it, so
this measures the door alone). Every fresh inbound message is unique, signed and schema-valid (a
`query.result` no_match for a known query), built and signed before its run starts. The duplicate run sends
the round's fresh messages again: same message_id and bytes, a fresh timestamp and signature (an ICD §1 retry),
each answered 200. pgbench's single-row INSERT on the same database is printed as the floor's reference.

Each round runs the three loads one after the other (the bare view's place alternating); every figure is the
median over --rounds, every ratio is taken within a round and its median printed. The issue's targets:
inbound / bare >= 0.5x, duplicate / fresh >= 1.0x (printed, never asserted).

--profile adds one more inbound load under py-spy (`pip install py-spy` into the venv; not a requirement),
sampling every gunicorn worker, and prints where a request's time goes.

--what-if also loads two bench-only variants of the door (bench/urls.py: without the Celery publish; with the
reference check and the INSERT in autocommit), each next to the bare view, to size the suggested fixes. An
in-process breakdown (the door's pieces called one at a time in this process) follows the HTTP figures.

    python bench/inbound_throughput.py [--messages 1000] [--concurrency 8] [--workers 4] [--rounds 3] [--profile] [--what-if]
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
SECRET = "bench-shared-secret"
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB", "cpms_bench")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")  # a database of the benchmarks' own, flushed


def env() -> dict:
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": REDIS,
        "CPMS_ALLOW_INSECURE_KEY": "1",
        "IDENT_SHARED_SECRET": SECRET,
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS, socket_connect_timeout=5)
    try:
        client.flushdb()  # this database only
    finally:
        client.close()


def setup_database() -> str:
    subprocess.run(["psql", PG + "/postgres", "-qc", f"DROP DATABASE IF EXISTS {DB_NAME}"], check=True, capture_output=True)
    subprocess.run(["psql", PG + "/postgres", "-qc", f"CREATE DATABASE {DB_NAME}"], check=True, capture_output=True)
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env(), check=True)
    script = """
from datetime import date
from django.contrib.auth import get_user_model
from cpms.core.models import Agreement, BenefitCase, Partner, Person
from cpms.queries.models import InternationalQuery
p = Partner.objects.create(code="CAN", name="Canada")
a = Agreement.objects.create(partner=p, title="bench", effective_from=date(2015, 1, 1), allows_uscis_queries=True)
u = get_user_model().objects.create(username="bench")
person = Person.objects.create(family_name="Bench", fin="FIN9999999999")
case = BenefitCase.objects.create(receipt_number="ZAR0000000001", kind="asylum", person=person)
q = InternationalQuery.objects.create(query_ref="BENCH-Q-1", case=case, person=person, partner=p, agreement=a,
                                      reason="other", priority="low", requestor=u)
print(q.query_ref)
"""
    out = subprocess.run([PY, "manage.py", "shell", "-c", script], cwd=ROOT, env=env(), check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def make_bodies(n: int, query_ref: str) -> list[tuple[bytes, dict]]:
    from ident_bridge import icd

    out = []
    ts = int(time.time())
    for _ in range(n):
        raw = icd.canonical_bytes(icd.envelope("query.result", "CAN", {"query_ref": query_ref, "outcome": "no_match"}))
        out.append((raw, icd.signed_headers(raw, SECRET, timestamp=ts)))
    return out


def resign(items: list[tuple[bytes, dict]]) -> list[tuple[bytes, dict]]:
    """The same bytes with a fresh timestamp and signature: what a sender's retry looks like (ICD §1)."""
    from ident_bridge import icd

    ts = int(time.time())
    return [(raw, icd.signed_headers(raw, SECRET, timestamp=ts)) for raw, _ in items]


def _client(args) -> list[float]:
    port, path, items, expected = args
    latencies = []
    for raw, headers in items:
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", path, body=raw, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        if resp.status != expected:
            raise RuntimeError(f"{path} answered {resp.status} (expected {expected}): {body[:300]!r}")
        latencies.append(time.perf_counter() - started)
    return latencies


def _client_init() -> None:
    # The load's client processes are forked from main(), which turns SIGTERM into SystemExit; they must die on it
    # at once instead (Pool.terminate() sends SIGTERM), or one can be left waiting on the pool's queue lock for ever.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


LOAD_TIMEOUT = 900  # seconds one load may take in all: a hung load fails the run instead of blocking it


def run_load(port: int, path: str, items: list, concurrency: int, expected: int) -> dict:
    chunks = [items[i::concurrency] for i in range(concurrency)]
    with mp.Pool(concurrency, initializer=_client_init) as pool:
        started = time.perf_counter()
        results = pool.map_async(_client, [(port, path, c, expected) for c in chunks]).get(LOAD_TIMEOUT)
        elapsed = time.perf_counter() - started
    lat = sorted(x for r in results for x in r)
    return {
        "requests": len(lat),
        "seconds": elapsed,
        "per_second": len(lat) / elapsed,
        "p50_ms": 1000 * statistics.median(lat),
        "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))],
    }


WHAT_IF = {  # bench/urls.py
    "what_if_without_publish": "/ident/v1/bench-door-without-publish",
    "what_if_autocommit": "/ident/v1/bench-door-autocommit",
}

PGBENCH_SQL = ("INSERT INTO ident_bridge_rejectedinbound (received_at, status, title, detail, pointers, message_id, "
               "remote_addr, body_sha256, bucket, count, last_at) "
               "VALUES (now(), 202, 'pgbench', '', '[]'::jsonb, '', '127.0.0.1', '', NULL, 1, now());\n")


def pgbench_inserts(seconds: int, clients: int) -> float | None:
    if not shutil.which("pgbench"):
        print("  (pgbench not installed: no floor reference)")
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(PGBENCH_SQL)
    try:
        out = subprocess.run(["pgbench", "-n", "-f", f.name, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
                              f"{PG}/{DB_NAME}"], capture_output=True, text=True, timeout=seconds + 60)
    finally:
        os.unlink(f.name)
    for line in out.stdout.splitlines():
        if line.startswith("tps ="):
            return float(line.split()[2])
    print(f"  (pgbench failed: {(out.stderr or out.stdout).strip()[:300]})")
    return None


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({proc.returncode}) during start-up")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout} s")


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signal the process group, wait, then SIGKILL whatever is left of it."""
    try:
        os.killpg(proc.pid, sig)
        proc.wait(10)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if proc.poll() is None:
        proc.wait(10)


# --- profile ---------------------------------------------------------------------------------------------

# Inclusive shares, by the function a sample is inside (first match from the leaf up wins for each group).
PROFILE_GROUPS = [
    ("Celery publish after commit (inbound_process.delay)", ("inbound_process_task", "publish_now")),
    ("ICD parse + schema (icd.parse)", ("parse (ident_bridge/icd.py",)),
    ("signature check", ("verify_signature",)),
    ("INSERT inbound row (ORM + SQL)", ("create (django/db/models/query.py",)),
    ("reference check (unknown_reference_errors)", ("unknown_reference_errors",)),
    ("commit / transaction", ("__exit__ (django/db/transaction.py", "commit (django/db/backends")),
    ("reading the body", ("_read_body",)),
    ("answer (orjson + HttpResponse)", ("_json (ident_bridge/views.py",)),
]


def profile_summary(raw_path: Path, top: int = 18) -> dict:
    """py-spy's raw (collapsed) output: per-sample stacks `a;b;c count`, root first."""
    total = 0
    in_request = 0
    groups = collections.Counter()
    inside_view = collections.Counter()
    self_time = collections.Counter()
    for line in raw_path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        if any("accept (" in f or "wait (selectors" in f or "select (selectors" in f or "sleep (gunicorn" in f
               for f in frames[-3:]):
            continue  # an idle worker waiting for a connection
        total += n
        if not any("handle_request (gunicorn" in f for f in frames):
            continue
        in_request += n
        self_time[frames[-1]] += n
        if any("messages (ident_bridge/views.py" in f for f in frames):
            inside_view["in the view (ident_bridge.views.messages)"] += n
        for label, needles in PROFILE_GROUPS:
            if any(any(needle in f for needle in needles) for f in frames):
                groups[label] += n
                break
    return {"samples": total, "in_request": in_request, "groups": groups, "inside_view": inside_view, "self": self_time.most_common(top)}


def run_profile(port: int, server: subprocess.Popen, query_ref: str, args) -> dict | None:
    pyspy = shutil.which("py-spy") or str(Path(PY).with_name("py-spy"))
    if not Path(pyspy).exists():
        print("\n--profile: py-spy is not installed (pip install py-spy into the venv); skipped")
        return None
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    raw_path = out / "inbound_profile.txt"
    items = make_bodies(args.messages, query_ref)
    spy = subprocess.Popen([pyspy, "record", "--pid", str(server.pid), "--subprocesses", "--rate", "250", "--format", "raw",
                            "--output", str(raw_path), "--nonblocking", "--duration", "300"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        time.sleep(2.0)  # py-spy attaches to every worker
        result = run_load(port, "/ident/v1/messages", items, args.concurrency, 202)
    finally:
        try:
            os.killpg(spy.pid, signal.SIGINT)  # py-spy writes its output on SIGINT
            spy.wait(30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        stop_group(spy, signal.SIGKILL)
    if not raw_path.exists() or raw_path.stat().st_size == 0:
        print(f"\n--profile: py-spy wrote nothing ({spy.stderr.read().decode(errors='replace')[:300] if spy.stderr else ''})")
        return None
    summary = profile_summary(raw_path)
    busy = summary["in_request"] or 1
    print(f"\nProfile of one more inbound load under py-spy ({result['per_second']:.0f} msg/s while sampled), "
          f"{summary['in_request']:,} samples inside gunicorn's handle_request:")
    print(f"  {'share of a request':<56}{'%':>6}")
    for label, n in summary["inside_view"].items():
        print(f"  {label:<56}{100 * n / busy:>6.1f}")
    for label, _ in PROFILE_GROUPS:
        print(f"  {'  ' + label:<56}{100 * summary['groups'][label] / busy:>6.1f}")
    print(f"  {'  (everything else: Django/gunicorn request handling, middleware)':<56}"
          f"{100 * (busy - sum(summary['groups'].values())) / busy:>6.1f}")
    print("  top leaf frames (self time):")
    for frame, n in summary["self"]:
        print(f"    {100 * n / busy:5.1f}%  {frame[:110]}")
    print(f"  raw stacks: {raw_path} (py-spy collapsed format; e.g. flamegraph.pl or speedscope)")
    return {"load": result, "groups": dict(summary["groups"]), "in_request": summary["in_request"]}


# --- in-process breakdown --------------------------------------------------------------------------------


def breakdown(query_ref: str, rounds: int, calls: int) -> dict[str, float]:
    """The door's pieces called in this process, one at a time (no HTTP, no gunicorn, no concurrency), against the
    same PostgreSQL and Redis: median ms per call over `rounds` rounds of `calls` calls each."""
    import uuid

    from django.db import transaction

    from cpms.queries.models import InternationalQuery
    from ident_bridge import icd, inbound
    from ident_bridge.models import InboundMessage, RejectedInbound
    from ident_bridge.tasks import inbound_process

    def receive(item):
        raw, headers = item
        return inbound.receive(raw=raw, content_length=len(raw), timestamp=headers[icd.TIMESTAMP_HEADER],
                               signature=headers[icd.SIGNATURE_HEADER])

    def row_kwargs():
        return {"message_id": uuid.uuid4(), "type": "query.result", "partner": "CAN", "body_sha256": "0" * 64,
                "raw": b"{}" * 100, "ref": query_ref}

    def ref_check():
        return InternationalQuery.objects.filter(query_ref=query_ref, partner_id="CAN").exists()

    def tx_statements():
        with transaction.atomic():
            InboundMessage.objects.create(**row_kwargs())
            ref_check()

    def autocommit_statements():
        ref_check()
        InboundMessage.objects.create(**row_kwargs())

    def without_publish(item):
        saved = inbound.on_commit_publish
        inbound.on_commit_publish = lambda *a: None
        try:
            return receive(item)
        finally:
            inbound.on_commit_publish = saved

    stored = make_bodies(1, query_ref)
    receive(stored[0])
    sample = stored[0][0]
    steps: dict[str, tuple] = {  # name -> (callable taking an item or None, needs fresh items)
        "bare view body: ORM INSERT (autocommit)": (lambda _: RejectedInbound.objects.create(
            status=202, title="bench", detail="", body_sha256=""), False),
        "receive(), fresh message": (receive, True),
        "receive(), fresh, publish left out": (without_publish, True),
        "receive(), duplicate (stored before)": (lambda _: receive(resign(stored)[0]), False),
        "  signature + sha256 + icd.parse": (lambda _: (icd.verify_signature(sample, stored[0][1][icd.TIMESTAMP_HEADER],
                                                                             stored[0][1][icd.SIGNATURE_HEADER], SECRET),
                                                        icd.sha256_hex(sample),
                                                        icd.parse(sample, accept_types=icd.IDENT_TO_CPMS)), False),
        "  BEGIN, INSERT, reference SELECT, COMMIT": (lambda _: tx_statements(), False),
        "  the same two statements in autocommit": (lambda _: autocommit_statements(), False),
        "  reference SELECT alone (ORM exists)": (lambda _: ref_check(), False),
        "  Celery publish: inbound_process.delay": (lambda _: inbound_process.delay(0), False),
    }
    samples: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, (func, fresh) in steps.items():
            items = make_bodies(calls, query_ref) if fresh else [None] * calls
            times = []
            for item in items:
                started = time.perf_counter()
                func(item)
                times.append(time.perf_counter() - started)
            samples[name].append(1000 * statistics.median(times))
    return {name: statistics.median(v) for name, v in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1000, help="requests per load")
    parser.add_argument("--concurrency", type=int, default=8, help="client processes")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of every figure (medians reported)")
    parser.add_argument("--pgbench-seconds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="one more inbound load under py-spy: where the time goes")
    parser.add_argument("--what-if", action="store_true",
                        help="also load two bench-only variants of the door (bench/urls.py): without the Celery publish, "
                             "and with its two statements in autocommit")
    parser.add_argument("--breakdown-calls", type=int, default=200,
                        help="calls per round of the in-process breakdown (0: skip it)")
    args = parser.parse_args()
    # SIGTERM (bench/run.py, a CI timeout) unwinds like Ctrl-C, so the finally blocks stop every process started here.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    os.environ.update(env())
    import django

    django.setup()
    flush_redis()
    query_ref = setup_database()
    port = free_port()
    server = subprocess.Popen(
        [PY, "-m", "gunicorn", "cpms.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "--log-level", "warning"],
        cwd=ROOT, env=env(), start_new_session=True,
    )
    rounds: list[dict] = []
    profile = None
    try:
        wait_ready(port, server)
        warm = make_bodies(200, query_ref)  # every worker imports, connects to PostgreSQL and Redis
        run_load(port, "/ident/v1/messages", warm, args.concurrency, 202)
        run_load(port, "/ident/v1/bench-bare", warm, args.concurrency, 202)
        run_load(port, "/ident/v1/messages", resign(warm), args.concurrency, 200)
        for r in range(args.rounds):
            fresh = make_bodies(args.messages, query_ref)
            bare_items = make_bodies(args.messages, query_ref)
            res: dict = {}
            if r % 2:
                res["bare_insert_view"] = run_load(port, "/ident/v1/bench-bare", bare_items, args.concurrency, 202)
            res["inbound"] = run_load(port, "/ident/v1/messages", fresh, args.concurrency, 202)
            if not r % 2:
                res["bare_insert_view"] = run_load(port, "/ident/v1/bench-bare", bare_items, args.concurrency, 202)
            res["duplicate_inbound"] = run_load(port, "/ident/v1/messages", resign(fresh), args.concurrency, 200)
            if args.what_if:
                for name, url in WHAT_IF.items():
                    res[name] = run_load(port, url, make_bodies(args.messages, query_ref), args.concurrency, 202)
                    res["ratio_" + name + "_to_bare"] = res[name]["per_second"] / res["bare_insert_view"]["per_second"]
            res["ratio_inbound_to_bare"] = res["inbound"]["per_second"] / res["bare_insert_view"]["per_second"]
            res["ratio_duplicate_to_fresh"] = res["duplicate_inbound"]["per_second"] / res["inbound"]["per_second"]
            rounds.append(res)
            print(f"  round {r + 1}/{args.rounds}: inbound {res['inbound']['per_second']:.0f}/s, "
                  f"bare {res['bare_insert_view']['per_second']:.0f}/s, duplicate {res['duplicate_inbound']['per_second']:.0f}/s",
                  flush=True)
        if args.profile:
            profile = run_profile(port, server, query_ref, args)
    finally:
        stop_group(server)
    parts = breakdown(query_ref, args.rounds, args.breakdown_calls) if args.breakdown_calls else {}
    flush_redis()
    pgbench = [x for x in (pgbench_inserts(args.pgbench_seconds, args.concurrency) for _ in range(args.rounds)) if x]
    pgbench_tps = statistics.median(pgbench) if pgbench else None

    def med(name: str, key: str) -> float:
        return statistics.median(r[name][key] for r in rounds)

    loads = ["inbound", "bare_insert_view", "duplicate_inbound"] + (list(WHAT_IF) if args.what_if else [])
    report = {"rounds": rounds, "pgbench_insert_tps": pgbench, "config": vars(args), "profile": profile,
              "breakdown_ms": parts,
              "median": {name: {k: med(name, k) for k in ("per_second", "p50_ms", "p95_ms")} for name in loads}}
    ratio_bare = statistics.median(r["ratio_inbound_to_bare"] for r in rounds)
    ratio_dup = statistics.median(r["ratio_duplicate_to_fresh"] for r in rounds)
    print(f"\nInbound door under gunicorn ({args.workers} sync workers) + PostgreSQL + Redis, {args.messages} requests per load, "
          f"{args.concurrency} clients, median of {args.rounds} rounds:")
    print(f"  {'endpoint':<28}{'msg/s':>10}{'p50 ms':>10}{'p95 ms':>10}")
    for name in loads:
        m = report["median"][name]
        print(f"  {name:<28}{m['per_second']:>10.0f}{m['p50_ms']:>10.1f}{m['p95_ms']:>10.1f}")
    if pgbench_tps:
        print(f"  {'pgbench single-row INSERT':<28}{pgbench_tps:>10.0f}")
    per_round_bare = ", ".join(f"{r['ratio_inbound_to_bare']:.2f}" for r in rounds)
    per_round_dup = ", ".join(f"{r['ratio_duplicate_to_fresh']:.2f}" for r in rounds)
    print(f"  ratio inbound / bare insert view:  {ratio_bare:.2f}x (per round: {per_round_bare}; target >= 0.5x)")
    print(f"  ratio duplicate / fresh inbound:   {ratio_dup:.2f}x (per round: {per_round_dup}; target >= 1.0x)")
    if pgbench_tps:
        print(f"  ratio bare insert view / pgbench:  {med('bare_insert_view', 'per_second') / pgbench_tps:.2f}x")
    if args.what_if:
        for name in WHAT_IF:
            per_round = ", ".join(f"{r['ratio_' + name + '_to_bare']:.2f}" for r in rounds)
            print(f"  ratio {name[len('what_if_'):]} (what-if) / bare: "
                  f"{statistics.median(r['ratio_' + name + '_to_bare'] for r in rounds):.2f}x (per round: {per_round})")
    if parts:
        print(f"\nIn-process breakdown (this process, one call at a time, same PostgreSQL and Redis), median ms per call "
              f"over {args.rounds} rounds of {args.breakdown_calls}:")
        for name, ms in parts.items():
            print(f"  {name:<46}{ms:>8.2f}")
    report["ratio_inbound_to_bare"] = ratio_bare
    report["ratio_duplicate_to_fresh"] = ratio_dup
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "inbound_throughput.json").write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
