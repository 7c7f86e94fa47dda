"""Signing in and staying signed in: lockout after ten failures, every authentication event on record, the password
policy, idle and absolute session ends, a new session id at sign-in, a bounded number of sessions.
Personas: the account's owner (an officer), someone guessing their password, an administrator who unlocks."""

import time

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse

from cpms.accounts.middleware import LAST_ACTIVITY, SIGNED_IN_AT
from cpms.accounts.models import AuthEvent
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def officer(db):
    user = UserFactory(role="officer", username="olivia")
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(client: Client, username: str, password: str, *, ip: str = "10.0.0.1"):
    """The password step; a successful one is followed by the second factor (its own tests: test_second_factor.py)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.post(reverse("system-use"))
    resp = client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)
    if resp.status_code == 302:
        device, _ = TOTPDevice.objects.get_or_create(user__username=username, name="app",
                                                     defaults={"user": UserFactory._meta.model.objects.get(username=username),
                                                               "confirmed": True})
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return resp


def test_ten_wrong_passwords_lock_the_account_even_for_the_right_one(officer):
    guesser = Client()
    for _ in range(9):
        assert sign_in(guesser, "olivia", "wrong-guess-123456").status_code == 200  # the form again, with its error
    locked = sign_in(guesser, "olivia", "wrong-guess-123456")
    assert locked.status_code == 429 and "locked for 30 minutes" in locked.content.decode()
    # The owner, from another address, with the right password: still locked (per account).
    assert sign_in(Client(), "olivia", PASSWORD, ip="10.9.9.9").status_code == 429
    kinds = list(AuthEvent.objects.filter(username="olivia").values_list("kind", flat=True))
    assert kinds.count("login_failed") >= 10 and "locked_out" in kinds and "login" not in kinds
    reset(username="olivia")  # an administrator unlocks (admin: Access attempts)
    assert sign_in(Client(), "olivia", PASSWORD, ip="10.9.9.9").status_code == 302


def test_the_api_token_endpoint_is_locked_too_with_a_problem_document(officer):
    api = Client()
    body = {"username": "olivia", "password": "nope-nope-nope", "otp": "123456", "accept_system_use": True}
    for _ in range(10):
        api.post(reverse("api-token"), body, content_type="application/json", REMOTE_ADDR="10.0.0.2")
    resp = api.post(reverse("api-token"), body | {"password": PASSWORD}, content_type="application/json", REMOTE_ADDR="10.0.0.2")
    assert resp.status_code == 429 and resp["Content-Type"] == "application/problem+json"
    assert "locked" in resp.json()["detail"]


def test_a_success_and_a_sign_out_are_on_record_and_the_session_id_changes(officer):
    client = Client()
    client.post(reverse("system-use"))
    before = client.cookies["sessionid"].value
    assert sign_in(client, "olivia", PASSWORD).status_code == 302
    assert client.cookies["sessionid"].value != before  # no session fixation
    client.post(reverse("logout"))
    assert list(AuthEvent.objects.filter(user=officer).order_by("at", "id").values_list("kind", flat=True)) == ["login", "logout"]
    assert AuthEvent.objects.filter(user=officer, kind="login").get().ip_address == "10.0.0.1"


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "Password2026", "123456789012", "short1!A", "olivia-olivia"])
def test_weak_passwords_are_refused(officer, password):
    with pytest.raises(ValidationError):
        validate_password(password, user=officer)


def test_a_long_phrase_is_accepted_and_the_change_page_records_it(officer):
    validate_password("tangerine lighthouse on a quiet monday", user=officer)
    client = Client()
    sign_in(client, "olivia", PASSWORD)
    resp = client.post(reverse("password-change"), {"old_password": PASSWORD, "new_password1": "aaaaaaaaaaaa",
                                                    "new_password2": "aaaaaaaaaaaa"})
    assert resp.status_code == 200 and "repeats too few characters" in resp.content.decode()
    resp = client.post(reverse("password-change"), {"old_password": PASSWORD, "new_password1": "tangerine lighthouse on a quiet monday",
                                                    "new_password2": "tangerine lighthouse on a quiet monday"})
    assert resp.status_code == 302 and AuthEvent.objects.filter(user=officer, kind="password_changed").exists()
    assert client.get(reverse("my-cases")).status_code == 200  # still signed in after the change


def _age_session(client, **seconds_ago):
    session = client.session
    now = time.time()
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


def test_an_idle_session_ends_after_fifteen_minutes_and_says_why(officer):
    client = Client()
    sign_in(client, "olivia", PASSWORD)
    assert client.get(reverse("my-cases")).status_code == 200
    _age_session(client, **{LAST_ACTIVITY: 14 * 60})
    assert client.get(reverse("my-cases")).status_code == 200  # 14 minutes: still there, and the clock restarts
    _age_session(client, **{LAST_ACTIVITY: 15 * 60 + 1})
    resp = client.get(reverse("my-cases"))
    assert resp.status_code == 302 and resp["Location"] == reverse("signed-out") + "?reason=idle"
    page = client.get(resp["Location"]).content.decode()
    assert "You have signed out" in page and "15 minutes without activity" in page
    assert client.get(reverse("my-cases")).status_code == 302  # signed out for good
    assert AuthEvent.objects.filter(user=officer, kind="session_expired", detail__contains="no activity").exists()


def test_background_polls_do_not_keep_a_session_alive(officer):
    client = Client()
    sign_in(client, "olivia", PASSWORD)
    client.get(reverse("my-cases"))
    _age_session(client, **{LAST_ACTIVITY: 10 * 60})
    client.get(reverse("notifications"), headers={"X-CPMS-Background": "1"})
    assert time.time() - client.session[LAST_ACTIVITY] >= 10 * 60 - 1  # the poll did not count as activity
    _age_session(client, **{LAST_ACTIVITY: 16 * 60})
    resp = client.get(reverse("notifications"), headers={"X-CPMS-Background": "1", "HX-Request": "true"})
    assert resp.status_code == 204 and resp["HX-Redirect"].startswith(reverse("signed-out"))


def test_stay_signed_in_counts_as_activity(officer):
    client = Client()
    sign_in(client, "olivia", PASSWORD)
    _age_session(client, **{LAST_ACTIVITY: 14 * 60 + 30})
    assert client.post(reverse("keepalive")).status_code == 204
    assert time.time() - client.session[LAST_ACTIVITY] < 5


def test_a_session_ends_twelve_hours_after_sign_in_however_active(officer):
    client = Client()
    sign_in(client, "olivia", PASSWORD)
    _age_session(client, **{SIGNED_IN_AT: 12 * 3600 + 1, LAST_ACTIVITY: 10})
    resp = client.get(reverse("my-cases"))
    assert resp["Location"] == reverse("signed-out") + "?reason=absolute"


@override_settings(SESSION_LIMIT_PER_USER=2)
def test_a_fourth_sign_in_ends_the_oldest_session(officer):
    clients = [Client() for _ in range(3)]
    for c in clients:
        sign_in(c, "olivia", PASSWORD)
    assert clients[0].get(reverse("my-cases")).status_code == 302  # the oldest was ended
    assert all(c.get(reverse("my-cases")).status_code == 200 for c in clients[1:])
    assert Session.objects.count() == 2
    assert AuthEvent.objects.filter(user=officer, kind="session_evicted").count() == 1
    assert AccessAttempt.objects.count() == 0  # successes leave no failure record behind


def test_the_token_endpoint_is_throttled_with_a_problem_document(db, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    cache.clear()
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    api = Client()
    body = {"username": "nobody", "password": "x", "otp": "1", "accept_system_use": True}
    answers = [api.post(reverse("api-token"), body, content_type="application/json", REMOTE_ADDR="10.1.1.1") for _ in range(4)]
    assert [a.status_code for a in answers] == [400, 400, 400, 429]
    assert answers[-1]["Content-Type"] == "application/problem+json" and int(answers[-1]["Retry-After"]) > 0
    cache.clear()
