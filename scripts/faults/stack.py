"""The real stack the fault suite runs on, every part of it its own and on 127.0.0.1:

    PostgreSQL   a throwaway cluster (initdb) in a temporary directory owned by `postgres`, on a free port
    Redis        redis-server without persistence, a managed subprocess (a restart starts it empty)
    gunicorn     cpms.wsgi, 2 workers, with hooks that record every answer (gunicorn_conf.py)
    worker       celery -A cpms worker --pool=prefork -c 2 -Q cpms
    beat         celery -A cpms beat (the sweeps)
    simulator    manage.py ident_simulator with a state file of its own

Every process runs in its own process group with its output in a log file of the run directory, and is
stopped (the whole group) by `Stack.close()`, which the driver calls in a `finally` and at exit. The machine's
shared PostgreSQL (5432) and Redis (6379) are never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_DIR_PREFIX = "cpms-faults-pg-"
SHARED_SECRET = "faults-shared-secret"
START_TIMEOUT = 60.0

# Fast clocks, as the integration harness's WORKER_TIMINGS, with a short IDENT timeout so that the simulator's
# delay fault makes CPMS's sends time out, and a CIS wait short enough that a referral happens within seconds.
TIMINGS = {
    "SWEEP_INTERVAL_SECONDS": "1",
    "OUTBOX_LEASE_SECONDS": "4",
    "INBOUND_STALE_SECONDS": "2",
    "OUTBOX_BACKOFF_BASE_SECONDS": "0.2",
    "OUTBOX_BACKOFF_MAX_SECONDS": "2",
    "IDENT_TIMEOUT_SECONDS": "2",
    "PCQS_RETRY_SECONDS": "1",
    "PCQS_REFER_AFTER_HOURS": "0.001",  # 3.6 s: an incomplete CIS answer goes to a privacy officer
}
IDENT_TIMEOUT_SECONDS = float(TIMINGS["IDENT_TIMEOUT_SECONDS"])


class StackError(RuntimeError):
    """The stack could not be built or a part of it could not be (re)started."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"({path} does not exist)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


def wait_for(predicate: Callable[[], bool], *, timeout: float, what: str, alive: Callable[[], bool] | None = None,
             log: Path | None = None, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except Exception:  # not up yet
            pass
        if alive is not None and not alive():
            raise StackError(f"{what}: the process exited" + (f"; last lines of {log}:\n{tail(log)}" if log else ""))
        if time.monotonic() >= deadline:
            raise StackError(f"{what}: not ready within {timeout:g} s" + (f"; last lines of {log}:\n{tail(log)}" if log else ""))
        time.sleep(interval)


class Proc:
    """A subprocess in its own process group, its output appended to a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.wanted = False  # between start() and kill()/stop(): an exit then is a crash
        self.starts = 0

    def start(self) -> None:
        if self.running:
            raise StackError(f"{self.name} is already running")
        self.wanted = True
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== {time.strftime('%H:%M:%S')} start #{self.starts}: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def crashed(self) -> bool:
        return self.wanted and self.proc is not None and self.proc.poll() is not None

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> bytes:
        with self.log_path.open("rb") as log:
            log.seek(offset)
            return log.read()

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def kill(self) -> None:
        """SIGKILL the whole group: no cleanup, no acknowledgements, as if the machine lost power."""
        self.wanted = False
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to the group, then SIGKILL whatever is left (pool processes that outlived their parent)."""
        self.wanted = False
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self._signal_group(signal.SIGKILL)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


# --- PostgreSQL: a cluster of its own -------------------------------------------------------------------------


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run its binaries as the `postgres` user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_clusters(log: Callable[[str], None]) -> None:
    """A suite that was SIGKILLed could not delete its cluster: stop and delete those whose suite is gone."""
    for path in Path(tempfile.gettempdir()).glob(PG_DIR_PREFIX + "*"):
        try:
            owner = int((path / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            owner = 0
        if owner and _pid_alive(owner):
            continue
        if (path / "data" / "postmaster.pid").exists():
            subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(path / "data"), "-m", "immediate", "-w",
                                         "-t", "30", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(path, ignore_errors=True)
        log(f"removed the stale cluster {path} of an earlier run")


class Postgres:
    """A throwaway PostgreSQL cluster: trust authentication on 127.0.0.1 only, its socket in its own directory."""

    def __init__(self, *, port: int, log_copy: Path):
        for binary in ("initdb", "pg_ctl", "pg_isready"):
            if not (PG_BIN / binary).exists():
                raise StackError(f"{PG_BIN / binary} is missing: install PostgreSQL 15 (Debian: apt-get install -y "
                                 "postgresql-15) or set FAULTS_PG_BIN to the directory of its binaries")
        self.port = port
        self.log_copy = log_copy
        self.dir = Path(tempfile.mkdtemp(prefix=PG_DIR_PREFIX))
        (self.dir / "owner.pid").write_text(str(os.getpid()))
        self.dir.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.server_log = self.dir / "postgres.log"
        self.url = f"postgres://postgres@127.0.0.1:{port}/cpms"

    def _run(self, argv: list[str], *, timeout: float = 120.0) -> subprocess.CompletedProcess:
        done = subprocess.run(_as_postgres(argv), capture_output=True, text=True, timeout=timeout, cwd=self.dir)
        if done.returncode != 0:
            raise StackError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
                             f"server log:\n{tail(self.server_log)}")
        return done

    def init(self) -> None:
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--locale=C.UTF-8"])
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(f"\n# cpms fault suite\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.dir}'\nmax_connections = 200\n")
        (self.data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        if os.geteuid() == 0:
            shutil.chown(self.data / "pg_hba.conf", "postgres", "postgres")

    def start(self) -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.server_log), "-w", "-t", "60", "start"])
        wait_for(self.ready, timeout=30, what="PostgreSQL", log=self.server_log)

    def stop(self, mode: str = "fast") -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])

    def ready(self) -> bool:
        done = subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                              capture_output=True, timeout=10)
        return done.returncode == 0

    def create_database(self) -> None:
        self._run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "cpms"])

    def destroy(self) -> None:
        """Stop (immediately) and delete the cluster; keep a copy of its server log in the run directory."""
        if (self.data / "postmaster.pid").exists():
            try:
                subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                                             "-t", "30", "stop"]), capture_output=True, timeout=60)
            except subprocess.TimeoutExpired:
                pass
        try:
            shutil.copyfile(self.server_log, self.log_copy)
        except OSError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the stack ----------------------------------------------------------------------------------------------


def _redis_ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def _http_ok(url: str) -> bool:
    return requests.get(url, timeout=2).status_code == 200


class Stack:
    """Builds, heals and tears down the whole stack. `log` receives one line per step."""

    def __init__(self, run_dir: Path, *, result_delay: float = 0.2, log: Callable[[str], None] = print):
        self.run_dir = run_dir
        self.log = log
        self.result_delay = result_delay
        self.pg_port, self.redis_port, self.web_port, self.sim_port = (free_port() for _ in range(4))
        self.web_url = f"http://127.0.0.1:{self.web_port}"
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.answers_log = run_dir / "cpms-answers.jsonl"
        self.sim_state = run_dir / "simulator.sqlite3"
        self.var_dir = run_dir / "var"
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self.postgres: Postgres | None = None
        self.env = self._env()
        py = sys.executable
        gunicorn = Path(py).parent / "gunicorn"
        web = [str(gunicorn)] if gunicorn.exists() else [py, "-m", "gunicorn"]
        web += ["cpms.wsgi", "-b", f"127.0.0.1:{self.web_port}", "-w", "2", "--threads", "4", "--timeout", "60",
                "-c", str(Path(__file__).with_name("gunicorn_conf.py")), "--access-logfile", str(run_dir / "gunicorn-access.log")]
        self.redis = Proc("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
                                    "--appendonly", "no", "--daemonize", "no"], self.env, run_dir / "redis.log")
        self.web = Proc("gunicorn", web, self.env, run_dir / "gunicorn.log")
        self.worker = Proc("worker", [py, "-m", "celery", "-A", "cpms", "worker", "--pool=prefork", "-c", "2", "-Q", "cpms",
                                      "-l", "info", "-n", f"faults-{os.getpid()}@%h", "--without-gossip", "--without-mingle",
                                      "--without-heartbeat"], self.env, run_dir / "worker.log")
        self.beat = Proc("beat", [py, "-m", "celery", "-A", "cpms", "beat", "-l", "info", "-s", str(run_dir / "celerybeat-schedule"),
                                  "--pidfile", str(run_dir / "celerybeat.pid")], self.env, run_dir / "beat.log")
        self.sim = Proc("simulator", [py, str(ROOT / "manage.py"), "ident_simulator", "--port", str(self.sim_port),
                                      "--cpms-url", f"{self.web_url}/ident/v1", "--state", str(self.sim_state),
                                      "--result-delay", str(result_delay)], self.env, run_dir / "simulator.log")
        self.procs = [self.redis, self.sim, self.web, self.worker, self.beat]

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/cpms"

    def _env(self) -> dict[str, str]:
        drop = ("DJANGO_", "CELERY_", "OUTBOX_", "INBOUND_", "IDENT_", "SWEEP_", "PCQS_", "ICTS_", "CPMS_", "QUERY_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k not in ("DATABASE_URL", "REDIS_URL", "DEBUG")}
        env.update({
            "DJANGO_SETTINGS_MODULE": "cpms.settings.base",
            "CPMS_ALLOW_INSECURE_KEY": "1",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "IDENT_URL": f"{self.sim_url}/ident/v1",
            "IDENT_SHARED_SECRET": SHARED_SECRET,
            "CPMS_VAR_DIR": str(self.var_dir),
            "CPMS_FAULTS_ANSWERS": str(self.answers_log),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LOG_LEVEL": "INFO",
            **TIMINGS,
        })
        return env

    # --- bring-up -----------------------------------------------------------------------------------------

    def start(self) -> None:
        remove_stale_clusters(self.log)
        if shutil.which("redis-server") is None:
            raise StackError("redis-server is not installed (Debian: apt-get install -y redis-server)")
        self.postgres = Postgres(port=self.pg_port, log_copy=self.run_dir / "postgres.log")
        self.log(f"PostgreSQL: initdb a cluster of its own in {self.postgres.dir}, port {self.pg_port}")
        self.postgres.init()
        self.postgres.start()
        self.postgres.create_database()
        self.start_redis()
        self.log("migrate and seed_demo (users, cases, CIS records)")
        setup = ("import django; django.setup(); from django.core.management import call_command; "
                 "call_command('migrate', interactive=False, verbosity=0); call_command('seed_demo')")
        done = subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300)
        (self.run_dir / "setup.log").write_text(done.stdout + done.stderr)
        if done.returncode != 0:
            raise StackError(f"migrate/seed_demo failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        self.start_sim()
        self.start_web()
        self.start_worker()
        self.start_beat()
        self.log(f"stack up: CPMS {self.web_url}, simulator {self.sim_url}, Redis :{self.redis_port}, "
                 f"PostgreSQL :{self.pg_port}")

    def start_redis(self) -> None:
        self.redis.start()
        wait_for(lambda: _redis_ping(self.redis_port), timeout=20, what="Redis", alive=lambda: self.redis.running,
                 log=self.redis.log_path)

    def start_sim(self) -> None:
        self.sim.start()
        wait_for(lambda: _http_ok(f"{self.sim_url}/_sim/health"), timeout=START_TIMEOUT, what="the simulator",
                 alive=lambda: self.sim.running, log=self.sim.log_path)

    def start_web(self) -> None:
        self.web.start()
        wait_for(lambda: _http_ok(f"{self.web_url}/healthz"), timeout=START_TIMEOUT, what="gunicorn",
                 alive=lambda: self.web.running, log=self.web.log_path)

    def start_worker(self) -> None:
        offset = self.worker.log_size()
        self.worker.start()
        wait_for(lambda: b" ready." in self.worker.log_since(offset), timeout=START_TIMEOUT, what="the Celery worker",
                 alive=lambda: self.worker.running, log=self.worker.log_path)

    def start_beat(self) -> None:
        offset = self.beat.log_size()
        self.beat.start()
        wait_for(lambda: b"beat: Starting" in self.beat.log_since(offset), timeout=START_TIMEOUT, what="Celery beat",
                 alive=lambda: self.beat.running, log=self.beat.log_path)

    # --- faults -------------------------------------------------------------------------------------------

    def kill_worker(self) -> None:
        self.worker.kill()

    def kill_redis(self) -> None:
        self.redis.kill()

    def stop_postgres(self) -> None:
        assert self.postgres is not None
        self.postgres.stop("fast")

    def start_postgres(self) -> None:
        assert self.postgres is not None
        self.postgres.start()

    def crashed(self) -> list[Proc]:
        return [p for p in self.procs if p.crashed]

    def restart(self, proc: Proc) -> None:
        {"redis": self.start_redis, "simulator": self.start_sim, "gunicorn": self.start_web, "worker": self.start_worker,
         "beat": self.start_beat}[proc.name]()

    # --- teardown -----------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every process (whole groups) and delete the cluster. Safe to call twice, and after a failed start."""
        for proc in (self.beat, self.worker, self.web, self.sim, self.redis):
            try:
                proc.stop(timeout=5)
            except Exception as exc:  # go on with the others
                self.log(f"stopping {proc.name}: {exc}")
        if self.postgres is not None:
            self.postgres.destroy()
            self.postgres = None

    def log_files(self) -> list[Path]:
        return sorted(p for p in self.run_dir.iterdir() if p.suffix in (".log", ".jsonl"))
