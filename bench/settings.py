"""Benchmark settings: the production settings plus a bare baseline view (bench/urls.py)."""

from cpms.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
