"""Publishing a task after commit, where a broker outage can never turn a committed write into an error.

Redis is a fast path only: every piece of work a task does is also found by a sweep from the database (the outbox
by `next_attempt_at`, inbound messages by `processed_at`, partner requests and ICTS cases by their status). So when
publishing fails after the commit, the write stands, the caller is answered as committed (202, a redirect, 201),
and the sweep does the work once Redis is back. Nothing here knows any CPMS app.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

log = logging.getLogger(__name__)


def publish_now(func: Callable[..., object], *args) -> bool:
    """Call `func(*args)` (which enqueues a task); on any failure log it and return False instead of raising."""
    try:
        func(*args)
    except Exception as exc:  # kombu.OperationalError, redis.ConnectionError, a timeout: the sweep recovers the work
        log.warning("could not publish %s%r (%s: %s); the sweep will do it", getattr(func, "__name__", func), args,
                    exc.__class__.__name__, exc)
        return False
    return True


def on_commit_publish(func: Callable[..., object], *args) -> None:
    """After the current transaction commits, publish `func(*args)`; never raises into the committed request."""
    transaction.on_commit(lambda: publish_now(func, *args))
