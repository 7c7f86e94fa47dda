"""What-if settings for the Celery worker of `bench/no_match_latency.py --what-if`: the production settings, except that
Celery's Django fixup no longer closes the database connection around every task (CELERY_DB_REUSE_MAX). With
BENCH_CLOSE_OLD_CONNECTIONS=1, bench/celery_probe.py calls Django's close_old_connections() around every task instead,
so CONN_MAX_AGE and the closing of a connection after an error still hold (what a request gets from Django)."""

from cpms.settings.base import *  # noqa: F403

CELERY_DB_REUSE_MAX = 1000
