"""The tamper-evident chain (HMAC-SHA256, keyed outside the database). Appending takes the head row's lock, so links are totally ordered; the lock is
held to the end of the writing transaction (the price of a chain without gaps; see docs/audit.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from .models import AccessLogEntry, ChainHead, ChainLink

GENESIS = "0" * 64
LOGENTRY_FIELDS = ("id", "content_type_id", "object_pk", "object_id", "object_repr", "serialized_data", "action",
                   "changes_text", "changes", "actor_id", "cid", "remote_addr", "remote_port", "timestamp", "additional_data",
                   "actor_email")
ACCESS_FIELDS = ("id", "at", "user_id", "action", "object_type", "object_id", "person_id", "path", "method", "remote_addr",
                 "context")


def _canonical(row: dict) -> bytes:
    return json.dumps(row, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode("utf-8")


def entry_digest(row: dict) -> str:
    return hashlib.sha256(_canonical(row)).hexdigest()


def link_hash(prev_hash: str, kind: str, entry_id: int, digest: str) -> str:
    """Keyed with AUDIT_CHAIN_KEY, which is not in the database: someone who can rewrite every audit row still
    cannot forge a chain that verifies."""
    key = settings.AUDIT_CHAIN_KEY.encode("utf-8")
    return hmac.new(key, f"{prev_hash}|{kind}|{entry_id}|{digest}".encode("ascii"), hashlib.sha256).hexdigest()


def _rows(kind: str, ids) -> dict[int, dict]:
    from auditlog.models import LogEntry

    model, fields = (LogEntry, LOGENTRY_FIELDS) if kind == ChainLink.Kind.LOGENTRY else (AccessLogEntry, ACCESS_FIELDS)
    return {r["id"]: r for r in model.objects.filter(pk__in=list(ids)).values(*fields)}


def stored_row(instance, fields) -> dict:
    """The entry as verify() will read it back: JSON values round-tripped (jsonb keeps values, not formatting; the
    digest sorts keys), the rest as saved. Saves reading every entry back on the hot path; test_audit_chain checks
    that a chain written this way verifies."""
    row = {}
    for name in fields:
        field = instance._meta.get_field(name) if name != "id" else None
        value = getattr(instance, field.attname if field is not None else "pk")
        if field is not None and value is not None:
            if field.get_internal_type() == "JSONField":
                value = json.loads(json.dumps(value, cls=getattr(field, "encoder", None)))
            else:  # as the column gives it back: auditlog's object_pk is an int in memory, text in the table
                value = field.to_python(value)
        row[name] = value
    return row


def append(kind: str, entry_id: int, *, instance=None) -> None:
    """Add one entry to the end of the chain, in the writing transaction.

    On PostgreSQL the common case is one statement: a guarded UPDATE of the head (it must still be where this
    connection last left it) and the INSERT of the link, in one CTE. The UPDATE takes the head's row lock, so links
    stay totally ordered; if another transaction moved the head, or a savepoint rolled back our last link, the guard
    matches nothing and the head is read again under FOR UPDATE. No savepoint of its own: if anything in the
    transaction fails, entry and link roll back together.
    """
    if instance is not None:
        row = stored_row(instance, LOGENTRY_FIELDS if kind == ChainLink.Kind.LOGENTRY else ACCESS_FIELDS)
    else:  # read back from the database: the digest is of what is stored
        row = _rows(kind, [entry_id])[entry_id]
    digest = entry_digest(row)
    connection = transaction.get_connection()
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            cached = getattr(connection, "_cpms_chain_head", None)
            if cached is not None and _append_after(connection, cached, kind, entry_id, digest):
                return
            head, _ = ChainHead.objects.select_for_update().get_or_create(id=1)
            if not _append_after(connection, (head.seq, head.hash), kind, entry_id, digest):
                raise RuntimeError("the audit chain's head moved while locked")
            return
        head, _ = ChainHead.objects.select_for_update().get_or_create(id=1)
        seq, new_hash = head.seq + 1, link_hash(head.hash, kind, entry_id, digest)
        ChainLink.objects.create(seq=seq, kind=kind, entry_id=entry_id, digest=digest, prev_hash=head.hash, hash=new_hash)
        head.seq, head.hash = seq, new_hash
        head.save(update_fields=["seq", "hash"])


_APPEND_SQL = f"""
    WITH moved AS (
        UPDATE {ChainHead._meta.db_table} SET seq = %(seq)s, hash = %(hash)s
        WHERE id = 1 AND seq = %(prev_seq)s AND hash = %(prev_hash)s RETURNING id)
    INSERT INTO {ChainLink._meta.db_table} (seq, kind, entry_id, digest, prev_hash, hash)
    SELECT %(seq)s, %(kind)s, %(entry_id)s, %(digest)s, %(prev_hash)s, %(hash)s FROM moved"""


def _append_after(connection, head: tuple[int, str], kind: str, entry_id: int, digest: str) -> bool:
    prev_seq, prev_hash = head
    seq, new_hash = prev_seq + 1, link_hash(prev_hash, kind, entry_id, digest)
    with connection.cursor() as cursor:
        cursor.execute(_APPEND_SQL, {"seq": seq, "hash": new_hash, "prev_seq": prev_seq, "prev_hash": prev_hash, "kind": kind,
                                     "entry_id": entry_id, "digest": digest})
        moved = cursor.rowcount == 1
    connection._cpms_chain_head = (seq, new_hash) if moved else None
    return moved


def on_logentry_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        append(ChainLink.Kind.LOGENTRY, instance.pk, instance=instance)


@dataclass
class Report:
    links: int = 0
    problems: list[str] = field(default_factory=list)
    anchored: bool = False  # an anchor outside the database vouched for the end of the chain

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(*, batch: int = 5000, max_problems: int = 1000, allow_unanchored: bool = False) -> Report:
    """Walk the chain in order and recompute everything; check its end against the anchors kept outside the database
    (without one the end cannot be verified: a problem unless `allow_unanchored`); then look for entries the chain
    does not know."""
    from auditlog.models import LogEntry

    report = Report()
    expected_prev, expected_seq, last_seq = GENESIS, 1, 0
    while len(report.problems) < max_problems:
        links = list(ChainLink.objects.filter(seq__gt=last_seq).order_by("seq")[:batch])
        if not links:
            break
        by_kind: dict[str, list[int]] = {}
        for link in links:
            by_kind.setdefault(link.kind, []).append(link.entry_id)
        rows = {kind: _rows(kind, ids) for kind, ids in by_kind.items()}
        for link in links:
            report.links += 1
            if link.seq != expected_seq:
                report.problems.append(f"links {expected_seq}..{link.seq - 1} are missing (removed from the chain)")
            if link.prev_hash != expected_prev:
                report.problems.append(f"link {link.seq}: does not follow the link before it (chain reordered or rewritten)")
            row = rows[link.kind].get(link.entry_id)
            if row is None:
                report.problems.append(f"link {link.seq}: {link.kind} entry {link.entry_id} was removed")
            elif entry_digest(row) != link.digest:
                report.problems.append(f"link {link.seq}: {link.kind} entry {link.entry_id} was changed after it was written")
            if link_hash(link.prev_hash, link.kind, link.entry_id, link.digest) != link.hash:
                report.problems.append(f"link {link.seq}: its hash does not match its content (link edited)")
            expected_prev, expected_seq, last_seq = link.hash, link.seq + 1, link.seq
    head = ChainHead.objects.filter(id=1).first()
    if head and (head.seq != last_seq or head.hash != expected_prev):
        report.problems.append(f"the chain ends at link {last_seq} but its head says {head.seq}: links at the end were removed")
    from .anchor import check_against_anchors

    report.anchored, anchor_problems = check_against_anchors(links=report.links, allow_unanchored=allow_unanchored)
    report.problems += anchor_problems
    for kind, model in ((ChainLink.Kind.LOGENTRY, LogEntry), (ChainLink.Kind.ACCESS, AccessLogEntry)):
        chained = ChainLink.objects.filter(kind=kind).values("entry_id")
        orphans = list(model.objects.exclude(pk__in=chained).values_list("pk", flat=True)[:20])
        if orphans:
            report.problems.append(f"{kind} entries {orphans} are not in the chain (inserted behind the application's back)")
    return report
