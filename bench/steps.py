"""Where the time of a person's slow steps goes (issue 18, finding 13), in `make demo`'s embedded set-up.

A newcomer measured, in the demo: every password step 1.1-1.6 s, the first A-File PDF 3.4 s, "Take this case" 1.0 s,
approving a response 1.3 s. This runs each of those steps in-process through Django's test client (server time:
middleware, view, SQL, template, and the in-process tasks the embedded demo runs inside the request), against a fresh
SQLite database seeded as the demo seeds it and a real IDENT simulator on a free port, and prints for each step its
time and the functions it spent that time in (cProfile, cumulative, CPMS's own code and the libraries that dominate).

    .venv/bin/python bench/steps.py            # about a minute; BENCH_STEPS_KEEP=1 keeps the temporary directory

Nothing here is asserted: timings are read by a person (tests never assert timings).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# What a profile line must mention to be shown: CPMS's code and the libraries a step can spend its time in.
SHOWN = re.compile(r"/(cpms|icts|ident_bridge)/|hashers\.py|weasyprint/(__init__|document|css/__init__|layout/__init__)"
                   r"|fontconfig|requests/sessions|celery/app/task|guardian|auditlog|axes/")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the IDENT simulator did not listen on port {port} within {timeout:g} s")


class Hashes:
    """Counts and times the password hashes (PBKDF2) a step computes: Django's hasher calls django.utils.crypto.pbkdf2."""

    calls = 0
    seconds = 0.0

    @classmethod
    def install(cls) -> None:
        from django.contrib.auth import hashers

        original = hashers.pbkdf2

        def counted(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                cls.calls += 1
                cls.seconds += time.perf_counter() - t0

        hashers.pbkdf2 = counted


class Step:
    """Times one request (or function) and keeps the profile of its first run."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str]] = []

    def run(self, label: str, fn, *, profile: bool = True):
        profiler = cProfile.Profile() if profile else None
        calls, hashing = Hashes.calls, Hashes.seconds
        t0 = time.perf_counter()
        if profiler:
            profiler.enable()
        result = fn()
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - t0
        if Hashes.calls > calls:
            label += f" [{Hashes.calls - calls} password hash(es): {Hashes.seconds - hashing:.3f} s]"
        self.rows.append((label, seconds, self._top(profiler) if profiler else ""))
        return result

    @staticmethod
    def _top(profiler: cProfile.Profile, lines: int = 12) -> str:
        """The functions the step spent its time in (cumulative), CPMS's own and the libraries that matter, then the
        single most expensive functions by their own time."""
        def table(sort: str, *restrictions) -> list[str]:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(*restrictions)
            body = out.getvalue().split("filename:lineno(function)", 1)[-1]
            return ["      " + re.sub(r"\S*/site-packages/|\S*/wt-[^/]+/|" + re.escape(str(ROOT)) + "/", "", line.strip())
                    for line in body.splitlines() if line.strip()]
        return "\n".join(["    cumulative (CPMS and the libraries that matter):", *table("cumulative", SHOWN.pattern, lines),
                          "    own time:", *table("tottime", 6)])

    def post_and_land(self, label: str, client, url: str, data: dict | None = None):
        """A form's POST and the page its redirect lands on, timed apart: a person waits for both."""
        resp = self.run(label, lambda: client.post(url, data or {}))
        if resp.status_code in (301, 302, 303) and resp.get("Location"):
            self.run(f"  ... then the page it lands on ({resp['Location'].split('?')[0]})",
                     lambda: client.get(resp["Location"]))
        return resp

    def report(self) -> None:
        print("\nstep                                                        seconds")
        for label, seconds, _ in self.rows:
            print(f"  {label:<58} {seconds:7.3f}")
        for label, seconds, top in self.rows:
            if top:
                print(f"\n--- {label}: {seconds:.3f} s; where (cumulative seconds, CPMS's code and the big libraries):")
                print("      ncalls  tottime  percall  cumtime  percall filename:lineno(function)")
                print(top)


def main() -> int:
    var = Path(tempfile.mkdtemp(prefix="cpms-bench-steps-"))
    sim_port = free_port()
    for key in ("DATABASE_URL", "REDIS_URL"):  # the demo's embedded set-up: SQLite in var/, tasks in-process
        os.environ.pop(key, None)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "cpms.settings.base", "CPMS_ALLOW_INSECURE_KEY": "1", "DEBUG": "0",
        "CPMS_VAR_DIR": str(var), "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost", "LOG_LEVEL": "WARNING",
        "IDENT_URL": f"http://127.0.0.1:{sim_port}/ident/v1", "IDENT_SHARED_SECRET": "bench-steps-shared-secret",
        "SIM_URL": f"http://127.0.0.1:{sim_port}",
    })
    # Nothing listens at the CPMS address the simulator is given: its deliveries to CPMS fail and are retried, which
    # the steps measured here never wait for.
    sim = subprocess.Popen([sys.executable, "manage.py", "ident_simulator", "--port", str(sim_port),
                            "--cpms-url", f"http://127.0.0.1:{free_port()}/ident/v1"], cwd=ROOT,
                           env=os.environ.copy(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(sim_port)
        return run_steps()
    finally:
        try:
            os.killpg(sim.pid, signal.SIGTERM)
            sim.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(sim.pid, signal.SIGKILL)
        if not os.environ.get("BENCH_STEPS_KEEP"):
            shutil.rmtree(var, ignore_errors=True)


def run_steps() -> int:
    import django
    import requests

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import check_password
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse
    from django_otp.oath import totp

    from cpms.core.demo_data import DEMO_PASSWORD, demo_totp_key
    from cpms.core.models import BenefitCase
    from cpms.queries import services as query_services
    from ident_bridge import icd
    from ident_bridge.inbound import inbound_process
    from ident_bridge.models import InboundMessage
    from icts.models import IctsCase

    print("preparing: migrate and seed_demo into a fresh SQLite database (as make demo does) ...", flush=True)
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    users = {u.username: u for u in get_user_model().objects.all()}
    Hashes.install()
    steps = Step()

    # --- the password steps ------------------------------------------------------------------------------------
    officer = users["officer"]
    samples = []
    for _ in range(3):
        t0 = time.perf_counter()
        check_password(DEMO_PASSWORD, officer.password)
        samples.append(time.perf_counter() - t0)
    algorithm, iterations = officer.password.split("$")[:2]
    steps.rows.append((f"hasher alone: check_password (median of 3; {algorithm}, {int(iterations):,} iterations)",
                       statistics.median(samples), ""))

    def signed_in(username: str) -> Client:
        client = Client()
        client.post(reverse("system-use"))
        steps.post_and_land(f"sign in: password ({username})", client, reverse("login"),
                            {"username": username, "password": DEMO_PASSWORD})
        code = f"{totp(bytes.fromhex(demo_totp_key(username))):06d}"
        steps.post_and_land(f"sign in: second factor ({username})", client, reverse("mfa"), {"token": code})
        return client

    officer_client = signed_in("officer")
    new_password = "a-long-bench-passphrase-" + secrets.token_hex(4)
    steps.post_and_land("password change (officer)", officer_client, reverse("password-change"), {
        "old_password": DEMO_PASSWORD, "new_password1": new_password, "new_password2": new_password})

    # --- the first A-File PDF (and the second, warm) ---------------------------------------------------------------
    case = BenefitCase.objects.get(receipt_number="ZAR2690000004")
    query = query_services.query_submit(actor=officer, case=case, partner_code="CAN", reason="asylum_claimant",
                                        priority="high")
    url = reverse("query-print", args=[query.pk])
    from cpms.core.pdf import warm_up

    # What a cold process paid on its first print, which a web process now pays in the background as it starts
    # (cpms/wsgi.py); then the first print a person asks for, and the next.
    steps.run("PDF renderer warm-up (cpms/wsgi.py, in the background)", warm_up)
    steps.run("A-File PDF, the first a person asks for", lambda: officer_client.get(url))
    steps.run("A-File PDF, the next", lambda: officer_client.get(url))

    # --- ICTS: take a case, then approve its response --------------------------------------------------------------
    # The partner's request as the simulator sends it (so the simulator knows its reference when CPMS answers); it
    # is stored and processed here as CPMS's IDENT endpoint would, no web server needed.
    message = requests.post(f"{os.environ['SIM_URL']}/_sim/requests", timeout=10, json={
        "partner": "CAN", "fin": "FIN1000000001", "template": "uniform-v1", "requested_items": ["biographic"]}).json()
    raw = icd.canonical_bytes(message)
    inbound = InboundMessage.objects.create(message_id=uuid.UUID(message["message_id"]), type=message["type"],
                                            partner=message["partner"], body_sha256=icd.sha256_hex(raw), raw=raw, ref="")
    inbound_process(inbound.pk)
    icts_case = IctsCase.objects.filter(partner_request__request_ref=message["body"]["request_ref"]).first()
    if icts_case is None:
        from cpms.partner_requests.models import PartnerRequest

        req = PartnerRequest.objects.filter(request_ref=message["body"]["request_ref"]).first()
        inbound.refresh_from_db()
        print(f"the partner's request opened no ICTS case (request: {req and req.get_status_display()!r}; processed "
              f"{inbound.processed_at}, error {inbound.last_error[:300]!r}): the ICTS steps are skipped")
    else:
        analyst = signed_in("icts_analyst")
        steps.post_and_land("Take this case (icts_analyst)", analyst, reverse("icts-assign", args=[icts_case.pk]))
        analyst.post(reverse("icts-package", args=[icts_case.pk]), {
            "reviewer_name": "Rita Moreno", "reviewer_organization": "USCIS",
            "include_family_name": "on", "family_name": "Haddad", "include_given_names": "on", "given_names": "Amal"})
        analyst.post(reverse("icts-submit", args=[icts_case.pk]))
        reviewer = signed_in("icts_reviewer")
        steps.post_and_land("Approve and transmit (icts_reviewer)", reviewer, reverse("icts-review", args=[icts_case.pk]),
                            {"verdict": "approved"})
        icts_case.refresh_from_db()
        print(f"the ICTS case is now {icts_case.get_status_display()!r}")

    steps.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
