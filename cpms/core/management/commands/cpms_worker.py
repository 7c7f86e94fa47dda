"""`manage.py cpms_worker`: the embedded mode's worker, for when there is no Redis and so no Celery worker.

Without REDIS_URL, tasks run in-process right after commit (CELERY_TASK_ALWAYS_EAGER), so what is left is
what Celery beat does: the periodic sweeps that find outbox messages due for a retry, inbound messages whose
processing was lost or failed, overdue query rounds, and so on. This loop runs the very same table,
settings.CELERY_BEAT_SCHEDULE, calling each task function directly (no broker), so the two modes cannot drift
apart: a sweep added for beat runs here too. The database is the truth; a sweep only reads it and acts.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

log = logging.getLogger("cpms.worker")


@dataclass
class Periodic:
    name: str
    task: Any  # a Celery task; calling it runs it here and now
    period: float
    next_at: float = 0.0


def periodic_tasks(sweep_interval: float) -> list[Periodic]:
    """CELERY_BEAT_SCHEDULE as (task, period) pairs; the sweeps beat runs every SWEEP_INTERVAL_SECONDS run
    every `sweep_interval` here."""
    from cpms.celery import app

    app.loader.import_default_modules()  # Celery's autodiscovery: registers every app's tasks.py
    entries = []
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        period = entry["schedule"]
        if isinstance(period, timedelta):
            period = period.total_seconds()
        if not isinstance(period, int | float) or isinstance(period, bool) or period <= 0:
            raise CommandError(f"CELERY_BEAT_SCHEDULE[{name!r}]: cpms_worker runs only schedules given in seconds.")
        if period == settings.SWEEP_INTERVAL_SECONDS:
            period = sweep_interval
        task = app.tasks.get(entry["task"])
        if task is None:
            raise CommandError(f"CELERY_BEAT_SCHEDULE[{name!r}] names {entry['task']!r}, which is not a registered task.")
        entries.append(Periodic(name, task, float(period)))
    return entries


class Command(BaseCommand):
    help = "Run the periodic sweeps of CELERY_BEAT_SCHEDULE (outbox retries, stale inbound messages, overdue " \
           "rounds, …) in a loop, without Celery or Redis."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=None,
            help="seconds between sweeps (default: SWEEP_INTERVAL_SECONDS from the environment, else 10)",
        )
        parser.add_argument("--once", action="store_true", help="run every periodic task once and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"] if options["interval"] is not None else settings.SWEEP_INTERVAL_SECONDS
        if interval <= 0:
            raise CommandError("--interval must be a positive number of seconds.")
        entries = periodic_tasks(interval)
        if not entries:
            raise CommandError("CELERY_BEAT_SCHEDULE is empty: there is nothing to run.")
        stop = threading.Event()
        previous = self._install_signal_handlers(stop)
        log.info("cpms_worker: running %s; Ctrl-C to stop",
                 ", ".join(f"{e.task.name} every {e.period:g} s" for e in entries))
        try:
            while not stop.is_set():
                # A long-lived loop must not keep a connection the database has dropped (restart, idle timeout).
                close_old_connections()
                for entry in entries:
                    if stop.is_set():
                        break
                    if options["once"] or time.monotonic() >= entry.next_at:
                        self._run(entry)
                        entry.next_at = time.monotonic() + entry.period
                close_old_connections()
                if options["once"]:
                    break
                stop.wait(max(0.05, min(e.next_at for e in entries) - time.monotonic()))
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            close_old_connections()
        log.info("cpms_worker: stopped")

    @staticmethod
    def _run(entry: Periodic) -> None:
        # One failing sweep (a database hiccup, a bug in one message) must not stop the others or the loop:
        # whatever it did not finish is still in the database and the next round finds it.
        try:
            result = entry.task()
        except Exception:
            log.exception("cpms_worker: %s failed; trying again in %g s", entry.task.name, entry.period)
            close_old_connections()
            return
        if result:
            log.info("cpms_worker: %s: %s", entry.task.name, result)

    @staticmethod
    def _install_signal_handlers(stop: threading.Event) -> dict[int, Any]:
        """First SIGINT/SIGTERM: finish the current task, then exit. A second one: exit at once."""

        def handler(signum: int, frame: Any) -> None:
            if stop.is_set():
                raise KeyboardInterrupt
            log.info("cpms_worker: %s received; stopping after the current task", signal.Signals(signum).name)
            stop.set()

        previous: dict[int, Any] = {}
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[signum] = signal.signal(signum, handler)
            except ValueError:  # not the main thread (e.g. call_command from a test thread): no handlers
                break
        return previous
