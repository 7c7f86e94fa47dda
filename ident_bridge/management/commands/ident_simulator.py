"""`manage.py ident_simulator`: run the IDENT simulator (IDENT + the partners' galleries) as its own process.

The simulator keeps its own SQLite state file and never touches the CPMS database, so the command runs
with any settings module and skips Django's system checks; it only reads IDENT_SHARED_SECRET and VAR_DIR.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ident_bridge.simulator import Simulator

DEFAULT_CPMS_URL = "http://127.0.0.1:8000/ident/v1"


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (docker stop, a process supervisor) stops the simulator as cleanly as Ctrl-C does."""
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the IDENT simulator: answers CPMS's queries as IDENT and the partners would (docs/simulator.md)."
    requires_system_checks = ()  # no database, no apps of ours: nothing for the checks to vet

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8001, help="port to listen on (default 8001)")
        parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; the control plane is unsigned)")
        parser.add_argument(
            "--cpms-url",
            help=f"CPMS's IDENT endpoint base; messages go to {{URL}}/messages (default $CPMS_IDENT_URL or {DEFAULT_CPMS_URL})",
        )
        parser.add_argument("--state", type=Path, help="SQLite state file (default VAR_DIR/ident-simulator.sqlite3)")
        parser.add_argument(
            "--result-delay", type=float, default=1.0, help="seconds a partner takes to answer each round (default 1.0)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        secret = getattr(settings, "IDENT_SHARED_SECRET", "")
        if not secret:
            raise CommandError("IDENT_SHARED_SECRET is not set: the simulator signs and checks messages with it.")
        if options["result_delay"] < 0:
            raise CommandError("--result-delay must be 0 or more seconds.")
        host, port = options["host"], options["port"]
        cpms_url = options["cpms_url"] or os.environ.get("CPMS_IDENT_URL") or DEFAULT_CPMS_URL
        state: Path = options["state"] or Path(settings.VAR_DIR) / "ident-simulator.sqlite3"
        state.parent.mkdir(parents=True, exist_ok=True)
        simulator = Simulator(cpms_url, secret, state, result_delay=options["result_delay"])
        self.stdout.write(f"IDENT simulator on http://{host}:{port}/ident/v1, delivering to {cpms_url.rstrip('/')}/messages")
        self.stdout.write(f"State {state}; control plane http://{host}:{port}/_sim/; Ctrl-C to stop.")
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            simulator.serve(host, port)
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc}") from exc
