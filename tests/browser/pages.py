"""What browser tests do on CPMS's pages, the way a person does it: through the system-use notification, the
sign-in form and the navigation. (Fixtures are in tests/browser/conftest.py.)"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

PASSWORD = "pw-for-tests-only"  # tests.factories.UserFactory's password


def log_in(page: Page, live_url: str, username: str, password: str = PASSWORD, *, lands_on: str | None = None) -> None:
    """Open CPMS, accept the system-use notification (the first page anyone sees), sign in.

    `lands_on`: the h1 of the page the user's role is expected to land on after signing in."""
    page.goto(f"{live_url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("System use notification")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to CPMS")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    second_factor(page, username)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    if lands_on is not None:
        expect(page.get_by_role("heading", level=1)).to_have_text(lands_on)


_LAST_STEP: dict[str, int] = {}


def totp_code(key: bytes, username: str) -> str:
    """A code the server accepts now: django-otp refuses a time step already used (replay), and accepts one step ahead,
    so a second sign-in within 30 seconds uses the next step (or waits for it)."""
    import time

    from django_otp.oath import TOTP

    while True:
        now = int(time.time()) // 30
        step = max(now, _LAST_STEP.get(username, -1) + 1)
        if step <= now + 1:
            break
        time.sleep(1)
    _LAST_STEP[username] = step
    totp = TOTP(key)
    totp.time = step * 30
    return f"{totp.token():06d}"


def second_factor(page: Page, username: str) -> None:
    """Enrol an authenticator (the first sign-in: read the key off the page) or enter the current code."""
    from base64 import b32decode

    from django_otp.plugins.otp_totp.models import TOTPDevice

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile("Set up your second factor|Enter your code"))
    if heading.inner_text() == "Set up your second factor":
        secret = page.locator("#totp-secret").inner_text()
        key = b32decode(secret + "=" * (-len(secret) % 8))
        page.get_by_label("Code from the app").fill(totp_code(key, username))
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your backup codes")
        page.get_by_role("link", name="I have kept them: continue").click()
        return
    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    page.get_by_label("Code").fill(totp_code(device.bin_key, username))
    page.get_by_role("button", name="Continue").click()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    expect(page).not_to_have_url(re.compile(r"/accounts/logout/"))


def primary_nav(page: Page):
    return page.get_by_role("navigation", name="Primary navigation")


def go_to(page: Page, link: str, heading: str) -> None:
    """Follow a link of the primary navigation; `heading` is the h1 of the page it opens."""
    primary_nav(page).get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def assert_page_healthy(page: Page) -> None:
    """No uncaught script error in the page so far, and every static asset (USWDS, htmx, cpms.js) loaded."""
    log = getattr(page, "cpms_log", None)
    assert log is not None, "not a page opened by the `page`/`new_page` fixtures"
    # A request the browser cancelled because the page navigated on (net::ERR_ABORTED: a favicon or a font still
    # loading when a link is followed) is not a problem; a missing or refused asset is.
    problems = [e for e in log.entries if e.startswith("page error")
                or ("/static/" in e and not e.startswith("console") and "net::ERR_ABORTED" not in e)]
    assert not problems, "the page had problems:\n" + "\n".join(problems)
