"""Fixtures every test shares. Factories live in tests/factories.py; the integration harness (real worker,
Redis, PostgreSQL and IDENT simulator) in tests/integration/harness.py.

Markers (registered in pyproject.toml) are applied by directory, so a test cannot forget its own:
tests/integration/ is `integration`, tests/browser/ is `browser`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The integration harness's fixtures (cpms_stack, celery_to_redis, integration_redis_url), registered here so
# that its asserts are rewritten and any test directory can use them.
pytest_plugins = ["tests.integration.harness"]

MARKER_BY_DIRECTORY = {"integration": "integration", "browser": "browser"}
# Tests that talk to real processes over HTTP, on purpose.
NETWORK_MARKERS = ("integration", "browser")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_dir = Path(__file__).resolve().parent
    for item in items:
        try:
            first = Path(str(item.path)).resolve().relative_to(tests_dir).parts[0]
        except (ValueError, IndexError):
            continue
        marker = MARKER_BY_DIRECTORY.get(first)
        if marker and not item.get_closest_marker(marker):
            item.add_marker(marker)


@pytest.fixture(scope="session")
def cpms_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This session's VAR_DIR. A subprocess started with CPMS_VAR_DIR=<it> (or CPMS_MEDIA_ROOT=<it>/test-media)
    stores partner files exactly where the tests read them."""
    return tmp_path_factory.mktemp("cpms-var")


@pytest.fixture(scope="session", autouse=True)
def media_root(cpms_var_dir: Path):
    """Partner files written by tests go to a fresh directory per session, never into the repository's var/."""
    from django.conf import settings
    from django.test.utils import override_settings

    media = cpms_var_dir / "test-media"
    media.mkdir(parents=True, exist_ok=True)
    default = dict(settings.STORAGES["default"])
    default["OPTIONS"] = {**default.get("OPTIONS", {}), "location": str(media)}
    with override_settings(MEDIA_ROOT=media, STORAGES={**settings.STORAGES, "default": default}):
        yield media


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest):
    """pytest-django's live server, made to work with CPMS's MEDIA_URL = None (partner files are never served
    by URL, only through access-checked views).

    Django's LiveServerThread wraps the app in a media-files handler built from MEDIA_URL, and with None that
    handler fails every request. A MEDIA_URL on another host makes the handler step aside for good: like
    production, the live server serves no media.
    """
    from django.test.utils import override_settings
    from pytest_django.live_server_helper import LiveServer

    addr = request.config.getvalue("liveserver") or os.getenv("DJANGO_LIVE_TEST_SERVER_ADDRESS") or "localhost"
    with override_settings(MEDIA_URL="http://media.invalid/"):
        server = LiveServer(addr)  # the handlers are built before this returns
    yield server
    server.stop()


class NetworkUsedInUnitTest(AssertionError):
    pass


@pytest.fixture(autouse=True)
def no_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never reach IDENT: the outbox's default transport refuses to be built.

    Tests that exercise sending pass their own transport (`outbox_deliver(pk, transport=...)`); integration
    and browser tests (by marker) talk to a real simulator and are left alone.
    """
    if any(request.node.get_closest_marker(name) for name in NETWORK_MARKERS):
        return

    def refuse():
        raise NetworkUsedInUnitTest(
            "A unit test tried to send to IDENT over the network (ident_bridge.outbox.default_transport). "
            "Pass a fake transport to outbox_deliver(..., transport=...), or write an integration test "
            "(tests/integration/) if the real simulator is meant."
        )

    monkeypatch.setattr("ident_bridge.outbox.default_transport", refuse)


@pytest.fixture(autouse=True)
def force_login_completes_the_second_factor(monkeypatch: pytest.MonkeyPatch) -> None:
    """`client.force_login(user)` stands for a finished sign-in, second factor included (as the browser tests do it
    through the real pages, and tests/cpms/test_second_factor.py tests the pages themselves)."""
    from django.test import Client

    original = Client.force_login

    def force_login(self, user, backend=None):
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        original(self, user, backend)
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or \
            TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True)
def audit_anchors_of_this_test(settings, tmp_path) -> None:
    """Each test anchors its own chain: the database is new (or emptied) for every test, the anchor file must be too."""
    settings.AUDIT_ANCHOR_FILE = str(tmp_path / "audit-anchors.jsonl")
