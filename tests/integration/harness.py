"""The integration harness: CPMS and the IDENT simulator talking over real HTTP, with a real Celery worker,
Redis and PostgreSQL. Loaded as a pytest plugin by tests/conftest.py (`pytest_plugins`).

What runs where:
- the CPMS web app is pytest-django's `live_server`: threads in the test process, serving the *test* database
  (transactional_db, so every commit is visible to the other processes);
- the Celery worker (`celery -A cpms worker -B`) is a subprocess on the same test database and a Redis
  database of its own, flushed at the start of every test;
- the simulator (`manage.py ident_simulator`) is a subprocess with its own SQLite state file, delivering to
  the live server's /ident/v1/messages.

The test process itself enqueues to Redis for the test's duration (test settings run tasks eagerly): the web
app never sends to IDENT, it only commits outbox rows and wakes the worker, as in production.

Subprocesses run in their own process groups and are always killed in teardown. Every wait polls with a
deadline and fails with the worker's and the simulator's log tails, never a bare timeout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
TEST_SECRET = "test-shared-secret"  # cpms.settings.test's IDENT_SHARED_SECRET: both sides sign with it
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own, flushed by every test
START_TIMEOUT = 30.0
LOG_TAIL_LINES = 60

# Fast clocks for the worker, so retries, lease expiry and stale-message sweeps happen within seconds.
WORKER_TIMINGS = {
    "SWEEP_INTERVAL_SECONDS": "1",
    "OUTBOX_LEASE_SECONDS": "3",
    "INBOUND_STALE_SECONDS": "2",
    "OUTBOX_BACKOFF_BASE_SECONDS": "0.2",
    "OUTBOX_BACKOFF_MAX_SECONDS": "2",
    "IDENT_TIMEOUT_SECONDS": "10",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


class ManagedProcess:
    """A subprocess in its own process group, logging to a file; stop() and kill() take the whole group."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.wanted = False  # True between start() and stop()/kill(): an exit then is a crash

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} is already running"
        self.wanted = True
        log = self.log_path.open("ab")
        log.write(f"\n===== {time.strftime('%H:%M:%S')} start: {' '.join(self.argv)}\n".encode())
        log.flush()
        try:
            self.proc = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()  # the child has its own copy

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the whole group: no cleanup, no acknowledgements, as if the machine lost power."""
        self.wanted = False
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask politely (SIGTERM to the group), then SIGKILL whatever is left."""
        self.wanted = False
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)  # children (beat, pool processes) that outlived their parent
        if self.proc.poll() is None:
            self.proc.wait(timeout=10)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return tail(self.log_path, lines)


class SimulatorProcess(ManagedProcess):
    """`manage.py ident_simulator` on a fixed port with a state file that survives restarts."""

    def __init__(self, *, port: int, cpms_url: str, state: Path, env: dict[str, str], log_path: Path,
                 result_delay: float = 0.2):
        argv = [
            sys.executable, str(ROOT / "manage.py"), "ident_simulator", "--port", str(port), "--cpms-url", cpms_url,
            "--state", str(state), "--result-delay", str(result_delay),
        ]
        super().__init__("simulator", argv, env, log_path)
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.ident_url = f"{self.base_url}/ident/v1"
        self.http = requests.Session()

    def start(self, timeout: float = START_TIMEOUT) -> None:
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.running, f"the simulator exited during start-up:\n{self.log_tail()}"
            try:
                if self.http.get(f"{self.base_url}/_sim/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"the simulator did not answer /_sim/health within {timeout} s:\n{self.log_tail()}")

    def _control(self, method: str, path: str, body: dict | None = None) -> Any:
        resp = self.http.request(method, f"{self.base_url}/_sim/{path}", json=body, timeout=10)
        assert resp.ok, f"{method} /_sim/{path} answered {resp.status_code}: {resp.text}"
        return resp.json()

    def set_faults(self, **faults: Any) -> dict:
        """Any of delay_seconds, fail_next, duplicate_deliveries, result_delay (see docs/simulator.md)."""
        return self._control("POST", "faults", faults)

    def health(self) -> dict:
        return self.http.get(f"{self.base_url}/_sim/health", timeout=10).json()

    def received(self) -> list[dict]:
        """What CPMS sent: [{message_id, type, partner, body, times_received, processed, ...}]."""
        return self._control("GET", "received")

    def outbound(self) -> list[dict]:
        """What the simulator sent (or is sending) to CPMS: [{message_id, type, status, attempts, message, ...}]."""
        return self._control("GET", "outbound")


class WorkerProcess(ManagedProcess):
    """A real Celery worker with embedded beat, consuming the `cpms` queue."""

    READY_MARK = " ready."

    def __init__(self, *, env: dict[str, str], log_path: Path, beat_schedule: Path):
        argv = [
            sys.executable, "-m", "celery", "-A", "cpms", "worker", "-B", "--pool=solo", "-Q", "cpms", "-l", "info",
            "-n", f"integration-{os.getpid()}@%h", "-s", str(beat_schedule),
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]
        super().__init__("worker", argv, env, log_path)
        self._log_offset = 0

    def start(self, timeout: float = START_TIMEOUT) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.running, f"the Celery worker exited during start-up:\n{self.log_tail()}"
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                if self.READY_MARK.encode() in log.read():
                    return
            time.sleep(0.1)
        raise AssertionError(f"the Celery worker did not log 'ready.' within {timeout} s:\n{self.log_tail()}")


def database_url_of(settings_dict: dict) -> str:
    """A DATABASE_URL for the database this (test) connection uses: the test database, not the real one."""
    engine = settings_dict["ENGINE"]
    assert "postgresql" in engine, (
        f"integration tests need PostgreSQL (DATABASE_URL=postgres://...); the test database is {engine}"
    )
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{auth}{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


@dataclass
class Stack:
    """Everything one integration test talks to. Yielded by the `cpms_stack` fixture."""

    live_url: str  # the CPMS web app (pytest-django live_server)
    redis_url: str
    database_url: str  # the test database, as the worker sees it
    sim: SimulatorProcess
    worker: WorkerProcess
    worker_env: dict[str, str] = field(repr=False)
    log_dir: Path = field(repr=False)

    def logs(self) -> str:
        return (
            f"--- worker log ({self.worker.log_path}), last {LOG_TAIL_LINES} lines:\n{self.worker.log_tail()}\n"
            f"--- simulator log ({self.sim.log_path}), last {LOG_TAIL_LINES} lines:\n{self.sim.log_tail()}"
        )

    def wait_until(self, predicate: Callable[[], Any], *, timeout: float = 30.0, what: str,
                   describe: Callable[[], str] | None = None, interval: float = 0.1) -> Any:
        """Poll `predicate` until it returns something truthy (which is returned). On timeout, fail with `what`,
        the current state from `describe()` and the log tails."""
        from django.db import close_old_connections

        deadline = time.monotonic() + timeout
        while True:
            close_old_connections()
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                state = describe() if describe else ""
                pytest.fail(f"timed out after {timeout} s waiting for {what}\n{state}\n{self.logs()}", pytrace=False)
            for proc in (self.worker, self.sim):
                if proc.wanted and not proc.running:
                    pytest.fail(f"the {proc.name} died (exit {proc.proc.returncode}) while waiting for {what}\n"
                                f"{self.logs()}", pytrace=False)
            time.sleep(interval)

    def restart_worker(self) -> None:
        self.worker.stop()
        self.worker.start()


def _flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"Redis is not answering at {url} ({exc}). Run `bash scripts/ensure_services.sh` "
                    "(make test does).", pytrace=False)
    finally:
        client.close()


def _reset_celery_connections(app) -> None:
    # The producer pool keeps connections to whatever broker it was first built for (memory:// in unit tests),
    # and kombu's global registry would hand the same pool back: close and forget them all.
    from kombu import pools

    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    pools.reset()


@pytest.fixture
def integration_redis_url() -> str:
    """The Redis database of this test's broker, flushed: no task of an earlier test reaches this worker."""
    url = os.environ.get("CPMS_TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL)
    _flush_redis(url)
    return url


@pytest.fixture
def celery_to_redis(settings, integration_redis_url: str) -> Iterator[str]:
    """For the test's duration the test process (and so the live server) enqueues to Redis instead of running
    tasks eagerly: test settings run them in-process, which would make the web app send to IDENT itself."""
    from cpms.celery import app

    # Read before the settings change: app.conf is loaded from Django's settings on first use, and when that is here,
    # reading after would save the changed values and leave every later test of the session enqueuing to Redis.
    saved = {"task_always_eager": app.conf.task_always_eager, "broker_url": app.conf.broker_url}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = integration_redis_url
    app.conf.task_always_eager = False
    app.conf.broker_url = integration_redis_url
    _reset_celery_connections(app)
    try:
        yield integration_redis_url
    finally:
        for key, value in saved.items():
            app.conf[key] = value
        _reset_celery_connections(app)


@pytest.fixture
def cpms_stack(live_server, transactional_db, celery_to_redis: str, settings, cpms_var_dir: Path,
               tmp_path: Path) -> Iterator[Stack]:
    """CPMS (live server) + a real Celery worker + the IDENT simulator, wired to each other. Yields a Stack."""
    from django.db import connection

    database_url = database_url_of(connection.settings_dict)
    sim_port = free_port()
    ident_url = f"http://127.0.0.1:{sim_port}/ident/v1"
    settings.IDENT_URL = ident_url
    settings.IDENT_SHARED_SECRET = TEST_SECRET

    # The worker runs the production settings module, configured only by its environment: DATABASE_URL and
    # REDIS_URL make it a real worker (not eager), exactly as deployed. cpms.settings.test would force
    # CELERY_TASK_ALWAYS_EAGER, and beat would then run the sweeps in its own forked process.
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "OUTBOX_", "INBOUND_", "IDENT_", "SWEEP_"))
    }
    env.update({
        "DJANGO_SETTINGS_MODULE": "cpms.settings.base",
        "CPMS_ALLOW_INSECURE_KEY": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": celery_to_redis,
        "IDENT_URL": ident_url,
        "IDENT_SHARED_SECRET": TEST_SECRET,
        "CPMS_VAR_DIR": str(cpms_var_dir),
        "CPMS_MEDIA_ROOT": str(settings.MEDIA_ROOT),  # where this test process reads partner files
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
        **WORKER_TIMINGS,
    })
    sim = SimulatorProcess(port=sim_port, cpms_url=f"{live_server.url}/ident/v1", state=tmp_path / "sim.sqlite3",
                           env=env, log_path=tmp_path / "simulator.log")
    worker = WorkerProcess(env=env, log_path=tmp_path / "worker.log", beat_schedule=tmp_path / "celerybeat-schedule")
    stack = Stack(live_url=live_server.url, redis_url=celery_to_redis, database_url=database_url, sim=sim,
                  worker=worker, worker_env=env, log_dir=tmp_path)
    try:
        sim.start()
        worker.start()
        yield stack
    finally:
        # Stop both before pytest-django flushes the test database: nothing may write into the next test.
        worker.stop()
        sim.stop()


def describe_query(query_pk: int) -> str:
    """The query, its rounds and its outbox/inbound messages, for failure messages."""
    from cpms.queries.models import InternationalQuery
    from ident_bridge.models import InboundMessage, OutboxMessage

    query = InternationalQuery.objects.filter(pk=query_pk).first()
    if query is None:
        return f"query {query_pk} does not exist"
    lines = [f"query {query.query_ref}: status={query.status}"]
    lines += [f"  transition {t.from_status or '-'} -> {t.to_status} ({t.reason})" for t in query.transitions.all()]
    lines += [f"  round {r.number}: answered_at={r.answered_at} outcome={r.outcome}" for r in query.rounds.all()]
    for row in OutboxMessage.objects.filter(ref=query.query_ref).order_by("created_at"):
        lines.append(f"  outbox {row.type} {row.message_id}: status={row.status} attempts={row.attempts} "
                     f"lease_until={row.lease_until} delivery={row.delivery_status or '?'} error={row.last_error!r}")
    for row in InboundMessage.objects.filter(ref=query.query_ref).order_by("received_at"):
        lines.append(f"  inbound {row.type} {row.message_id}: processed_at={row.processed_at} attempts={row.attempts} "
                     f"error={row.last_error!r}")
    return "\n".join(lines)


def wait_for_status(stack: Stack, query, status: str, *, timeout: float = 30.0):
    """Wait until the query's status is `status`; returns the reloaded query."""
    from cpms.queries.models import InternationalQuery

    def reached():
        current = InternationalQuery.objects.get(pk=query.pk)
        return current if current.status == status else None

    return stack.wait_until(reached, timeout=timeout, what=f"query {query.query_ref} to become '{status}'",
                            describe=lambda: describe_query(query.pk))


def dump(value: Any) -> str:
    return json.dumps(value, indent=1, default=str)[:4000]
