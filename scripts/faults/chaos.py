"""The faults, interleaved with the traffic on a fixed schedule, and their log.

One cycle (its length: the traffic phase divided into cycles of about 90 s), at these fractions of it:

    0.05  simulator: the next N inbound POSTs answer 503 (fail_next)
    0.12  SIGKILL the Celery worker (the whole process group), start a new one
    0.22  simulator: duplicate_deliveries on (every message to CPMS is POSTed twice)
    0.30  Redis: SIGKILL, down 2 s, started again empty (every queued task is lost)
    0.40  simulator: delay_seconds 3 (> CPMS's IDENT_TIMEOUT_SECONDS 2): CPMS's sends time out. As soon as one of
          CPMS's sends is in flight (an outbox row leased), SIGKILL the worker and start a new one; the delays stay
          on until a send has timed out (at least 6 s, at most 20 s), then off
    0.55  simulator: duplicates off
    0.60  PostgreSQL: stop -m fast, down 3 s, start (the window is recorded: 503s inside it are excused)
    0.72  simulator: fail_next again
    0.80  SIGKILL the worker, start a new one
    0.88  simulator: duplicates on; 0.97 off

A supervisor restarts any process that exits without being told to (as systemd would) and logs it: such an
exit is a finding of its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from .stack import IDENT_TIMEOUT_SECONDS, Stack

CYCLE_SECONDS = 90.0
DELAY_SECONDS = IDENT_TIMEOUT_SECONDS + 1.0


@dataclass
class FaultEntry:
    at: float  # epoch seconds when it began
    offset: float  # seconds since the traffic started
    what: str
    took: float = 0.0
    error: str = ""


class Chaos:
    def __init__(self, stack: Stack, *, log: Callable[[str], None]):
        self.stack = stack
        self.log = log
        self.entries: list[FaultEntry] = []
        self.pg_down: list[tuple[float, float]] = []  # (stop issued, start done), epoch seconds
        self.unexpected_exits: list[str] = []
        self._lock = threading.Lock()
        self._t0 = time.time()
        self.http = requests.Session()

    # --- the faults -------------------------------------------------------------------------------------

    def _sim(self, faults: dict) -> None:
        resp = self.http.post(f"{self.stack.sim_url}/_sim/faults", json=faults, timeout=10)
        resp.raise_for_status()

    def fail_next(self, count: int) -> None:
        self._sim({"fail_next": count})

    def duplicates(self, on: bool) -> None:
        self._sim({"duplicate_deliveries": on})

    def delays(self, seconds: float) -> None:
        self._sim({"delay_seconds": seconds})

    def kill_worker(self) -> None:
        with self._lock:
            self.stack.kill_worker()
            time.sleep(1.0)
            self.stack.start_worker()

    def timeouts(self) -> str:
        """Delays longer than CPMS's timeout, a worker killed while it waits for IDENT, delays off once a send timed out."""
        from ident_bridge.models import OutboxMessage

        began = time.monotonic()
        offset = self.stack.worker.log_size()
        self.delays(DELAY_SECONDS)
        in_flight = timed_out = 0
        try:
            while time.monotonic() - began < 8:
                try:
                    in_flight = OutboxMessage.objects.filter(status="pending", lease_until__isnull=False).count()
                except Exception:  # the database is unreadable for a moment: the kill goes ahead anyway
                    from django.db import connection

                    connection.close()
                    in_flight = 0
                if in_flight:
                    break
                time.sleep(0.1)
            self.kill_worker()
            while time.monotonic() - began < 20:
                timed_out = self.stack.worker.log_since(offset).count(b"no answer from")
                if timed_out and time.monotonic() - began >= 6:
                    break
                time.sleep(0.2)
        finally:
            self.delays(0)
        return (f"{in_flight} send(s) in flight at the kill, {timed_out} send(s) timed out, delays on "
                f"{time.monotonic() - began:.0f} s")

    def restart_redis(self, down: float = 2.0) -> None:
        with self._lock:
            self.stack.kill_redis()
            time.sleep(down)
            self.stack.start_redis()

    def restart_postgres(self, down: float = 3.0) -> None:
        with self._lock:
            began = time.time()
            try:
                self.stack.stop_postgres()
                time.sleep(down)
            finally:
                self.stack.start_postgres()
                self.pg_down.append((began, time.time()))

    def schedule(self, duration: float, *, fail_count: int) -> list[tuple[float, str, Callable[[], object]]]:
        cycles = max(1, round(duration / CYCLE_SECONDS))
        length = duration / cycles
        pattern: list[tuple[float, str, Callable[[], object]]] = [
            (0.05, f"simulator answers the next {fail_count} POSTs 503 (fail_next)", lambda: self.fail_next(fail_count)),
            (0.12, "SIGKILL the Celery worker, start a new one", self.kill_worker),
            (0.22, "simulator duplicate_deliveries on", lambda: self.duplicates(True)),
            (0.30, "SIGKILL Redis, down 2 s, start it empty", self.restart_redis),
            (0.40, f"simulator delay_seconds {DELAY_SECONDS:g} (CPMS times out after {IDENT_TIMEOUT_SECONDS:g} s); "
                   "SIGKILL the worker mid-send; delays off", self.timeouts),
            (0.55, "simulator duplicate_deliveries off", lambda: self.duplicates(False)),
            (0.60, "PostgreSQL stop -m fast, down 3 s, start", self.restart_postgres),
            (0.72, f"simulator answers the next {fail_count} POSTs 503 (fail_next)", lambda: self.fail_next(fail_count)),
            (0.80, "SIGKILL the Celery worker, start a new one", self.kill_worker),
            (0.88, "simulator duplicate_deliveries on", lambda: self.duplicates(True)),
            (0.97, "simulator duplicate_deliveries off", lambda: self.duplicates(False)),
        ]
        return [(c * length + frac * length, what, fn) for c in range(cycles) for frac, what, fn in pattern]

    # --- running ----------------------------------------------------------------------------------------

    def run(self, t0: float, duration: float, stop: threading.Event, *, fail_count: int) -> None:
        """Inject the schedule's faults at their times (monotonic `t0` = traffic start). Returns when done."""
        self._t0 = time.time() - (time.monotonic() - t0)
        for offset, what, fn in self.schedule(duration, fail_count=fail_count):
            while not stop.is_set() and time.monotonic() < t0 + offset:
                stop.wait(min(0.2, t0 + offset - time.monotonic()))
            if stop.is_set():
                return
            self._do(what, fn)

    def _do(self, what: str, fn: Callable[[], object]) -> None:
        began = time.time()
        entry = FaultEntry(began, began - self._t0, what)
        try:
            note = fn()
            if isinstance(note, str):
                entry.what += f" [{note}]"
        except Exception as exc:
            entry.error = f"{exc.__class__.__name__}: {exc}"[:500]
            self.log(f"fault '{what}' failed: {entry.error}")
        entry.took = time.time() - began
        self.entries.append(entry)
        self.log(f"+{entry.offset:6.1f}s  {entry.what}" + (f" ({entry.took:.1f} s)" if entry.took >= 0.5 else ""))

    def heal(self) -> None:
        """Faults off; every process running."""
        self._do("heal: simulator faults reset, every process running", self._heal)

    def _heal(self) -> None:
        resp = self.http.post(f"{self.stack.sim_url}/_sim/reset", timeout=10)
        resp.raise_for_status()
        self.supervise_once()

    def supervise_once(self) -> None:
        with self._lock:
            for proc in self.stack.crashed():
                code = proc.proc.returncode if proc.proc else None
                note = f"{proc.name} exited by itself (code {code}); restarted"
                self.unexpected_exits.append(f"{time.strftime('%H:%M:%S')} {note}")
                self.entries.append(FaultEntry(time.time(), time.time() - self._t0, f"UNEXPECTED: {note}"))
                self.log(f"UNEXPECTED: {note} (log: {proc.log_path})")
                try:
                    self.stack.restart(proc)
                except Exception as exc:
                    self.log(f"restarting {proc.name} failed: {exc}")

    def supervise(self, stop: threading.Event) -> None:
        while not stop.wait(1.0):
            try:
                self.supervise_once()
            except Exception as exc:  # never let the supervisor die quietly
                self.log(f"supervisor: {exc}")
