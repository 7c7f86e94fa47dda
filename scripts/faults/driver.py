"""The fault suite's main: build the stack, run the traffic while the faults happen, heal, settle, count, print.

Exit status: 0 when every must-be-zero column is 0, 1 when one is not, 2 when the stack could not be built or
the suite was interrupted. docs/faults.md explains the table.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import ledger as ledger_mod
from .chaos import Chaos
from .stack import ROOT, Stack, StackError
from .traffic import Client, FlowFailed, Recorder, Runner, Users, db_read, jpeg_bytes, login, plan, read_only_connections

DEMO_PASSWORD = "cpms-demo-2026"  # cpms/core/demo_data.py
DEFAULT_SETTLE_SECONDS = 120.0
# No message in flight anywhere (both queues empty, everything processed) for this long while flows still wait:
# nothing can move them any more (every sweep runs each second, every backoff is shorter).
STALL_SECONDS = 30.0


def default_duration(messages: int) -> float:
    """How long the traffic (and the faults) last: about 2.8 messages a second, at least 45 s."""
    return max(45.0, messages * 0.36)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/faults.py", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=int(os.environ.get("FAULTS_MESSAGES") or 1000),
                        help="ICD messages to put on the wire, both ways (default $FAULTS_MESSAGES or 1000)")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds of traffic and faults (default: 0.36 s per message, at least 45)")
    parser.add_argument("--settle", type=float, default=float(os.environ.get("FAULTS_SETTLE_SECONDS") or DEFAULT_SETTLE_SECONDS),
                        help="at most this many seconds, after the traffic, for the system to settle (default 120)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FAULTS_SEED") or 2026), help="the mix's random seed")
    parser.add_argument("--json", type=Path, help="also write the result (columns, reasons, faults) to this file")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (logs) even when the suite passes")
    args = parser.parse_args(argv)
    if not 10 <= args.messages <= 5000:
        parser.error("--messages must be between 10 and 5000")
    if args.settle < 10 or args.settle > 900:
        parser.error("--settle must be between 10 and 900 seconds")
    return args


class Log:
    def __init__(self, path: Path):
        self.path = path
        self.t0 = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        line = f"[faults {time.strftime('%H:%M:%S')} +{time.monotonic() - self.t0:5.0f}s] {message}"
        with self._lock:
            print(line, flush=True)
            with self.path.open("a") as fh:
                fh.write(line + "\n")


def setup_django(stack: Stack) -> None:
    os.environ.update({k: v for k, v in stack.env.items() if k != "CPMS_FAULTS_ANSWERS"})
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    read_only_connections()


def quiet(stack: Stack) -> tuple[bool, str]:
    """No message waiting anywhere: CPMS's outbox all sent and acknowledged, its inbound all processed, the
    simulator's queue empty and everything it received answered."""
    from django.db.models import Q

    from ident_bridge.models import InboundMessage, OutboxMessage

    pending = OutboxMessage.objects.filter(Q(status="pending") | Q(status="sent", delivery_status="")).count()
    unprocessed = InboundMessage.objects.filter(processed_at__isnull=True).count()
    db = sqlite3.connect(f"file:{stack.sim_state}?mode=ro", uri=True, timeout=10)
    try:
        sim_pending = db.execute("SELECT count(*) FROM outbound WHERE status = 'pending'").fetchone()[0]
        sim_open = db.execute("SELECT count(*) FROM received WHERE processed = 0 AND process_error IS NULL").fetchone()[0]
    finally:
        db.close()
    state = (f"CPMS outbox waiting {pending}, inbound unprocessed {unprocessed}; simulator queue {sim_pending}, "
             f"unanswered {sim_open}")
    return not (pending or unprocessed or sim_pending or sim_open), state


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    run_dir = Path(tempfile.mkdtemp(prefix="cpms-faults-run-"))
    log = Log(run_dir / "suite.log")
    stack = Stack(run_dir, log=log)
    stop = threading.Event()
    atexit.register(stack.close)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    duration = args.duration or default_duration(args.messages)
    keep = args.keep
    result: dict = {"messages_planned": args.messages, "run_dir": str(run_dir)}
    code = 2
    try:
        log(f"fault suite: {args.messages} messages, {duration:.0f} s of traffic and faults, settle within "
            f"{args.settle:.0f} s; logs in {run_dir}")
        stack.start()
        setup_django(stack)
        recorder = Recorder()
        deadline = time.monotonic() + 120
        tokens = {u: login(stack.web_url, recorder, u, DEMO_PASSWORD, deadline=deadline)
                  for u in ("officer", "icts_analyst", "icts_reviewer", "privacy_officer")}
        officer = Client(stack.web_url, recorder, "officer", token=tokens["officer"], stop=stop)
        cases = officer.call("GET", "/api/v1/cases/", flow="setup", deadline=deadline)
        case_by_fin = {c["person"]["fin"]: c["id"] for c in cases.body["results"] if c["person"]["fin"]}
        from django.contrib.auth import get_user_model

        analyst_id = db_read(lambda: get_user_model().objects.get(username="icts_analyst").pk, deadline=deadline, stop=stop)
        users = Users(officer=officer,
                      analyst=Client(stack.web_url, recorder, "icts_analyst", token=tokens["icts_analyst"], stop=stop),
                      reviewer=Client(stack.web_url, recorder, "icts_reviewer", token=tokens["icts_reviewer"], stop=stop),
                      privacy=Client(stack.web_url, recorder, "privacy_officer", token=tokens["privacy_officer"], stop=stop),
                      partners=Client(stack.sim_url, recorder, "partners", stop=stop),
                      analyst_id=analyst_id, case_by_fin=case_by_fin)
        run_id = time.strftime("%H%M%S")
        flows = plan(args.messages, duration=duration, seed=args.seed, run_id=run_id)
        expected = sum(f.expected_messages for f in flows)
        kinds: dict[str, int] = {}
        for f in flows:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
        log(f"{len(flows)} flows, {expected} messages expected: " + ", ".join(f"{k} {v}" for k, v in kinds.items()))

        t0 = time.monotonic()
        runner = Runner(users, deadline=t0 + duration + args.settle, stop=stop, jpeg=jpeg_bytes())
        chaos = Chaos(stack, log=log)
        fail_count = max(4, min(20, args.messages // 50))
        supervisor = threading.Thread(target=chaos.supervise, args=(stop,), name="supervisor", daemon=True)
        supervisor.start()
        faults = threading.Thread(target=chaos.run, args=(t0, duration, stop), kwargs={"fail_count": fail_count},
                                  name="chaos", daemon=True)
        faults.start()
        threads = []
        for flow in flows:
            while time.monotonic() < t0 + flow.start_at:
                time.sleep(min(0.1, t0 + flow.start_at - time.monotonic()))
            thread = threading.Thread(target=runner.run, args=(flow,), name=flow.name, daemon=True)
            thread.start()
            threads.append(thread)
        while faults.is_alive():
            faults.join(0.5)
        while time.monotonic() < t0 + duration:
            time.sleep(0.2)
        chaos.heal()
        log(f"traffic and faults done; settling (at most {args.settle:.0f} s)")
        settle_deadline = time.monotonic() + args.settle
        settled, state, calm, quiet_since = False, "", 0, None
        while time.monotonic() < settle_deadline:
            running = sum(t.is_alive() for t in threads)
            try:
                ok, state = quiet(stack)
            except Exception as exc:  # e.g. a connection left stale by the PostgreSQL restart: look again
                from django.db import connection

                connection.close()
                ok, state = False, f"({exc.__class__.__name__}: {exc})"[:300]
            quiet_since = (quiet_since or time.monotonic()) if ok else None
            calm = calm + 1 if ok and not running else 0
            if calm >= 3:
                settled = True
                log(f"settled {args.settle - (settle_deadline - time.monotonic()):.0f} s after the traffic")
                break
            if ok and running and time.monotonic() - quiet_since >= STALL_SECONDS:
                settled = True
                log(f"nothing in flight anywhere for {STALL_SECONDS:g} s while {running} flows still wait: "
                    "they are stuck; stopping them")
                break
            time.sleep(1.0)
        if not settled:
            log(f"not settled after {args.settle:.0f} s: {sum(t.is_alive() for t in threads)} flows still running; {state}")
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        chaos.supervise_once()

        log("counting: CPMS's database, the simulator's state, gunicorn's answers")
        import requests

        cpms = db_read(ledger_mod.gather_cpms, deadline=time.monotonic() + 60, stop=threading.Event())
        sim = ledger_mod.gather_sim(requests.Session(), stack.sim_url)
        answers = ledger_mod.read_answers(stack.answers_log)
        ledger = ledger_mod.compute(cpms=cpms, sim=sim, answers=answers, pg_down=chaos.pg_down, flows=flows,
                                    exchanges=recorder.snapshot())
        sim_failures = ledger_mod.failed_attempts(stack.sim.log_path, "failed (attempt", r"failed \(attempt \d+\): (.*?); retrying")
        cpms_failures = ledger_mod.failed_attempts(stack.worker.log_path, " failed (", r"failed \((.*)\); retry in")
        ledger.info.append("failed attempts, simulator → CPMS: " + (", ".join(f"{k} ×{v}" for k, v in sim_failures.items()) or "none"))
        ledger.info.append("failed attempts, CPMS → IDENT: " + (", ".join(f"{k} ×{v}" for k, v in cpms_failures.items()) or "none"))
        if chaos.unexpected_exits:
            ledger.info.append("processes that exited by themselves (restarted by the supervisor): "
                               + "; ".join(chaos.unexpected_exits))
        elapsed = time.monotonic() - started
        result.update(ledger.as_dict())
        result.update({
            "flows": len(flows), "flows_failed": sum(not f.ok for f in flows), "messages_expected": expected,
            "seconds": round(elapsed, 1), "traffic_seconds": round(duration, 1), "settled": settled,
            "faults": [{"offset": round(e.offset, 1), "what": e.what, "took": round(e.took, 1), "error": e.error}
                       for e in chaos.entries],
            "pg_down": [[round(b, 3), round(e, 3)] for b, e in chaos.pg_down],
        })
        print_report(ledger, chaos, flows, elapsed, run_dir, args.messages)
        code = 1 if ledger.failed else 0
        if code:
            keep = True
    except KeyboardInterrupt:
        log("interrupted: stopping everything")
        keep, code = True, 2
        result["error"] = "interrupted"
    except (StackError, FlowFailed) as exc:
        log(f"the suite could not run: {exc}")
        keep, code = True, 2
        result["error"] = str(exc)
    finally:
        stop.set()
        stack.close()
        if args.json:
            args.json.write_text(json.dumps(result, indent=1, default=str))
        if keep:
            print(f"[faults] logs of every process: {run_dir}", flush=True)
            for path in stack.log_files():
                print(f"           {path}", flush=True)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
    return code


def print_report(ledger, chaos: Chaos, flows: list, elapsed: float, run_dir: Path, messages: int) -> None:
    lines = ["", "=" * 100, f"FAULT SUITE: {messages} messages planned, {len(flows)} flows, {elapsed:.0f} s", "",
             "faults injected (time, seconds after the traffic started, what):"]
    for e in chaos.entries:
        lines.append(f"  {time.strftime('%H:%M:%S', time.localtime(e.at))}  +{e.offset:6.1f}s  {e.what}"
                     + (f"  [{e.took:.1f} s]" if e.took >= 0.5 else "") + (f"  FAILED: {e.error}" if e.error else ""))
    lines += ["", *("  " + i for i in ledger.info), "", ledger_mod.table(ledger), ""]
    for column in ledger_mod.MUST_BE_ZERO:
        reasons = ledger.why.get(column, [])
        if reasons:
            lines.append(f"{column}: {ledger.columns[column]}")
            lines += [f"  - {r}" for r in reasons[:ledger_mod.EXAMPLES]]
            if len(reasons) > ledger_mod.EXAMPLES:
                lines.append(f"  … and {len(reasons) - ledger_mod.EXAMPLES} more (see the --json output)")
    bad = [c for c in ledger_mod.MUST_BE_ZERO if ledger.columns.get(c, 0)]
    lines.append("FAILED: " + ", ".join(bad) + " not 0" if bad else "PASSED: every column but sent and delivered is 0")
    lines.append("=" * 100)
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    return run(parse_args(argv))
