"""`manage.py sim_send_request`: make a partner ask CPMS about a FIN, through the running IDENT simulator.

It POSTs to the simulator's control plane (`POST /_sim/requests`, docs/simulator.md), which sends CPMS a
signed `request.received` in the chosen template. Like `ident_simulator` it touches neither the CPMS
database nor its settings beyond Django's start-up, so it skips the system checks.

    manage.py sim_send_request --partner AUS --fin FIN1000000002 --template AUS-v1
    manage.py sim_send_request --all-demo --partner CAN      # one request per demo FIN, templates rotating
"""

from __future__ import annotations

import json
import os
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ident_bridge import icd
from ident_bridge.simulator.galleries import DEMO_REQUEST_FINS
from ident_bridge.simulator.partners import TEMPLATES

DEFAULT_SIMULATOR_URL = "http://127.0.0.1:8001"
DEFAULT_ALL_DEMO_PARTNER = "CAN"


class Refused(Exception):
    """The simulator answered, but did not send the request; `lines` say why, one JSON pointer each."""

    def __init__(self, summary: str, lines: list[str]):
        super().__init__(summary)
        self.summary = summary
        self.lines = lines


class Command(BaseCommand):
    help = (
        "Make a partner send CPMS a request for additional information (request.received) through the running "
        "IDENT simulator (docs/simulator.md)."
    )
    requires_system_checks = ()  # a client of the simulator's control plane: no database, nothing to vet

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--partner", choices=icd.PARTNERS, help=f"the asking partner (with --all-demo, default {DEFAULT_ALL_DEMO_PARTNER})")
        parser.add_argument("--fin", nargs="+", metavar="FIN", help="the FIN(s) the partner's encounter matched; one request each")
        parser.add_argument("--template", choices=TEMPLATES, help="the template of the subject (ICD §5)")
        parser.add_argument("--request-ref", help="the partner's reference (default: generated, e.g. CAN-2026-1A2B3C4D)")
        parser.add_argument(
            "--items",
            help=f"requested items, comma-separated, from {','.join(icd.REQUESTED_ITEMS)} "
            "(default biographic,immigration_status,document_images)",
        )
        parser.add_argument("--reason", choices=icd.REASONS, help="why the partner asks (default refugee_claimant)")
        parser.add_argument("--priority", choices=icd.PRIORITIES, help="default high")
        parser.add_argument(
            "--simulator-url",
            default=os.environ.get("IDENT_SIMULATOR_URL") or DEFAULT_SIMULATOR_URL,
            help=f"where the simulator listens (default $IDENT_SIMULATOR_URL or {DEFAULT_SIMULATOR_URL})",
        )
        parser.add_argument(
            "--all-demo",
            action="store_true",
            help="send one request for each demo FIN (docs/demo-data.md), templates rotating, and print a table",
        )
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the simulator (default 10)")

    def handle(self, *args: Any, **options: Any) -> None:
        self.url = options["simulator_url"].rstrip("/") + "/_sim/requests"
        self.timeout = options["timeout"]
        common = {key: options[key] for key in ("reason", "priority") if options[key]}
        if options["items"] is not None:
            common["requested_items"] = [item.strip() for item in options["items"].split(",") if item.strip()]
        if options["all_demo"]:
            clashing = [flag for flag, key in (("--fin", "fin"), ("--template", "template"), ("--request-ref", "request_ref"))
                        if options[key]]
            if clashing:
                raise CommandError(f"--all-demo chooses the FINs, templates and refs itself; leave out {', '.join(clashing)}.")
            partner = options["partner"] or DEFAULT_ALL_DEMO_PARTNER
            plan = [
                ({"partner": partner, "fin": fin, "template": TEMPLATES[i % len(TEMPLATES)], **common}, label)
                for i, (fin, label) in enumerate(DEMO_REQUEST_FINS)
            ]
            self._send_all(plan)
            return
        missing = [flag for flag, key in (("--partner", "partner"), ("--fin", "fin"), ("--template", "template"))
                   if not options[key]]
        if missing:
            raise CommandError(f"{', '.join(missing)} required (or --all-demo).")
        if options["request_ref"] and len(options["fin"]) > 1:
            raise CommandError("--request-ref names one request: give a single --fin with it.")
        batch = [
            {"partner": options["partner"], "fin": fin, "template": options["template"], **common,
             **({"request_ref": options["request_ref"]} if options["request_ref"] else {})}
            for fin in options["fin"]
        ]
        if len(batch) == 1:
            self._send_one(batch[0])
        else:
            demo_labels = dict(DEMO_REQUEST_FINS)
            self._send_all([(request, demo_labels.get(request["fin"], "")) for request in batch])

    # --- talking to the simulator ------------------------------------------------------------------------

    def _post(self, request: dict) -> dict:
        """The message the simulator sent; Refused if it would not; CommandError if it cannot be reached."""
        try:
            answer = requests.post(self.url, json=request, timeout=self.timeout)
        except requests.ConnectionError as exc:
            raise CommandError(
                f"The IDENT simulator is not running at {self.url} ({exc.__class__.__name__}). Start it with "
                "`manage.py ident_simulator --port 8001`, or point --simulator-url at the one that runs."
            ) from exc
        except requests.Timeout as exc:
            raise CommandError(f"The IDENT simulator at {self.url} did not answer within {self.timeout} s.") from exc
        except requests.RequestException as exc:
            raise CommandError(f"Cannot talk to the IDENT simulator at {self.url}: {exc}") from exc
        try:
            document = answer.json()
        except ValueError:
            document = None
        if answer.status_code == 201 and isinstance(document, dict) and "body" in document:
            return document
        if answer.status_code in (404, 405):
            raise CommandError(f"{self.url} answered HTTP {answer.status_code}: is --simulator-url the IDENT simulator?")
        if isinstance(document, dict) and answer.headers.get("Content-Type", "").startswith("application/problem+json"):
            lines = [f"{e.get('pointer') or '/'}: {e.get('detail')}" for e in document.get("errors") or []]
            raise Refused(f"HTTP {answer.status_code} {document.get('title', '')}: {document.get('detail', '')}", lines)
        raise CommandError(f"{self.url} answered HTTP {answer.status_code}, not as the IDENT simulator does: is --simulator-url right?")

    def _send_one(self, request: dict) -> None:
        try:
            message = self._post(request)
        except Refused as exc:
            self.stderr.write(f"The simulator refused the request: {exc.summary}")
            for line in exc.lines:
                self.stderr.write(f"  {line}")
            raise CommandError(f"Not sent: {'; '.join(exc.lines) or exc.summary}") from exc
        body = message["body"]
        self.stdout.write(self.style.SUCCESS(
            f"Sent request.received {body['request_ref']}: {message['partner']} asks about {body['fin']} "
            f"in {body['template']} (message_id {message['message_id']})."
        ))
        self.stdout.write("The simulator answered 201 Created with the message it queued for CPMS:")
        self.stdout.write(json.dumps(message, ensure_ascii=False, indent=2))

    def _send_all(self, plan: list[tuple[dict, str]]) -> None:
        rows, failures = [], 0
        for request, label in plan:
            try:
                message = self._post(request)
            except Refused as exc:
                failures += 1
                rows.append((request["fin"], request["partner"], request["template"], "—",
                             f"REFUSED {'; '.join(exc.lines) or exc.summary}", label))
                continue
            rows.append((request["fin"], request["partner"], request["template"], message["body"]["request_ref"], "sent", label))
        headings = ("FIN", "partner", "template", "request_ref", "result", "demo: CPMS should")
        widths = [max(len(str(cell)) for cell in column) for column in zip(headings, *rows, strict=True)]
        for index, row in enumerate((headings, *rows)):
            self.stdout.write("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
            if index == 0:
                self.stdout.write("  ".join("-" * width for width in widths))
        if failures:
            raise CommandError(f"{failures} of {len(plan)} request(s) were not sent; see the result column.")
        self.stdout.write(self.style.SUCCESS(f"Sent {len(plan)} request(s) through {self.url}."))
