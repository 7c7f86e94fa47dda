"""Run the same action from several threads at once, each on its own database connection.

Used with `transactional_db`: every thread commits for real, so PostgreSQL's row locks decide who goes first and
the other finds the state that the first left. Results come back in call order as ("ok", value) or ("error", exc).
"""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_at_once(*calls: Callable[[], object], timeout: float = 60.0) -> list[tuple[str, object]]:
    from django.db import connections

    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, object] | None] = [None] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[i] = ("ok", call())
        except BaseException as exc:  # the assertion inspects it
            results[i] = ("error", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a concurrent call did not finish (deadlock?)"
    return results  # type: ignore[return-value]


def one_ok_rest_refused(results, *, code: str = "wrong_state") -> object:
    """Exactly one call succeeded; every other was refused with a domain error of `code`. Returns the success."""
    from cpms.core.errors import DomainError

    oks = [value for kind, value in results if kind == "ok"]
    errors = [value for kind, value in results if kind == "error"]
    assert len(oks) == 1, f"expected exactly one success, got {results}"
    for exc in errors:
        assert isinstance(exc, DomainError) and exc.code == code, f"expected a {code} refusal, got {exc!r}"
    return oks[0]
