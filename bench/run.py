"""Run the benchmarks in bench/ and print their figures (`make bench`).

    python bench/run.py                         every benchmark, in the order below
    python bench/run.py icd_validation          one (or several) by name; also BENCH_ONLY=a,b make bench
    python bench/run.py no_match_latency -- --requests 40 --what-if    arguments after -- go to the (single) script
    python bench/run.py --list

Each script runs in a process group of its own; on Ctrl-C or SIGTERM, or when it fails, the group is sent SIGTERM
(each script then stops the servers, workers and simulators it started, which run in groups of their own) and
SIGKILL after a grace period. A failing benchmark does not stop the others; run.py exits 1 if any failed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BENCHMARKS = {
    "icd_validation": "ICD parsing and validation: json + jsonschema (previous) vs orjson + jsonschema-rs (current)",
    "inbound_throughput": "POST /ident/v1/messages under gunicorn + PostgreSQL, next to a bare one-row insert view",
    "no_match_latency": "a partner's request for an unknown FIN, simulator → CPMS → no_match, next to an empty Celery task",
    "queues": "work queues and the accounting of disclosures on the scale data set (bench/scale_data.py)",
    "timeline": "one person's timeline and accounting at 1M and 10M disclosure rows",
    "audit_overhead": "the inbound path (a partner's request, receipt to decision) with auditing on and off",
    "steps": "a person's slow steps in the embedded demo (sign-in, password change, first PDF, take, approve): where the time goes",
}
GRACE_SECONDS = 20


class Interrupted(Exception):
    pass


def _raise(signum, _frame):
    raise Interrupted(signal.Signals(signum).name)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(GRACE_SECONDS)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def main(argv: list[str]) -> int:
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    if "--list" in argv or "-h" in argv or "--help" in argv:
        print(__doc__)
        for name, what in BENCHMARKS.items():
            print(f"  {name:<20}{what}")
        return 0
    names = [n.removesuffix(".py") for n in argv] or [n for n in os.environ.get("BENCH_ONLY", "").split(",") if n] \
        or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    if extra and len(names) != 1:
        print("arguments after -- need exactly one benchmark name", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise)
    failed = []
    for name in names:
        print(f"== {name}: {BENCHMARKS[name]}", flush=True)
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, str(HERE / f"{name}.py"), *extra], start_new_session=True)
        try:
            code = proc.wait()
        except (KeyboardInterrupt, Interrupted):
            print(f"\n== {name}: interrupted; stopping it", flush=True)
            stop(proc)
            return 130
        finally:
            stop(proc)
        print(f"== {name}: {'done' if code == 0 else f'FAILED (exit {code})'} in {time.monotonic() - started:.0f} s\n", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
