"""The columns of the table, computed after the system settled from CPMS's database (read-only), the
simulator's state (its control plane /_sim/*), gunicorn's record of every answer CPMS gave, and the suite's own
flows. docs/faults.md defines each column; the definitions here are the same words in code.

A message is one ICD message, one `message_id`: CPMS → IDENT (query.submit, query.followup, request.reply,
request.augment) and IDENT → CPMS (query.result, query.response, request.received, delivery.ack).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

MUST_BE_ZERO = ("lost", "sent twice", "processed twice", "stuck", "5xx for valid input")
COLUMNS = ("sent", "delivered", *MUST_BE_ZERO)
EXAMPLES = 12


@dataclass
class Ledger:
    columns: dict[str, int] = field(default_factory=dict)
    why: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # column -> what made it non-zero
    info: list[str] = field(default_factory=list)

    def add(self, column: str, count: int, reason: str) -> None:
        if count <= 0:
            return
        self.columns[column] = self.columns.get(column, 0) + count
        self.why[column].append(reason if count == 1 else f"{reason} (x{count})")

    @property
    def failed(self) -> bool:
        return any(self.columns.get(c, 0) for c in MUST_BE_ZERO)

    def as_dict(self) -> dict:
        return {"columns": {c: self.columns.get(c, 0) for c in COLUMNS}, "why": {k: v for k, v in self.why.items()},
                "info": self.info}


def _extras(counter: Counter, what: str, ledger: Ledger, column: str) -> None:
    for key, n in sorted(counter.items(), key=str):
        if n > 1:
            ledger.add(column, n - 1, f"{what} {key}: {n}")


def read_answers(path: Path) -> list[dict]:
    rows = []
    try:
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    except FileNotFoundError:
        pass
    return rows


def compute(*, cpms: dict, sim: dict, answers: list[dict], pg_down: list[tuple[float, float]], flows: list,
            exchanges: list) -> Ledger:
    ledger = Ledger()
    outbox, inbound = cpms["outbox"], cpms["inbound"]
    received, outbound = sim["received"], sim["outbound"]
    sim_received = {m["message_id"]: m for m in received}
    cpms_inbound = {str(r["message_id"]): r for r in inbound}

    # --- sent, delivered, lost --------------------------------------------------------------------------
    c2i = {str(r["message_id"]) for r in outbox if r["attempts"] >= 1} | set(sim_received)
    i2c = {m["message_id"] for m in outbound if m["attempts"] >= 1} | set(cpms_inbound)
    delivered_c2i = {mid for mid in c2i if sim_received.get(mid, {}).get("processed") and not sim_received[mid].get("process_error")}
    delivered_i2c = {mid for mid in i2c if cpms_inbound.get(mid, {}).get("processed_at") is not None}
    ledger.columns["sent"] = len(c2i) + len(i2c)
    ledger.columns["delivered"] = len(delivered_c2i) + len(delivered_i2c)
    ledger.info.append(f"CPMS → IDENT: {len(c2i)} sent, {len(delivered_c2i)} processed by the simulator; "
                       f"IDENT → CPMS: {len(i2c)} sent, {len(delivered_i2c)} processed by CPMS")
    by_type = Counter(r["type"] for r in outbox if str(r["message_id"]) in c2i)
    by_type.update(m["type"] for m in outbound if m["message_id"] in i2c)
    ledger.info.append("messages by type: " + ", ".join(f"{t} {n}" for t, n in sorted(by_type.items())))
    outbox_by_id = {str(r["message_id"]): r for r in outbox}
    outbound_by_id = {m["message_id"]: m for m in outbound}
    for mid in sorted(c2i - delivered_c2i):
        row, got = outbox_by_id.get(mid, {}), sim_received.get(mid)
        ledger.add("lost", 1, f"CPMS → IDENT {row.get('type', '?')} {mid} ({row.get('ref', '')}): CPMS status "
                              f"{row.get('status', '?')}, {row.get('attempts', '?')} attempts, last error "
                              f"{row.get('last_error') or '-'}; simulator: "
                              f"{'not received' if got is None else 'received, ' + (got.get('process_error') or 'not processed')}")
    for mid in sorted(i2c - delivered_i2c):
        m, row = outbound_by_id.get(mid, {}), cpms_inbound.get(mid)
        ledger.add("lost", 1, f"IDENT → CPMS {m.get('type', '?')} {mid}: simulator status {m.get('status', '?')}, "
                              f"{m.get('attempts', '?')} attempts, last error {m.get('last_error') or '-'}; CPMS: "
                              f"{'not stored' if row is None else 'stored, not processed: ' + (row.get('last_error') or '')}")

    # --- sent twice: one business intent, two different messages -----------------------------------------
    key_queries = Counter(q["submission_key"] for q in cpms["queries"] if q["submission_key"])
    _extras(key_queries, "queries for one Idempotency-Key", ledger, "sent twice")
    keys = {f.key for f in flows if f.key}
    stray = [q["query_ref"] for q in cpms["queries"] if q["submission_key"] not in keys]
    ledger.add("sent twice", len(stray), f"queries no officer submission asked for: {', '.join(stray[:5])}")
    per_intent: dict[tuple, set] = defaultdict(set)
    for r in outbox:
        if str(r["message_id"]) in c2i:
            per_intent[(r["type"], r["partner"], r["ref"] if r["type"] != "request.augment" else r["request_ref"])].add(str(r["message_id"]))
    for m in received:
        body = m["body"]
        ref = body.get("query_ref") or body.get("request_ref") or ""
        per_intent[(m["type"], m["partner"], ref)].add(m["message_id"])
    augment_asked = {(f.partner, f.request_ref) for f in flows if f.kind == "request_icts_augment"}
    for (kind, partner, ref), ids in sorted(per_intent.items()):
        if kind == "request.augment":
            allowed = 1 if (partner, ref) in augment_asked else 0
            if len(ids) > allowed:
                ledger.add("sent twice", len(ids) - allowed, f"request.augment for {partner} {ref}: {len(ids)} messages, "
                                                             f"{allowed} asked for")
        elif kind in ("query.submit", "query.followup", "request.reply") and len(ids) > 1:
            ledger.add("sent twice", len(ids) - 1, f"{kind} for {partner} {ref}: {len(ids)} different messages")
    received_per_request = Counter((m["partner"], m["message"]["body"]["request_ref"]) for m in outbound
                                   if m["type"] == "request.received")
    _extras(received_per_request, "request.received for one partner request", ledger, "sent twice")

    # --- processed twice: one message or one business fact applied twice ---------------------------------
    _extras(Counter(str(r["message_id"]) for r in inbound), "CPMS stored inbound message_id", ledger, "processed twice")
    _extras(Counter(m["message_id"] for m in received), "simulator stored message_id", ledger, "processed twice")
    for name, counter in cpms["facts"].items():
        _extras(counter, name, ledger, "processed twice")
    acks = Counter(m["message"]["body"]["acked_message_id"] for m in outbound if m["type"] == "delivery.ack")
    _extras(acks, "simulator delivery.ack for CPMS message", ledger, "processed twice")
    results = Counter((m["partner"], m["message"]["body"]["query_ref"]) for m in outbound if m["type"] == "query.result")
    _extras(results, "simulator query.result for query", ledger, "processed twice")
    responses = Counter((m["partner"], m["message"]["body"].get("query_ref") or m["message"]["body"].get("augment_ref"),
                         m["message"]["body"].get("round")) for m in outbound if m["type"] == "query.response")
    _extras(responses, "simulator query.response for (partner, ref, round)", ledger, "processed twice")

    # --- stuck: work not finished after settling -----------------------------------------------------------
    for f in flows:
        if not f.ok:
            ref = f.query_ref or f.request_ref
            ledger.add("stuck", 1, f"{f.name} {f.partner} {f.fin} {ref}: {f.problem or 'did not finish'} "
                                   f"[{' → '.join(f.steps)}]")
    sim_requests = {r["request_ref"]: r for r in sim["requests"]}
    for f in flows:
        if f.expected_reply and f.ok:
            got = sim_requests.get(f.request_ref, {}).get("reply_outcome")
            if got != f.expected_reply:
                ledger.add("stuck", 1, f"{f.name} {f.request_ref}: the partner received {got or 'no reply'}, "
                                       f"expected {f.expected_reply}")
    for r in outbox:
        if r["status"] == "pending":
            ledger.add("stuck", 1, f"CPMS outbox {r['type']} {r['message_id']} ({r['ref']}) still pending after "
                                   f"{r['attempts']} attempts: {r['last_error'] or '-'}")
        elif r["status"] == "sent" and not r["delivery_status"]:
            ledger.add("stuck", 1, f"CPMS outbox {r['type']} {r['message_id']} ({r['ref']}) sent but never acknowledged")
    for r in inbound:
        if r["processed_at"] is None:
            ledger.add("stuck", 1, f"CPMS inbound {r['type']} {r['message_id']} ({r['ref']}) not processed after "
                                   f"{r['attempts']} attempts: {r['last_error'] or '-'}")
    for m in outbound:
        if m["status"] == "pending":
            ledger.add("stuck", 1, f"simulator outbound {m['type']} {m['message_id']} still pending after {m['attempts']} "
                                   f"attempts: {m['last_error'] or '-'}")
    for m in received:
        if not m["processed"] or m.get("process_error"):
            ledger.add("stuck", 1, f"simulator received {m['type']} {m['message_id']} not answered: "
                                   f"{m.get('process_error') or 'not processed'}")

    # --- 5xx answered for valid input ------------------------------------------------------------------------
    def in_outage(a: dict) -> bool:
        t0, t1 = a.get("t0") or a["t1"], a["t1"]
        return any(t0 <= end and t1 >= begin for begin, end in pg_down)

    statuses: Counter = Counter()
    for a in answers:
        status = a.get("status")
        if status is None or status >= 500:
            if status == 503 and in_outage(a):
                statuses["503 while PostgreSQL was stopped (excused)"] += 1
                continue
            ledger.add("5xx for valid input", 1, f"{status or 'no status'} to {a['method']} {a['path']} "
                                                 f"({a.get('agent', '')}) at {_clock(a['t1'])}, "
                                                 f"{_window_note(a['t1'], pg_down)}")
            statuses[str(status)] += 1
        else:
            statuses[str(status)] += 1
    ledger.info.append("CPMS's answers (gunicorn): " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    seen_5xx = [e for e in exchanges if e.status is not None and e.status >= 500]
    errors = Counter(e.error for e in exchanges if e.error)
    ledger.info.append(f"the suite's clients: {len(exchanges)} requests, {len(seen_5xx)} answered 5xx, "
                       + (", ".join(f"{k} {v}" for k, v in errors.items()) or "no connection errors or timeouts"))
    duplicated = sum(1 for m in outbound if m["status"] == "sent" and m["attempts"] > 1)
    ledger.info.append(f"simulator → CPMS: {sum(m['attempts'] for m in outbound)} POSTs for {len(outbound)} messages "
                       f"({duplicated} messages POSTed more than once: duplicates and retries)")
    retried = [r for r in outbox if r["attempts"] > 1]
    ledger.info.append(f"CPMS → IDENT: {len(retried)} of {len(outbox)} messages needed more than one attempt")
    return ledger


def _clock(epoch: float) -> str:
    import time

    return time.strftime("%H:%M:%S", time.localtime(epoch)) + f".{int(epoch % 1 * 1000):03d}"


def _window_note(t: float, pg_down: list[tuple[float, float]]) -> str:
    after = [t - end for begin, end in pg_down if t >= end]
    return f"{min(after):.1f} s after PostgreSQL was back" if after else "PostgreSQL up"


def failed_attempts(path: Path, marker: str, pattern: str) -> Counter:
    """Failed delivery attempts logged by a sender, by cause (the text of the error, numbers and ids left out)."""
    import re

    causes: Counter = Counter()
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return causes
    for line in lines:
        if marker in line:
            found = re.search(pattern, line)
            cause = found.group(1) if found else "?"
            causes[re.sub(r"https?://\S+", "IDENT", cause)[:70]] += 1
    return causes


# --- gathering --------------------------------------------------------------------------------------------------


def gather_cpms() -> dict:
    """Everything the columns need from CPMS's database (the suite's connection is read-only)."""
    from django.db.models import Count

    from cpms.disclosure.models import Decision, DisclosureRecord
    from cpms.partner_requests.models import Augmentation, PartnerRequest, RequestTransition
    from cpms.queries.models import InternationalQuery, Match, PartnerResponse, QueryRound, QueryTransition
    from icts.models import CaseTransition, IctsCase
    from ident_bridge.models import InboundMessage, OutboxMessage

    outbox = list(OutboxMessage.objects.values("message_id", "type", "partner", "ref", "status", "attempts", "last_error",
                                               "delivery_status"))
    augment_request = dict(Augmentation.objects.values_list("outbox_message__message_id", "partner_request__request_ref"))
    for r in outbox:
        r["request_ref"] = augment_request.get(r["message_id"], r["ref"])
    inbound = list(InboundMessage.objects.values("message_id", "type", "partner", "ref", "processed_at", "attempts",
                                                 "last_error"))
    queries = list(InternationalQuery.objects.values("query_ref", "submission_key", "status"))

    def count(qs, *keys) -> Counter:
        return Counter({tuple(row[k] for k in keys): row["n"] for row in qs.values(*keys).annotate(n=Count("id"))})

    facts = {
        "query rounds per (query, number)": count(QueryRound.objects, "query__query_ref", "number"),
        "matches per query": count(Match.objects.filter(query__isnull=False), "query__query_ref"),
        "matches per partner request": count(Match.objects.filter(partner_request__isnull=False), "partner_request__request_ref"),
        "responses per (query, round)": count(PartnerResponse.objects.filter(query__isnull=False), "query__query_ref",
                                              "round__number"),
        "responses per augmentation": count(PartnerResponse.objects.filter(augmentation__isnull=False), "augmentation__augment_ref"),
        "query transitions per (query, to_status)": count(QueryTransition.objects, "query__query_ref", "to_status"),
        "partner requests per (partner, request_ref)": count(PartnerRequest.objects, "partner_id", "request_ref"),
        "request transitions per (request, to_status)": count(RequestTransition.objects, "partner_request__request_ref",
                                                              "to_status"),
        "decisions per (request, stage, outcome)": count(Decision.objects.filter(partner_request__isnull=False),
                                                         "partner_request__request_ref", "stage", "outcome"),
        "decisions per (query, stage, outcome)": count(Decision.objects.filter(query__isnull=False), "query__query_ref", "stage",
                                                       "outcome"),
        "ICTS cases per request": count(IctsCase.objects, "partner_request__request_ref"),
        "ICTS case transitions per (case, to_status)": count(CaseTransition.objects, "case__case_number", "to_status"),
        "disclosure records per (exchange, reference)": count(DisclosureRecord.objects, "message_type", "reference"),
        "augmentations per augment_ref": count(Augmentation.objects, "augment_ref"),
    }
    return {"outbox": outbox, "inbound": inbound, "queries": queries, "facts": facts}


def gather_sim(session, base_url: str) -> dict:
    out = {}
    for name in ("received", "outbound", "requests", "queries"):
        resp = session.get(f"{base_url}/_sim/{name}", timeout=120)
        resp.raise_for_status()
        out[name] = resp.json()
    return out


# --- the table ------------------------------------------------------------------------------------------------


def table(ledger: Ledger) -> str:
    widths = [max(len(c), 7) for c in COLUMNS]
    head = " | ".join(c.rjust(w) for c, w in zip(COLUMNS, widths, strict=True))
    rule = "-+-".join("-" * w for w in widths)
    row = " | ".join(str(ledger.columns.get(c, 0)).rjust(w) for c, w in zip(COLUMNS, widths, strict=True))
    return f"{head}\n{rule}\n{row}"
