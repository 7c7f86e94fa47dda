"""The roles whose pages no end-to-end journey walks, in Chromium, on one populated world built directly (tests/worlds.py:
an officer's answered and FDNS-referred query, ICTS cases being prepared and transmitted, a held query): the supervisor,
the ICTS reviewer returning a response (and the analyst reading the comments), the privacy officer's pages that the demo
data leaves empty (decisions, a referred partner's request), and the administrator. Every page is
audited at 1280 and 390 px (tests/browser/audit.py) and saved under var/screenshots/<role>/.

The IDENT flow itself is not the point here: the officer's, ICTS and privacy journeys walk it against the simulator.
"""

from __future__ import annotations

import re

from django.db import transaction
from playwright.sync_api import Page, expect

from cpms.disclosure.services import ruleset_ensure_default
from icts import services as icts_services
from icts.models import IctsCase
from tests.browser.audit import Audit, assert_all_clean
from tests.browser.pages import PASSWORD, assert_page_healthy, log_in, log_out, primary_nav, second_factor
from tests.worlds import build_world


def nav_links(page: Page) -> list[tuple[str, str]]:
    """(name, href) of every link of the primary navigation, as the page shows it now."""
    links = primary_nav(page).locator("a[href]")
    return [(re.sub(r"\s+", " ", link.inner_text()).strip(), link.get_attribute("href")) for link in links.all()]


def audit_every_nav_page(page: Page, pages: Audit, live: str) -> list[str]:
    """Open each page of the primary navigation in turn (as a person clicks through the header) and audit it."""
    landed = page.url.removeprefix(live)
    visited = []
    for name, href in nav_links(page):
        if href == landed:  # the page the person is on (audited already)
            continue
        if not href.startswith("/") or href in visited:
            continue
        primary_nav(page).locator(f"a[href='{href}']").first.click()
        expect(page).to_have_url(re.compile(re.escape(live + href.split("?")[0])))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        pages.check(page, f"nav-{name.split(' ')[0]}")
        visited.append(href)
    return visited


def test_supervisor_reviewer_and_admin_pages(live_server, transactional_db, page: Page, monkeypatch,
                                             django_capture_on_commit_callbacks, audit):
    live = live_server.url
    ruleset_ensure_default()  # an earlier transactional test's flush removed the data migrations' rule sets
    with transaction.atomic():  # build_world is written for a test transaction: its services lock rows
        world = build_world(django_capture_on_commit_callbacks, monkeypatch)
        # As in that transaction, the on-commit work build_world did not run itself never runs (and what it ran, once).
        transaction.get_connection().run_on_commit.clear()
    supervisor_pages, reviewer_pages, analyst_pages, admin_pages = (
        audit("supervisor"), audit("icts-reviewer-return"), audit("icts-analyst-returned"), audit("admin"))

    # --- the supervisor: home, every page of the navigation, a case of the team and its query ----------------------
    log_in(page, live, "m-supervisor")
    supervisor_pages.check(page, "home")
    visited = audit_every_nav_page(page, supervisor_pages, live)
    case_list = next((href for href in visited if href.startswith("/cases/")), "/cases/")
    page.goto(live + case_list)
    page.get_by_role("link", name=world["case"].receipt_number).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {world['case'].receipt_number}")
    supervisor_pages.check(page, "case")
    page.get_by_role("link", name=world["query"].query_ref).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Query {world['query'].query_ref}")
    supervisor_pages.check(page, "query")
    assert_page_healthy(page)
    log_out(page)

    # --- the ICTS reviewer returns a response; the analyst reads why on the form -------------------------------------
    icts_services.package_submit(actor=world.users["icts_analyst"], case=IctsCase.objects.get(pk=world["icts"].pk))
    number = world["icts"].case_number
    log_in(page, live, "m-icts_reviewer")
    reviewer_pages.check(page, "home")
    page.goto(f"{live}/icts/?status=in_review")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=number))
    expect(row).to_contain_text("In review")
    reviewer_pages.check(page, "queue-in-review")
    row.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name="Review the response")).to_be_visible()
    page.locator("label").filter(has_text="Return to the analyst with comments").click()
    page.get_by_role("button", name="Record the review").click()  # no comments: the form says what to do
    expect(page.locator(".usa-error-message").first).to_be_visible()
    reviewer_pages.check(page, "return-without-comments")
    page.locator("label").filter(has_text="Return to the analyst with comments").click()
    page.get_by_role("textbox", name="Comments").fill("The passport scan is not the data page; attach the data page.")
    page.get_by_role("button", name="Record the review").click()
    expect(page.locator(".cpms-page-head")).to_contain_text("Returned")
    reviewer_pages.check(page, "returned")
    assert_page_healthy(page)
    log_out(page)

    log_in(page, live, "m-icts_analyst")
    analyst_pages.check(page, "home")
    page.goto(f"{live}/icts/cases/{world['icts'].pk}/")
    expect(page.get_by_text("attach the data page").first).to_be_visible()
    analyst_pages.check(page, "case-returned")
    page.goto(f"{live}/icts/cases/{world['icts'].pk}/response/")
    expect(page.get_by_role("button", name="Save the response")).to_be_visible()
    analyst_pages.check(page, "response-form-returned")
    assert_page_healthy(page)
    log_out(page)

    # --- the privacy officer: decisions with rows, a referred partner's request, a held query ------------------------
    privacy_pages = audit("privacy-officer-decisions")
    log_in(page, live, "m-privacy_officer")
    page.goto(f"{live}/privacy/decisions/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Protected-status decisions")
    expect(page.get_by_role("link", name="CAN-MX-SENT").first).to_be_visible()
    privacy_pages.check(page, "decisions")
    page.goto(f"{live}/privacy/referrals/")
    page.get_by_role("link", name="CAN-MX-REFER").first.click()
    expect(page.get_by_role("heading", name="Decide this referral")).to_be_visible()
    privacy_pages.check(page, "referred-request")
    page.goto(f"{live}/privacy/referrals/")
    page.get_by_role("link", name=world["held"].query_ref).first.click()
    expect(page.get_by_role("heading", name="Decide this query")).to_be_visible()
    privacy_pages.check(page, "held-query")
    assert_page_healthy(page)
    log_out(page)

    # --- the administrator: the sign-in pages, where they land, the header link to the Django admin ------------------
    page.goto(f"{live}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("System use notification")
    admin_pages.check(page, "system-use")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to CPMS")
    admin_pages.check(page, "sign-in")
    page.get_by_label("Username").fill("m-admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your second factor")
    admin_pages.check(page, "second-factor-enrol")
    second_factor(page, "m-admin")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    admin_pages.check(page, "home")
    page.locator("header a[href='/admin/']").first.click()
    expect(page).to_have_url(f"{live}/admin/")
    # The Django admin is Django's own markup; it passes the same audit, so it stays in it.
    admin_pages.check(page, "django-admin")
    assert_page_healthy(page)

    assert_all_clean(supervisor_pages, reviewer_pages, analyst_pages, privacy_pages, admin_pages)
