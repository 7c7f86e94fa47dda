"""The second factor: enrolment at the first sign-in (QR code, first code, backup codes), a code at every sign-in after,
backup codes used once, the API token's code, the administrator's reset. Personas: a new officer (owner), someone
with the password only, an administrator."""

from base64 import b32decode

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from cpms.accounts.models import AuthEvent
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def no_throttle(settings):
    """django-otp slows down guessing (a wrong code delays the next try); these tests type a wrong code and then the
    right one at once. test_a_wrong_code_slows_the_next_try keeps the throttle."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def officer(db):
    user = UserFactory(role="officer", username="newcomer")
    user.set_password(PASSWORD)
    user.save()
    return user


def password_only(client: Client, username="newcomer"):
    client.post(reverse("system-use"))
    return client.post(reverse("login"), {"username": username, "password": PASSWORD})


def code_for(key: bytes, step_offset: int = 0) -> str:
    import time

    totp = TOTP(key)
    totp.time = (int(time.time()) // 30 + step_offset) * 30
    return f"{totp.token():06d}"


def test_a_newcomer_must_enrol_before_any_page(officer):
    client = Client()
    assert password_only(client).status_code == 302
    resp = client.get(reverse("my-cases"))
    assert resp.status_code == 302 and resp["Location"].startswith(reverse("mfa"))
    page = client.get(resp["Location"]).content.decode()
    assert "Set up your second factor" in page and 'src="data:image/svg+xml' in page
    assert client.get(reverse("api-case-list")).status_code in (401, 403)  # the API does not take a half-done session


def test_enrolment_confirms_with_the_first_code_and_shows_backup_codes_once(officer):
    client = Client()
    password_only(client)
    client.get(reverse("mfa"))
    device = TOTPDevice.objects.get(user=officer, confirmed=False)
    wrong = client.post(reverse("mfa"), {"token": "000000" if code_for(device.bin_key) != "000000" else "111111"})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    done = client.post(reverse("mfa"), {"token": code_for(device.bin_key), "next": "/cases/"})
    assert done.status_code == 302 and done["Location"].startswith(reverse("mfa-backup-codes"))
    codes_page = client.get(done["Location"]).content.decode()
    codes = [t.token for t in StaticToken.objects.filter(device__user=officer)]
    assert len(codes) == 10 and all(c in codes_page for c in codes)
    assert client.get(reverse("mfa-backup-codes")).status_code == 302  # shown once
    assert client.get(reverse("my-cases")).status_code == 200
    assert AuthEvent.objects.filter(user=officer, kind="mfa_enrolled").exists()


def test_the_next_sign_in_asks_for_a_code_and_a_backup_code_works_once(officer):
    device = TOTPDevice.objects.create(user=officer, name="app", confirmed=True)
    from cpms.accounts.mfa import backup_codes_new

    backup = backup_codes_new(officer)[0]
    client = Client()
    password_only(client)
    page = client.get(reverse("mfa")).content.decode()
    assert "Enter your code" in page and "Set up" not in page
    assert client.post(reverse("mfa"), {"token": backup}).status_code == 302
    assert client.get(reverse("my-cases")).status_code == 200
    again = Client()
    password_only(again)
    assert again.post(reverse("mfa"), {"token": backup}).status_code == 400  # a backup code works once
    assert again.post(reverse("mfa"), {"token": code_for(device.bin_key)}).status_code == 302
    assert AuthEvent.objects.filter(user=officer, kind="mfa_failed").count() == 1


def test_the_api_token_needs_the_code_and_the_system_use_notification(officer):
    device = TOTPDevice.objects.create(user=officer, name="app", confirmed=True)
    api = Client()
    body = {"username": "newcomer", "password": PASSWORD, "otp": "123456", "accept_system_use": True}
    refused = api.post(reverse("api-token"), body | {"otp": "000000" if code_for(device.bin_key) != "000000" else "111111"},
                       content_type="application/json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["pointer"] == "/otp"
    unaccepted = api.post(reverse("api-token"), body | {"otp": code_for(device.bin_key), "accept_system_use": False},
                          content_type="application/json")
    assert unaccepted.status_code == 400 and "system-use" in unaccepted.content.decode()
    first = api.post(reverse("api-token"), body | {"otp": code_for(device.bin_key, 1)}, content_type="application/json")
    assert first.status_code == 200 and first.json()["expires_in_hours"] == 8.0
    token = first.json()["token"]
    assert api.get(reverse("api-case-list"), HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    from cpms.accounts.mfa import backup_codes_new

    second = api.post(reverse("api-token"), body | {"otp": backup_codes_new(officer)[0]}, content_type="application/json")
    assert second.json()["token"] != token  # rotated: the first stops working
    assert api.get(reverse("api-case-list"), HTTP_AUTHORIZATION=f"Token {token}").status_code == 401


def test_an_expired_token_and_sign_out_revoke(officer):
    from datetime import timedelta

    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=officer)
    api = Client()
    assert api.get(reverse("api-case-list"), HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(hours=9))
    resp = api.get(reverse("api-case-list"), HTTP_AUTHORIZATION=f"Token {token.key}")
    assert resp.status_code == 401 and "expired" in resp.content.decode()
    fresh = Token.objects.create(user=UserFactory(role="officer"))
    browser = Client()
    browser.post(reverse("system-use"))
    browser.force_login(fresh.user)
    assert browser.post(reverse("logout")).status_code == 302
    assert not Token.objects.filter(pk=fresh.pk).exists()


def test_an_administrator_resets_a_lost_second_factor_on_record(officer, client):
    TOTPDevice.objects.create(user=officer, name="app", confirmed=True)
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    client.post(reverse("system-use"))
    resp = client.post(reverse("admin:auth_user_changelist"), {"action": "reset_second_factor", "_selected_action": [officer.pk]},
                       follow=True)
    assert "Second factor reset for 1 user" in resp.content.decode()
    assert not TOTPDevice.objects.filter(user=officer).exists()
    event = AuthEvent.objects.get(user=officer, kind="mfa_reset")
    assert event.detail == f"reset by {admin.get_full_name()}"  # a name, as everywhere else
    again = Client()
    password_only(again)
    assert "Set up your second factor" in again.get(reverse("mfa")).content.decode()


def test_the_proxy_seam_is_off_by_default(officer, settings):
    client = Client()
    password_only(client)
    assert client.get(reverse("my-cases"), HTTP_X_CPMS_PIV_VERIFIED="verified").status_code == 302  # ignored
    settings.MFA_TRUSTED_PROXY_HEADER = "HTTP_X_CPMS_PIV_VERIFIED"
    assert client.get(reverse("my-cases"), HTTP_X_CPMS_PIV_VERIFIED="verified").status_code == 200


def test_the_demo_code_script_matches_the_pre_enrolled_device(db):
    import subprocess
    import sys
    from pathlib import Path

    from django.core.management import call_command

    call_command("seed_demo", verbosity=0)
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "scripts/demo_code.py", "officer"], cwd=root, capture_output=True, text=True).stdout
    device = TOTPDevice.objects.get(user__username="officer")
    assert out.split()[0] in {code_for(device.bin_key, 0), code_for(device.bin_key, -1), code_for(device.bin_key, 1)}
    secret = out.rsplit(" ", 1)[-1].strip(" )\n")
    assert b32decode(secret) == device.bin_key


def test_a_wrong_code_slows_the_next_try(officer, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    device = TOTPDevice.objects.create(user=officer, name="app", confirmed=True)
    client = Client()
    password_only(client)
    wrong = "000000" if code_for(device.bin_key) != "000000" else "111111"
    assert client.post(reverse("mfa"), {"token": wrong}).status_code == 400
    assert client.post(reverse("mfa"), {"token": code_for(device.bin_key)}).status_code == 400  # throttled for a second
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1


def test_the_owner_sees_and_revokes_their_token_on_the_account_page(officer):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=officer)
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(officer)
    page = client.get(reverse("account")).content.decode()
    assert "Revoke the token" in page and "stops working" in page
    client.post(reverse("token-revoke"))
    assert not Token.objects.filter(pk=token.pk).exists()
    assert AuthEvent.objects.filter(user=officer, kind="token_revoked", detail="revoked by its owner").exists()
    assert "You have no API token" in client.get(reverse("account")).content.decode()


def test_no_navigation_before_the_second_factor(officer):
    client = Client()
    password_only(client)
    page = client.get(reverse("mfa")).content.decode()
    assert '<ul class="usa-nav__primary usa-accordion" hidden>' in page and "Log out" in page


def test_the_idle_warning_has_its_clock_before_the_second_factor_too(officer):
    client = Client()
    password_only(client)
    assert 'data-idle-seconds="900"' in client.get(reverse("mfa")).content.decode()
