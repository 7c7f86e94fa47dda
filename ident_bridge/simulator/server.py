"""The IDENT simulator as a process: the ICD §1 receiver, the partners' answers, a retrying sender, and an
unsigned control plane for tests and demos.

Three kinds of thread share one `Store`:
- HTTP handler threads (stdlib ThreadingHTTPServer) check and store what CPMS posts, answering 202 only
  after the message is committed;
- the processor turns each stored CPMS message into IDENT's answers (`partners`) and queues them in the
  same transaction that marks the message processed, so nothing is answered twice;
- the sender delivers the queue to CPMS through `transport.Transport`, retrying transient failures with
  backoff (same message_id, same bytes, fresh signature) and recording 4xx answers as rejected.

Everything is durable in the state file, so a stopped simulator picks up where it left off.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from os import PathLike

from .. import icd
from ..transport import BridgeError, Transport
from . import galleries, partners
from .handler import IDENT_PATH, Answer, ControlError, Server, problem_answer
from .state import Receipt, Received, Store

logger = logging.getLogger("ident_bridge.simulator")

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0
SHUTDOWN_POLL_SECONDS = 0.05  # how soon stop() is noticed by the HTTP loop; tests stop often
DEFAULT_REQUESTED_ITEMS = ("biographic", "immigration_status", "document_images")

_FIN = re.compile(r"^[A-Z0-9]{10,16}$")  # ICD §4
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")  # ICD schema `ref`


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter after the `attempts`-th failed attempt: 0.5 s, 1 s, 2 s … 30 s.

    Half the delay is fixed and half random, so many messages failing together do not retry in lockstep.
    """
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** min(attempts - 1, 16))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # jitter only: not a security use of random


@dataclass
class Faults:
    """Fault injection, set through the control plane. In memory: a restart starts fault-free."""

    delay_seconds: float = 0.0  # sleep before answering each inbound message POST
    fail_next: int = 0  # answer the next N inbound message POSTs with 503
    duplicate_deliveries: bool = False  # POST every outbound message to CPMS twice
    result_delay: float | None = None  # overrides the configured partner answer delay


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


class Simulator:
    """IDENT and the partners' galleries, answering CPMS over the ICD.

    Start it with `serve(host, port)` (blocks; the management command) or `start_in_thread(host, port)`
    (tests; port 0 picks a free port), and always `stop()` it.
    """

    def __init__(
        self,
        cpms_url: str,
        secret: str,
        state_path: str | PathLike[str],
        result_delay: float = 1.0,
        *,
        timeout: float = 10.0,
    ):
        if not secret:
            raise ValueError("the shared secret (IDENT_SHARED_SECRET) is empty")
        self.cpms_url = cpms_url.rstrip("/")
        self.store = Store(state_path)
        self._secret = secret
        self._transport = Transport(self.cpms_url, secret, timeout=timeout)
        self._timeout = timeout
        self._result_delay = result_delay
        self._faults = Faults()
        self._faults_lock = threading.Lock()
        self._stopping = threading.Event()
        self._process_wake = threading.Event()
        self._send_wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._httpd: Server | None = None
        self._stopped = False

    # --- lifecycle --------------------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        if self._httpd is None:
            raise RuntimeError("the simulator is not listening")
        host, port = self._httpd.server_address[:2]
        return str(host), int(port)

    @property
    def base_url(self) -> str:
        """Where the control plane lives, e.g. http://127.0.0.1:8001."""
        host, port = self.address
        return f"http://{host}:{port}"

    @property
    def ident_url(self) -> str:
        """The value CPMS needs as IDENT_URL (it POSTs to `{ident_url}/messages`)."""
        return self.base_url + IDENT_PATH

    def _bind(self, host: str, port: int) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            logger.warning("the unsigned control plane /_sim/* is reachable on %s: use this only on a closed network", host)
        self._httpd = Server((host, port), self)
        for name, target in (("ident-sim-processor", self._process_loop), ("ident-sim-sender", self._send_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        logger.info("IDENT simulator listening on %s, delivering to %s/messages", self.ident_url, self.cpms_url)

    def serve(self, host: str = "127.0.0.1", port: int = 8001) -> None:
        """Serve until interrupted (Ctrl-C), then stop cleanly."""
        try:
            self._bind(host, port)
            assert self._httpd is not None
            self._httpd.serve_forever(poll_interval=SHUTDOWN_POLL_SECONDS)
        except KeyboardInterrupt:
            logger.info("interrupted")
        finally:
            self.stop()

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve from a background thread; returns the IDENT URL CPMS should use."""
        self._bind(host, port)
        assert self._httpd is not None
        thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS}, name="ident-sim-http", daemon=True
        )
        thread.start()
        self._threads.append(thread)
        return self.ident_url

    def stop(self) -> None:
        """Stop serving and let the workers finish their current step. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        self._process_wake.set()
        self._send_wake.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=self._timeout + 1)
        self.store.close()
        logger.info("IDENT simulator stopped")

    # --- inbound (ICD §1) -------------------------------------------------------------------------------

    def handle_message(self, raw: bytes, timestamp: str | None, signature: str | None) -> Answer:
        """Check and store one CPMS → IDENT message; the answer follows ICD §1 to the letter."""
        faults = self.faults()
        if faults["delay_seconds"]:
            time.sleep(faults["delay_seconds"])
        if self._take_failure():
            return problem_answer(503, "Service unavailable", "Fault injection (fail_next): try again later.")
        try:
            icd.verify_signature(raw, timestamp, signature, self._secret)
        except icd.SignatureError as exc:
            logger.warning("refused an inbound message (401): %s", exc)
            return problem_answer(401, "Unauthorized", str(exc))
        parsed = icd.parse(raw, accept_types=icd.CPMS_TO_IDENT)
        if parsed.errors or parsed.message is None:
            return self._invalid(parsed.errors)
        message = parsed.message
        match = None
        if message["type"] == "query.submit":
            person = galleries.lookup(message["partner"], message["body"]["fin"])
            match = person.partner_person_id if person else None
        outcome = self.store.receive(message, icd.sha256_hex(raw), match=match)
        accepted = {"message_id": message["message_id"], "status": "accepted"}
        if outcome.receipt is Receipt.ACCEPTED:
            logger.info("accepted %s %s for %s", message["type"], message["message_id"], message["partner"])
            self._process_wake.set()
            return Answer(202, accepted)
        if outcome.receipt is Receipt.DUPLICATE:
            return Answer(200, accepted)
        if outcome.receipt is Receipt.CONFLICT:
            detail = f"message_id {message['message_id']} was already received with a different body."
            logger.warning("refused an inbound message (409): %s", detail)
            return problem_answer(409, "Conflict", detail)
        return self._invalid(outcome.errors)

    @staticmethod
    def _invalid(errors: list[icd.ICDError]) -> Answer:
        logger.warning("refused an inbound message (400): %s", "; ".join(f"{e.pointer}: {e.detail}" for e in errors))
        detail = f"The message has {len(errors)} error(s); nothing was stored."
        return problem_answer(400, "Invalid message", detail, errors)

    # --- faults -----------------------------------------------------------------------------------------

    @property
    def result_delay(self) -> float:
        with self._faults_lock:
            override = self._faults.result_delay
        return self._result_delay if override is None else override

    def faults(self) -> dict:
        with self._faults_lock:
            current = asdict(self._faults)
        current["result_delay"] = self.result_delay
        return current

    def set_faults(self, changes: dict) -> dict:
        """Apply any of delay_seconds, fail_next, duplicate_deliveries, result_delay; unknown keys are refused."""
        errors = []
        for key, value in changes.items():
            if key in ("delay_seconds", "result_delay") and not _is_number(value):
                errors.append(icd.ICDError(f"/{key}", "must be a number of seconds, 0 or more"))
            elif key == "fail_next" and not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                errors.append(icd.ICDError("/fail_next", "must be an integer, 0 or more"))
            elif key == "duplicate_deliveries" and not isinstance(value, bool):
                errors.append(icd.ICDError("/duplicate_deliveries", "must be true or false"))
            elif key not in ("delay_seconds", "result_delay", "fail_next", "duplicate_deliveries"):
                errors.append(icd.ICDError(f"/{key}", "is not a fault this simulator knows"))
        if errors:
            raise ControlError(errors)
        with self._faults_lock:
            for key, value in changes.items():
                setattr(self._faults, key, float(value) if key in ("delay_seconds", "result_delay") else value)
        logger.info("faults now %s", self.faults())
        return self.faults()

    def reset(self, *, all_state: bool = False) -> None:
        """Clear the faults; with `all_state`, forget every message, query, request and queued answer too."""
        with self._faults_lock:
            self._faults = Faults()
        if all_state:
            self.store.clear()
        logger.info("reset %s", "faults and state" if all_state else "faults")

    def _take_failure(self) -> bool:
        with self._faults_lock:
            if self._faults.fail_next > 0:
                self._faults.fail_next -= 1
                return True
        return False

    # --- the partners' own requests ---------------------------------------------------------------------

    def send_partner_request(
        self,
        *,
        partner: str,
        fin: str,
        template: str,
        request_ref: str | None = None,
        requested_items: list[str] | None = None,
        reason: str = "refugee_claimant",
        priority: str = "high",
    ) -> dict:
        """Make `partner` ask USCIS about `fin` (a `request.received`, subject in `template`); returns the
        queued message. The subject is `galleries.request_subject(partner, fin)`."""
        items = list(DEFAULT_REQUESTED_ITEMS) if requested_items is None else requested_items
        errors = []
        if partner not in icd.PARTNERS:
            errors.append(icd.ICDError("/partner", f"must be one of {', '.join(icd.PARTNERS)}"))
        if not isinstance(fin, str) or not _FIN.match(fin):
            errors.append(icd.ICDError("/fin", "must be 10 to 16 upper-case letters or digits"))
        if template not in partners.TEMPLATES:
            errors.append(icd.ICDError("/template", f"must be one of {', '.join(partners.TEMPLATES)}"))
        if request_ref is not None and not (isinstance(request_ref, str) and _REF.match(request_ref)):
            errors.append(icd.ICDError("/request_ref", "must be 1 to 64 of A-Z a-z 0-9 . _ : - (starting alphanumeric)"))
        if not isinstance(items, list) or not items or len(set(map(str, items))) != len(items):
            errors.append(icd.ICDError("/requested_items", "must be a non-empty list without repeats"))
        else:
            errors += [
                icd.ICDError(f"/requested_items/{i}", f"must be one of {', '.join(icd.REQUESTED_ITEMS)}")
                for i, item in enumerate(items)
                if item not in icd.REQUESTED_ITEMS
            ]
        if reason not in icd.REASONS:
            errors.append(icd.ICDError("/reason", f"must be one of {', '.join(icd.REASONS)}"))
        if priority not in icd.PRIORITIES:
            errors.append(icd.ICDError("/priority", f"must be one of {', '.join(icd.PRIORITIES)}"))
        if errors:
            raise ControlError(errors)
        now = time.time()
        ref = request_ref or f"{partner}-{datetime.now(UTC).year}-{uuid.uuid4().hex[:8].upper()}"
        outgoing = partners.request_received(
            galleries.request_subject(partner, fin),
            partner=partner,
            template=template,
            request_ref=ref,
            requested_items=items,
            reason=reason,
            priority=priority,
            now=now,
        )
        if not self.store.record_request(outgoing, template=template):
            raise ControlError([icd.ICDError("/request_ref", f"{ref} is already used")])
        logger.info("%s sends request.received %s (%s) about %s", partner, ref, template, fin)
        self._send_wake.set()
        return outgoing.message

    # --- processor: CPMS message → IDENT answers --------------------------------------------------------

    def _answers(self, received: Received) -> list[partners.Outgoing]:
        message = {"message_id": received.message_id, "type": received.type, "partner": received.partner, "body": received.body}
        now, delay, body = time.time(), self.result_delay, received.body
        if received.type == "query.submit":
            person = galleries.lookup(received.partner, body["fin"])
            return partners.answer_query_submit(message, person, now=now, delay=delay)
        if received.type == "query.followup":
            query = self.store.query(received.partner, body["query_ref"])
            person = galleries.lookup(received.partner, query.fin) if query else None
            if person is None:
                raise LookupError(f"{received.partner} gallery has no person for query {body['query_ref']}")
            return partners.answer_query_followup(message, person, now=now, delay=delay)
        if received.type == "request.augment":
            request = self.store.request(body["request_ref"])
            if request is None:
                raise LookupError(f"no request {body['request_ref']}")
            person = galleries.request_subject(request.partner, request.fin)
            return partners.answer_request_augment(message, person, now=now, delay=delay)
        return partners.answer_request_reply(message, now=now)

    def _process_next(self) -> bool:
        received = self.store.next_unprocessed()
        if received is None:
            return False
        try:
            answers = self._answers(received)
        except Exception as exc:
            # A simulator bug (e.g. an answer the schema refuses): park the message, make it visible on
            # /_sim/health and /_sim/received, and carry on with the others.
            logger.exception("cannot answer %s %s", received.type, received.message_id)
            self.store.fail_processing(received.message_id, f"{type(exc).__name__}: {exc}")
            return True
        self.store.finish_processing(received, answers)
        self._send_wake.set()
        return True

    def _process_loop(self) -> None:
        while not self._stopping.is_set():
            self._process_wake.clear()  # before looking, so a wake-up during the look is not lost
            try:
                if not self._process_next():
                    self._process_wake.wait(1.0)
            except Exception:
                logger.exception("processor step failed; retrying in 1 s")
                self._stopping.wait(1.0)

    # --- sender: the outbound queue → CPMS --------------------------------------------------------------

    def _send_loop(self) -> None:
        while not self._stopping.is_set():
            self._send_wake.clear()
            try:
                pending = self.store.next_due(time.time())
                if pending is None:
                    wakeup = self.store.next_wakeup()
                    self._send_wake.wait(1.0 if wakeup is None else min(1.0, max(0.0, wakeup - time.time())))
                    continue
                self._deliver(pending.message_id, pending.type, pending.raw, pending.attempts + 1)
            except Exception:
                logger.exception("sender step failed; retrying in 1 s")
                self._stopping.wait(1.0)

    def _deliver(self, message_id: str, message_type: str, raw: bytes, attempts: int) -> None:
        try:
            delivery = self._transport.post(raw)
        except BridgeError as exc:
            if exc.permanent:
                errors = (exc.problem or {}).get("errors")
                self.store.mark_rejected(message_id, attempts=attempts, error=exc.detail)
                logger.error(
                    "CPMS REJECTED %s %s (attempt %d, final): %s %s", message_type, message_id, attempts, exc.detail, errors or ""
                )
                return
            self._retry_later(message_id, message_type, attempts, exc.detail)
            return
        except Exception as exc:
            # Whatever else the transport raises is not a verdict from CPMS: never drop the message.
            logger.exception("unexpected error sending %s %s", message_type, message_id)
            self._retry_later(message_id, message_type, attempts, f"{type(exc).__name__}: {exc}")
            return
        self.store.mark_sent(message_id, attempts=attempts)
        logger.info("delivered %s %s (HTTP %d, attempt %d)", message_type, message_id, delivery.status, attempts)
        if self.faults()["duplicate_deliveries"]:
            self.store.count_attempt(message_id)
            try:
                again = self._transport.post(raw)
            except BridgeError as exc:
                logger.warning("duplicate delivery of %s %s failed: %s", message_type, message_id, exc.detail)
            else:
                logger.info("delivered %s %s again on purpose (HTTP %d)", message_type, message_id, again.status)

    def _retry_later(self, message_id: str, message_type: str, attempts: int, error: str) -> None:
        delay = backoff_seconds(attempts)
        self.store.mark_retry(message_id, attempts=attempts, next_attempt_at=time.time() + delay, error=error)
        logger.warning("sending %s %s failed (attempt %d): %s; retrying in %.1f s", message_type, message_id, attempts, error, delay)
