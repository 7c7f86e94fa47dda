"""Test settings: a real PostgreSQL and Redis on 127.0.0.1 unless the environment says otherwise."""

import os

os.environ.setdefault("CPMS_ALLOW_INSECURE_KEY", "1")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cpms")
os.environ.setdefault("IDENT_SHARED_SECRET", "test-shared-secret")

from .base import *  # noqa: E402,F403
from .base import VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Unit tests run tasks in-process and check what was enqueued; integration tests start a real worker
# with REDIS_URL in its environment.
CELERY_TASK_ALWAYS_EAGER = True
# The audit tables refuse TRUNCATE (audit migration 0003) unless the session allows it; Django's flush between
# transactional tests truncates every table, so every test connection allows it. Never set outside the tests.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c cpms.audit_truncate=allow"  # noqa: F405
MEDIA_ROOT = VAR_DIR / "test-media"
STORAGES["default"]["OPTIONS"]["location"] = str(MEDIA_ROOT)  # noqa: F405
