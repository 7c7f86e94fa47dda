"""The chain's head, anchored outside the audit tables: an append-only file (AUDIT_ANCHOR_FILE; in production on storage
the database's owners cannot rewrite, e.g. a write-once mount or another host) gets the head's position and hash,
HMAC'd with AUDIT_CHAIN_KEY, every few minutes (beat: audit-anchor) and at every verification. Removing the tail of
the chain and moving the head back then no longer verifies: the chain must still reach every anchored link."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from .models import ChainHead, ChainLink


@dataclass(frozen=True)
class Anchor:
    at: str
    seq: int
    hash: str


def _mac(seq: int, head_hash: str, at: str) -> str:
    key = settings.AUDIT_CHAIN_KEY.encode("utf-8")
    return hmac.new(key, f"anchor|{seq}|{head_hash}|{at}".encode("ascii"), hashlib.sha256).hexdigest()


def anchor_write() -> Anchor:
    """Append the current head (one line of JSON, flushed and fsynced) and return it."""
    head = ChainHead.objects.filter(id=1).first()
    seq, head_hash = (head.seq, head.hash) if head else (0, "0" * 64)
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    line = json.dumps({"at": at, "seq": seq, "hash": head_hash, "mac": _mac(seq, head_hash, at)}, separators=(",", ":"))
    path = settings.AUDIT_ANCHOR_FILE
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a", encoding="ascii") as f:  # append only; nothing here ever rewrites the file
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
    return Anchor(at, seq, head_hash)


def anchors(*, last: int = 200) -> tuple[list[Anchor], list[str]]:
    """The last anchors whose MAC verifies, oldest first, and the problems with lines that do not (forged, edited)."""
    path = settings.AUDIT_ANCHOR_FILE
    if not os.path.exists(path):
        return [], []
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(f.tell() - 200 * last, 0))
        tail = f.read().decode("ascii", errors="replace").splitlines()[-last:]
    good, problems = [], []
    for line in tail:
        try:
            row = json.loads(line)
            anchor = Anchor(row["at"], int(row["seq"]), row["hash"])
            if hmac.compare_digest(row["mac"], _mac(anchor.seq, anchor.hash, anchor.at)):
                good.append(anchor)
            else:
                problems.append(f"the anchor of {anchor.at} does not verify (edited, or written without the key)")
        except (ValueError, KeyError, TypeError):
            continue  # a partial first line of the tail we read
    return good, problems


def check_against_anchors() -> list[str]:
    """Every anchored link must still be in the chain, with the hash it had when it was anchored."""
    good, problems = anchors()
    if not good:
        return problems
    latest = max(good, key=lambda a: a.seq)
    link = ChainLink.objects.filter(seq=latest.seq).first() if latest.seq else None
    if latest.seq and link is None:
        last = ChainLink.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        problems.append(f"the chain ends at link {last}, but it reached link {latest.seq} when anchored at {latest.at}: "
                        f"links {last + 1}..{latest.seq} were removed")
    elif link is not None and link.hash != latest.hash:
        problems.append(f"link {latest.seq} is not the link anchored at {latest.at}: the chain was rewritten from there back")
    return problems
