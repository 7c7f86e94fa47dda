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


class AnchorBehind(Exception):
    """The chain's head is behind a link anchored earlier: never anchored over."""


@dataclass(frozen=True)
class Anchor:
    at: str
    seq: int
    hash: str
    entries: int | None = None  # audit entries in the chain when anchored (None: a line written before it was kept)


def _mac(seq: int, head_hash: str, at: str, entries: int | None = None) -> str:
    key = settings.AUDIT_CHAIN_KEY.encode("utf-8")
    text = f"anchor|{seq}|{head_hash}|{at}" + ("" if entries is None else f"|{entries}")
    return hmac.new(key, text.encode("ascii"), hashlib.sha256).hexdigest()


def anchor_write() -> Anchor:
    """Append the current head and the number of entries it chains (one line of JSON, flushed and fsynced). Every
    entry is one link and links are never removed, so the head's position is that number: no COUNT over the tables."""
    head = ChainHead.objects.filter(id=1).first()
    seq, head_hash = (head.seq, head.hash) if head else (0, "0" * 64)
    highest = max((a.seq for a in anchors()[0]), default=0)
    if seq < highest:
        # The head went back: links were removed from the end. Anchoring it would, after enough later anchors, push the
        # evidence out of the part of the file verify() reads; refuse, loudly, until a person has looked.
        raise AnchorBehind(f"the chain's head is at link {seq}, behind link {highest} anchored earlier: links were removed "
                           "from the end of the chain; nothing was anchored (run manage.py verify_audit)")
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    line = json.dumps({"at": at, "seq": seq, "hash": head_hash, "entries": seq, "mac": _mac(seq, head_hash, at, seq)},
                      separators=(",", ":"))
    path = settings.AUDIT_ANCHOR_FILE
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a", encoding="ascii") as f:  # append only; nothing here ever rewrites the file
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())
    return Anchor(at, seq, head_hash, seq)


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
            entries = int(row["entries"]) if "entries" in row else None
            anchor = Anchor(row["at"], int(row["seq"]), row["hash"], entries)
            if hmac.compare_digest(row["mac"], _mac(anchor.seq, anchor.hash, anchor.at, entries)):
                good.append(anchor)
            else:
                problems.append(f"the anchor of {anchor.at} does not verify (edited, or written without the key)")
        except (ValueError, KeyError, TypeError):
            continue  # a partial first line of the tail we read
    return good, problems


NO_ANCHOR = ("no anchor of the chain's head was found in AUDIT_ANCHOR_FILE ({path}): the end of the chain cannot be "
             "verified, so links removed from its end, or a chain emptied whole, would go unnoticed")


def check_against_anchors(*, links: int, allow_unanchored: bool = False) -> tuple[bool, list[str]]:
    """(anchored, problems): every anchored link must still be in the chain, with the hash it had when it was anchored,
    and the chain must hold at least as many entries as it did then (`links`: the links verify() walked). Without an
    anchor that verifies, the end of the chain is unverifiable: a problem, unless the caller accepts it (development,
    or the very first verification of a new installation)."""
    good, problems = anchors()
    if not good:
        if not allow_unanchored:
            problems.append(NO_ANCHOR.format(path=settings.AUDIT_ANCHOR_FILE))
        return False, problems
    latest = max(good, key=lambda a: a.seq)
    link = ChainLink.objects.filter(seq=latest.seq).first() if latest.seq else None
    if latest.seq and link is None:
        last = ChainLink.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        problems.append(f"the chain ends at link {last}, but it reached link {latest.seq} when anchored at {latest.at}: "
                        f"links {last + 1}..{latest.seq} were removed")
    elif link is not None and link.hash != latest.hash:
        problems.append(f"link {latest.seq} is not the link anchored at {latest.at}: the chain was rewritten from there back")
    counted = max((a for a in good if a.entries is not None), key=lambda a: a.entries, default=None)
    if counted is not None and links < counted.entries:
        problems.append(f"the chain holds {links} entries, but it held {counted.entries} when anchored at {counted.at}: "
                        f"{counted.entries - links} were removed")
    return True, problems
