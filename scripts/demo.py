"""`make demo`: prepare the database and run CPMS, its worker and the IDENT simulator in the foreground.

    web        manage.py runserver 127.0.0.1:8000       (gunicorn when DATABASE_URL is PostgreSQL)
    worker     manage.py cpms_worker                    (celery -A cpms worker -B when REDIS_URL is set)
    simulator  manage.py ident_simulator --port 8001    (IDENT and the partners, docs/simulator.md)

Without DATABASE_URL and REDIS_URL everything is embedded: a SQLite file in var/ and in-process tasks.
Ctrl-C (or SIGTERM) stops all three; if one of them dies, the others are stopped too.
Run it with the virtualenv's Python: `.venv/bin/python scripts/demo.py` (make demo does).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB_PORT = 8000
SIM_PORT = 8001
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0

DEMO_ENV = {
    "DJANGO_SETTINGS_MODULE": "cpms.settings.base",
    # Off: with DEBUG a wrong address shows Django's technical 404 page (no header, no way back, the URL patterns) instead
    # of CPMS's own. The static files are served without it (runserver --insecure, gunicorn through static_app).
    "DEBUG": "0",
    "CPMS_ALLOW_INSECURE_KEY": "1",
    "IDENT_URL": f"http://127.0.0.1:{SIM_PORT}/ident/v1",
    "IDENT_SHARED_SECRET": "demo-shared-secret",  # CPMS and the simulator both read settings.IDENT_SHARED_SECRET
    "SWEEP_INTERVAL_SECONDS": "2",
    "PYTHONUNBUFFERED": "1",
}


def log(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


class Child:
    """One of the three processes: its own process group (so its children go with it), output prefixed."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]):
        self.name = name
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=self._pump, name=f"{name}-output", daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            sys.stdout.write(f"[{self.name:9}] {line.decode(errors='replace')}")
            sys.stdout.flush()

    def signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass


def stop_all(children: list[Child]) -> None:
    for child in children:
        if child.proc.poll() is None:
            child.signal(signal.SIGINT)  # what Ctrl-C would send: each of them shuts down cleanly on it
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children:
        try:
            child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{child.name} did not stop within {STOP_TIMEOUT:g} s; killing it")
        child.signal(signal.SIGKILL)  # whatever is left of the group (pool processes, beat)
        if child.proc.poll() is None:
            child.proc.wait()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def main() -> int:
    env = {**os.environ}
    for key, value in DEMO_ENV.items():
        env.setdefault(key, value)
    var_dir = Path(env.get("CPMS_VAR_DIR", ROOT / "var"))
    var_dir.mkdir(parents=True, exist_ok=True)
    database_url = env.get("DATABASE_URL", "")
    redis_url = env.get("REDIS_URL", "")
    postgres = database_url.startswith(("postgres://", "postgresql://"))

    for port, what in ((WEB_PORT, "CPMS"), (SIM_PORT, "the IDENT simulator")):
        if not port_is_free(port):
            log(f"port {port} (for {what}) is in use: stop whatever listens there (another `make demo`?) and retry.")
            return 1

    log(f"database: {database_url or 'embedded SQLite in ' + str(var_dir)}; "
        f"tasks: {'Celery over ' + redis_url if redis_url else 'in-process (embedded)'}")
    try:
        manage(env, "migrate", "--noinput", "-v", "1")
        manage(env, "seed_demo")
        manage(env, "rebuild_grants")  # a demo database from before the object grants sees its cases again
    except subprocess.CalledProcessError as exc:
        log(f"`manage.py {' '.join(exc.cmd[2:])}` failed (exit {exc.returncode}); see above.")
        return 1
    # No collectstatic: both web servers below serve the static files straight from the apps and static/
    # (runserver with DEBUG, or --insecure without it; gunicorn through Django's static handler).

    python = sys.executable
    if postgres:
        # gunicorn does not serve static files; the demo wraps the app in Django's static handler
        # (scripts/demo.py:static_app), as runserver does. Production puts a web server in front instead.
        web = [python, "-m", "gunicorn", "--chdir", str(ROOT), "--bind", f"127.0.0.1:{WEB_PORT}", "--workers", "2",
               "--threads", "4", "--access-logfile", "-", "scripts.demo:static_app()"]
    else:
        web = [python, "manage.py", "runserver", f"127.0.0.1:{WEB_PORT}", "--noreload"]
        if env["DEBUG"].strip().lower() not in ("1", "true", "yes", "on"):
            web.append("--insecure")  # serve static files without DEBUG: a demo, not production
    if redis_url:
        worker = [python, "-m", "celery", "-A", "cpms", "worker", "-B", "-Q", "cpms", "-l", "info", "--concurrency", "2",
                  "-s", str(var_dir / "celerybeat-schedule")]
    else:
        worker = [python, "manage.py", "cpms_worker"]
    simulator = [python, "manage.py", "ident_simulator", "--port", str(SIM_PORT),
                 "--cpms-url", f"http://127.0.0.1:{WEB_PORT}/ident/v1"]

    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    children = [Child("web", web, env), Child("worker", worker, env), Child("simulator", simulator, env)]
    exit_code = 0
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        ready = False
        while not stopping.is_set():
            dead = [c for c in children if c.proc.poll() is not None]
            if dead:
                log(f"{dead[0].name} exited (code {dead[0].proc.returncode}); stopping the others.")
                exit_code = 1
                break
            if not ready and answers(f"http://127.0.0.1:{WEB_PORT}/healthz") \
                    and answers(f"http://127.0.0.1:{SIM_PORT}/_sim/health"):
                ready = True
                print_banner()
            if not ready and time.monotonic() > deadline:
                log(f"CPMS or the simulator did not answer within {READY_TIMEOUT:g} s; stopping.")
                exit_code = 1
                break
            stopping.wait(0.5)
    finally:
        log("stopping web, worker and simulator …")
        stop_all(children)
        log("stopped.")
    return exit_code


def print_banner() -> None:
    sys.path.insert(0, str(ROOT))
    from cpms.core.demo_data import DEMO_PASSWORD, USERS  # plain data, no Django needed

    width = max(len(u[0]) for u in USERS)
    lines = [
        "",
        "=" * 78,
        f"CPMS is ready: http://127.0.0.1:{WEB_PORT}/   (API docs: http://127.0.0.1:{WEB_PORT}/api/docs/)",
        f"IDENT simulator: http://127.0.0.1:{SIM_PORT}/ident/v1   (control plane: /_sim/)",
        f"Sign in with any of these users; the password is {DEMO_PASSWORD}. The second factor is pre-enrolled:",
        "  .venv/bin/python scripts/demo_code.py USER   prints the current six-digit code (or add its secret to an app)",
        *(f"  {username:<{width}}  {role}" for username, role, *_ in USERS),
        "Try: sign in as 'officer', open case ZAR2690000001 (FIN1000000001, matches in Canada) and query CAN.",
        "Ctrl-C stops everything.",
        "=" * 78,
        "",
    ]
    print("\n".join(lines), flush=True)


def static_app():
    """The WSGI app for gunicorn in the demo: CPMS plus Django's static-files handler (DEBUG-style serving)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.wsgi import get_wsgi_application

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpms.settings.base")
    return StaticFilesHandler(get_wsgi_application())


if __name__ == "__main__":
    sys.exit(main())
