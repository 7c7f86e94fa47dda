"""`make demo`'s wrong address (issue 18, finding 10): CPMS's own "Page not found", with the header and a way back, never
Django's technical 404 page (what DEBUG shows). The demo's settings are scripts/demo.py's DEMO_ENV."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from scripts.demo import DEMO_ENV
from tests.factories import UserFactory


def demo_debug() -> bool:
    return DEMO_ENV["DEBUG"].strip().lower() in ("1", "true", "yes", "on")


def test_the_demo_runs_without_debug():
    assert not demo_debug()


@pytest.mark.parametrize("role", ["officer", "icts_analyst"])
def test_a_wrong_address_in_the_demo_is_cpms_page_not_found(db, role):
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(UserFactory(role=role))
    with override_settings(DEBUG=demo_debug()):
        resp = client.get("/no-such-page/")
    html = resp.content.decode()
    assert resp.status_code == 404
    assert "<h1>Page not found</h1>" in html and "Using the URLconf" not in html
    assert f'href="{reverse("home")}">your work</a>' in html and "<header" in html
