"""Headers on every kind of response, and the production settings of the README passing `check --deploy` silently.
Personas: an officer (pages, API), an anonymous visitor (the sign-in page)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import CaseFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "SECRET_KEY": "k" * 20 + "Qz9#vX!2mP$7wL@4nR&8tY^1bC*6dF(0",  # 52 characters, varied: not "insecure"
    "IDENT_SHARED_SECRET": "s" * 40, "AUDIT_CHAIN_KEY": "a" * 40, "DEBUG": "0", "HTTPS": "1",
    "ALLOWED_HOSTS": "cpms.example.gov", "CSRF_TRUSTED_ORIGINS": "https://cpms.example.gov",
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cpms"),
    "AUDIT_ANCHOR_FILE": "/var/lib/cpms-anchors/audit-anchors.jsonl",
}


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("CPMS_ALLOW_INSECURE_KEY", "DJANGO_SETTINGS_MODULE")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=clean | {"DJANGO_SETTINGS_MODULE": "cpms.settings.base"} | env,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_silent_for_the_production_settings():
    done = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert done.returncode == 0 and "no issues" in done.stdout, done.stdout + done.stderr


def test_the_audit_chain_key_is_required_outside_development():
    done = manage("check", env={k: v for k, v in PRODUCTION_ENV.items() if k != "AUDIT_CHAIN_KEY"})
    assert done.returncode != 0 and "AUDIT_CHAIN_KEY is not set" in done.stderr


def test_a_production_start_without_an_anchor_file_fails_check_deploy():
    done = manage("check", "--deploy", env={k: v for k, v in PRODUCTION_ENV.items() if k != "AUDIT_ANCHOR_FILE"})
    assert done.returncode != 0 and "cpms.audit.E001" in done.stderr and "AUDIT_ANCHOR_FILE is not set" in done.stderr


def test_behind_the_proxy_plain_http_is_redirected_and_https_gets_hsts():
    code = ("from django.test import Client; c = Client(); r = c.get('/system-use/'); print(r.status_code, r['Location']); "
            "r = c.get('/system-use/', headers={'X-Forwarded-Proto': 'https'}); print(r.status_code, r['Strict-Transport-Security'])")
    done = manage("shell", "--no-imports", "-c", code, env=PRODUCTION_ENV | {"ALLOWED_HOSTS": "testserver"})
    lines = done.stdout.split("\n")
    assert lines[0] == "301 https://testserver/system-use/", done.stdout + done.stderr
    assert lines[1] == "200 max-age=31536000; includeSubDomains; preload"


@pytest.fixture
def officer_client(db):
    officer = UserFactory(role="officer")
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(officer)
    return client, CaseFactory(officers=[officer])


def assert_hardened(resp):
    csp = resp["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "no-store" in resp["Cache-Control"] and "private" in resp["Cache-Control"]
    assert resp["X-Content-Type-Options"] == "nosniff" and resp["Referrer-Policy"] == "same-origin"
    assert "camera=()" in resp["Permissions-Policy"] and resp["X-Frame-Options"] == "DENY"


def test_pages_api_and_the_sign_in_page_carry_the_headers(officer_client):
    client, case = officer_client
    assert_hardened(client.get(reverse("case-detail", args=[case.pk])))
    assert_hardened(client.get(reverse("api-case-list")))
    assert_hardened(Client().get(reverse("login")))


def test_no_page_has_inline_script_or_style(officer_client):
    """The policy forbids them; a template that adds one would break in the browser, so it fails here first."""
    client, case = officer_client
    for url in (reverse("case-detail", args=[case.pk]), reverse("query-new", args=[case.pk]), reverse("my-cases")):
        html = client.get(url).content.decode()
        assert "<script>" not in html and "<style" not in html and ' style="' not in html and " onclick=" not in html, url


def test_a_nul_character_is_a_clear_400_on_pages_and_the_api(officer_client):
    client, _ = officer_client
    api = client.get(reverse("api-case-list"), {"search": "a\x00b"})
    assert api.status_code == 400 and api["Content-Type"] == "application/problem+json"
    assert api.json()["errors"][0]["pointer"] == "/search"
    page = client.get(reverse("my-cases"), {"q": "a\x00b"})
    assert page.status_code == 400 and "NUL character" in page.content.decode()
    # The IDENT door keeps its own rules: a form-encoded POST there is its business (401 unsigned), not a 500.
    assert Client().post("/ident/v1/messages", {"x": "y"}).status_code in (400, 401, 411, 415)
