"""Inbound messages per second at `POST /ident/v1/messages`, next to a bare one-row ORM insert, same run.

Both endpoints run under the same gunicorn (sync workers) against PostgreSQL, with Redis as the broker
(the inbound path commits, then enqueues the processing task, as in production). Every inbound message
is unique, signed and schema-valid (a `query.result` no_match for a known query), signed before timing
starts. pgbench's single-row INSERT on the same database is printed as the floor's reference.

    python bench/inbound_throughput.py [--messages 4000] [--concurrency 8] [--workers 4]
"""

from __future__ import annotations

import argparse
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
DB_NAME = "cpms_bench"
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def env() -> dict:
    return os.environ | {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "REDIS_URL": REDIS,
        "CPMS_ALLOW_INSECURE_KEY": "1",
        "IDENT_SHARED_SECRET": SECRET,
        "PYTHONPATH": str(ROOT),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def _client(args) -> list[float]:
    port, path, items = args
    latencies = []
    for raw, headers in items:
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", path, body=raw, headers=headers)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        if resp.status not in (200, 202):
            raise RuntimeError(f"{path} answered {resp.status}")
        latencies.append(time.perf_counter() - started)
    return latencies


def run_load(port: int, path: str, items: list, concurrency: int) -> dict:
    chunks = [items[i::concurrency] for i in range(concurrency)]
    with mp.Pool(concurrency) as pool:
        started = time.perf_counter()
        results = pool.map(_client, [(port, path, c) for c in chunks])
        elapsed = time.perf_counter() - started
    lat = sorted(x for r in results for x in r)
    return {
        "requests": len(lat),
        "seconds": elapsed,
        "per_second": len(lat) / elapsed,
        "p50_ms": 1000 * statistics.median(lat),
        "p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))],
    }


def pgbench_inserts(seconds: int, clients: int) -> float | None:
    if not shutil.which("pgbench"):
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("INSERT INTO ident_bridge_rejectedinbound (received_at, status, title, detail, message_id, body_sha256) "
                "VALUES (now(), 202, 'pgbench', '', '', '');\n")
    out = subprocess.run(["pgbench", "-n", "-f", f.name, "-c", str(clients), "-j", str(min(clients, 2)), "-T", str(seconds),
                          f"{PG}/{DB_NAME}"], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("tps ="):
            return float(line.split()[2])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    os.environ.update(env())
    import django

    django.setup()
    query_ref = setup_database()
    port = free_port()
    server = subprocess.Popen(
        [PY, "-m", "gunicorn", "cpms.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(args.workers), "--log-level", "warning"],
        cwd=ROOT, env=env() | {"DJANGO_SETTINGS_MODULE": "bench.settings"}, start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.1)
        warm = make_bodies(200, query_ref)
        run_load(port, "/ident/v1/messages", warm, args.concurrency)
        run_load(port, "/ident/v1/bench-bare", warm, args.concurrency)
        inbound = run_load(port, "/ident/v1/messages", make_bodies(args.messages, query_ref), args.concurrency)
        bare = run_load(port, "/ident/v1/bench-bare", make_bodies(args.messages, query_ref), args.concurrency)
        dup_items = make_bodies(1, query_ref) * 2
        _client((port, "/ident/v1/messages", dup_items[:1]))
        duplicate = run_load(port, "/ident/v1/messages", dup_items[:1] * min(args.messages, 2000), args.concurrency)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
    pgbench = pgbench_inserts(10, args.concurrency)
    report = {"inbound": inbound, "bare_insert_view": bare, "duplicate_inbound": duplicate, "pgbench_insert_tps": pgbench,
              "ratio_inbound_to_bare": inbound["per_second"] / bare["per_second"],
              "ratio_bare_to_pgbench": (bare["per_second"] / pgbench) if pgbench else None,
              "config": vars(args)}
    print(f"{'endpoint':<28}{'msg/s':>10}{'p50 ms':>10}{'p95 ms':>10}")
    for name in ("inbound", "bare_insert_view", "duplicate_inbound"):
        r = report[name]
        print(f"{name:<28}{r['per_second']:>10.0f}{r['p50_ms']:>10.1f}{r['p95_ms']:>10.1f}")
    if pgbench:
        print(f"{'pgbench single-row INSERT':<28}{pgbench:>10.0f}")
    print(f"ratio inbound / bare insert view: {report['ratio_inbound_to_bare']:.2f}x")
    if pgbench:
        print(f"ratio bare insert view / pgbench: {report['ratio_bare_to_pgbench']:.2f}x")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "inbound_throughput.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
