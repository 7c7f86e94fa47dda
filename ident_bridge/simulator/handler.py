"""The simulator's HTTP layer: the ICD §1 endpoint and the unsigned control plane /_sim/*.

Thin on purpose: it reads and bounds request bodies, routes, and writes JSON or problem documents; every
decision is `Simulator`'s. Routes are listed in `_ROUTES` at the bottom and in docs/simulator.md.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from .. import icd

if TYPE_CHECKING:
    from . import ui
    from .server import Simulator

logger = logging.getLogger("ident_bridge.simulator")

IDENT_PATH = "/ident/v1"
MESSAGES_PATH = IDENT_PATH + "/messages"
CONTROL_BODY_LIMIT = 1024 * 1024


class ControlError(ValueError):
    """A control-plane request the simulator cannot honour; carries one JSON-pointer error per problem."""

    def __init__(self, errors: list[icd.ICDError]):
        super().__init__("; ".join(f"{e.pointer}: {e.detail}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, JSON document and its media type."""

    status: int
    document: dict | list
    content_type: str = "application/json"


def problem_answer(status: int, title: str, detail: str, errors: list[icd.ICDError] | None = None) -> Answer:
    """An RFC 9457 problem document (ICD §1), served as application/problem+json."""
    return Answer(status, icd.problem(status, title, detail, errors), "application/problem+json")


class Server(ThreadingHTTPServer):
    """The stdlib threading server, holding the Simulator its handlers answer for."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: Simulator):
        self.simulator = simulator
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: Server
    server_version = "IDENT-simulator/1"

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        methods = _ROUTES.get(url.path)
        if methods is None:
            self._send(problem_answer(404, "Not found", f"No resource at {url.path}."))
        elif method not in methods:
            self._send(problem_answer(405, "Method not allowed", f"Use {' or '.join(methods)}."), allow=methods)
        else:
            methods[method](self, parse_qs(url.query))

    def _send(self, answer: Answer, *, allow: dict | None = None) -> None:
        payload = json.dumps(answer.document, ensure_ascii=False).encode("utf-8")
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(payload)))
        if allow:
            self.send_header("Allow", ", ".join(allow))
        self.end_headers()
        self.wfile.write(payload)

    def _read_body(self, limit: int) -> bytes | Answer:
        """The request body, or the answer refusing it. The length is checked before anything is read."""
        length = self.headers.get("Content-Length")
        if length is None:
            return problem_answer(411, "Length required", "Send a Content-Length header.")
        try:
            size = int(length)
            if size < 0:
                raise ValueError(length)
        except ValueError:
            return problem_answer(400, "Bad request", "Content-Length must be a non-negative integer.")
        if size > limit:
            self.close_connection = True  # the unread body must not be taken for the next request
            return problem_answer(413, "Payload too large", f"The body is {size} bytes; the limit is {limit}.")
        body = self.rfile.read(size)
        if len(body) != size:  # ICD §2: a body that is not exactly Content-Length bytes is refused
            self.close_connection = True
            return problem_answer(400, "Invalid message", f"The body is {len(body)} bytes but Content-Length says {size} "
                                  "(ICD §2); nothing was stored.",
                                  [icd.ICDError("", f"is {len(body)} bytes, not the {size} that Content-Length declares")])
        return body

    def _read_json(self) -> dict | Answer:
        raw = self._read_body(CONTROL_BODY_LIMIT)
        if isinstance(raw, Answer):
            return raw
        try:
            document = json.loads(raw.decode("utf-8") or "{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return problem_answer(400, "Bad request", "The body must be a JSON object.", [icd.ICDError("", "is not JSON")])
        if not isinstance(document, dict):
            return problem_answer(400, "Bad request", "The body must be a JSON object.", [icd.ICDError("", "is not an object")])
        return document

    # --- routes -------------------------------------------------------------------------------------------

    def post_message(self, query: dict[str, list[str]]) -> None:
        raw = self._read_body(icd.MAX_BODY_BYTES)
        if isinstance(raw, Answer):
            self._send(raw)
            return
        sim = self.server.simulator
        self._send(sim.handle_message(raw, self.headers.get(icd.TIMESTAMP_HEADER), self.headers.get(icd.SIGNATURE_HEADER)))

    def get_health(self, query: dict[str, list[str]]) -> None:
        errors = self.server.simulator.store.processing_errors()
        self._send(Answer(500, {"ok": False, "processing_errors": errors}) if errors else Answer(200, {"ok": True}))

    def get_faults(self, query: dict[str, list[str]]) -> None:
        self._send(Answer(200, self.server.simulator.faults()))

    def post_faults(self, query: dict[str, list[str]]) -> None:
        changes = self._read_json()
        if isinstance(changes, Answer):
            self._send(changes)
            return
        try:
            self._send(Answer(200, self.server.simulator.set_faults(changes)))
        except ControlError as exc:
            self._send(problem_answer(400, "Bad request", "Unknown fault or bad value.", exc.errors))

    def post_reset(self, query: dict[str, list[str]]) -> None:
        all_state = query.get("all", ["0"])[-1] in ("1", "true", "yes")
        self.server.simulator.reset(all_state=all_state)
        self._send(Answer(200, {"ok": True, "cleared": "faults and state" if all_state else "faults"}))

    def get_received(self, query: dict[str, list[str]]) -> None:
        self._send(Answer(200, self.server.simulator.store.received_list()))

    def get_outbound(self, query: dict[str, list[str]]) -> None:
        self._send(Answer(200, self.server.simulator.store.outbound_list()))

    def get_queries(self, query: dict[str, list[str]]) -> None:
        self._send(Answer(200, self.server.simulator.store.queries_list()))

    def get_requests(self, query: dict[str, list[str]]) -> None:
        self._send(Answer(200, self.server.simulator.store.requests_list()))

    def post_requests(self, query: dict[str, list[str]]) -> None:
        document = self._read_json()
        if isinstance(document, Answer):
            self._send(document)
            return
        known = {"partner", "fin", "template", "request_ref", "requested_items", "reason", "priority"}
        unknown = [icd.ICDError(f"/{key}", "is not a field of a partner request") for key in document if key not in known]
        missing = [icd.ICDError(f"/{key}", "is required") for key in ("partner", "fin", "template") if key not in document]
        try:
            if unknown or missing:
                raise ControlError(unknown + missing)
            message = self.server.simulator.send_partner_request(**document)
        except ControlError as exc:
            self._send(problem_answer(400, "Bad request", "The partner request cannot be sent.", exc.errors))
            return
        self._send(Answer(201, message))

    # The simulator's own page (ui.py). Imported when used: ui.py builds on this module.

    def get_ui(self, query: dict[str, list[str]]) -> None:
        from . import ui

        self._send_page(ui.page(self.server.simulator, query))

    def post_ui_send(self, query: dict[str, list[str]]) -> None:
        from . import ui

        raw = self._read_body(CONTROL_BODY_LIMIT)
        if isinstance(raw, Answer):
            self._send(raw)
            return
        self._send_page(ui.send(self.server.simulator, raw, self.headers))

    def _send_page(self, page: ui.Page) -> None:
        self.send_response(page.status)
        for name, value in page.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(page.body)))
        self.end_headers()
        self.wfile.write(page.body)


_ROUTES = {
    MESSAGES_PATH: {"POST": _Handler.post_message},
    "/_sim/health": {"GET": _Handler.get_health},
    "/_sim/faults": {"GET": _Handler.get_faults, "POST": _Handler.post_faults},
    "/_sim/reset": {"POST": _Handler.post_reset},
    "/_sim/received": {"GET": _Handler.get_received},
    "/_sim/outbound": {"GET": _Handler.get_outbound},
    "/_sim/queries": {"GET": _Handler.get_queries},
    "/_sim/requests": {"GET": _Handler.get_requests, "POST": _Handler.post_requests},
    "/_sim": {"GET": _Handler.get_ui},
    "/_sim/": {"GET": _Handler.get_ui},
    "/_sim/ui": {"GET": _Handler.get_ui},
    "/_sim/ui/send": {"POST": _Handler.post_ui_send},
}
