"""An empty Celery task on the CPMS app, for bench/no_match_latency.py (the worker imports it: `-I bench.celery_probe`).

The task body does nothing. When it has returned, a `task_postrun` handler (outside the body, for this task only)
pushes "<token> <time.time()>" onto a Redis list of the broker's database, which the benchmark pops: enqueue to
finish, on one clock. (For `--what-if` it also hooks Django's close_old_connections around every task; see
bench/worker_settings.py.)
"""

from __future__ import annotations

import os
import time

from celery.signals import task_postrun, task_prerun

from cpms.celery import app

EMPTY_TASK = "bench.probe.empty"
FINISHED_KEY = "bench:probe:finished"

_redis = None


@app.task(name=EMPTY_TASK, ignore_result=True)
def empty(token: str) -> None:
    return None


@task_postrun.connect
def _record_finish(sender=None, args=None, **_kwargs) -> None:
    if sender is None or sender.name != EMPTY_TASK:
        return
    finished = time.time()
    global _redis
    if _redis is None:
        import redis
        from django.conf import settings

        _redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5)
    _redis.rpush(FINISHED_KEY, f"{args[0]} {finished!r}")


if os.environ.get("BENCH_CLOSE_OLD_CONNECTIONS") == "1":  # the what-if worker only (bench/worker_settings.py)

    @task_prerun.connect
    @task_postrun.connect
    def _close_old_connections(**_kwargs) -> None:
        from django.db import close_old_connections

        close_old_connections()
