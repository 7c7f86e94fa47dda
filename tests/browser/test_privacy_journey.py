"""Outbound screening and the privacy officer's console, in Chromium, on the demo data (docs/demo-data.md), end to end:
the real web app (live server), a real Celery worker and the IDENT simulator (tests/integration/harness.py).

- officer2's case ZAR2690000007 (Chinedu Okafor fears persecution in Australia): the Partners table says Australia
  cannot be queried and why, and the new-query form does not offer Australia.
- officer's query to Canada about ZAR2690000003 (Петренко Олег, a T nonimmigrant) is held for a privacy officer.
- privacy_officer finds it under Referrals, sends it with a justification; the page says it was sent.
- privacy_officer finds Петренко Олег by "Petrenko" (People) and reads the disclosure and the protected-status
  decision on his timeline; the accounting shows the agreement it went under.

Every page is audited at 1280 px and 390 px wide (tests/browser/audit.py: axe, no sideways scroll at 390 px) and saved
in var/screenshots/<officer-screening|privacy-officer>/; the problems are reported together at the end.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management import call_command
from playwright.sync_api import Page, expect

from cpms.core.demo_data import DEMO_PASSWORD
from cpms.queries.models import InternationalQuery
from tests.browser.audit import assert_all_clean, check_open_menu
from tests.browser.pages import assert_page_healthy, go_to, log_in, log_out
from tests.integration.harness import Stack

OKAFOR_CASE = "ZAR2690000007"
PETRENKO_CASE = "ZAR2690000003"
JUSTIFICATION = "Canada's match is needed to check the T-visa holder's account of his travel; consent on file."


def partners_row(page: Page, name: str):
    return page.locator("table").filter(has_text="Who can be asked about this person").get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=re.compile(rf"^{name}\b")))


def test_screening_hold_and_privacy_officer_console(cpms_stack: Stack, new_page, tmp_path: Path, audit):
    live = cpms_stack.live_url
    call_command("seed_demo")
    officer_pages, privacy_pages = audit("officer-screening"), audit("privacy-officer")

    # --- a. officer2: Okafor fears persecution in Australia --------------------------------------------------------
    page = new_page()
    log_in(page, live, "officer2", DEMO_PASSWORD, lands_on="Your work")
    go_to(page, "My cases", "My cases")
    page.get_by_role("link", name=OKAFOR_CASE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {OKAFOR_CASE}")
    expect(page.get_by_text("Chinedu").first).to_be_visible()
    australia = partners_row(page, "Australia")
    expect(australia).to_have_count(1)
    expect(australia.get_by_role("cell").nth(0)).to_have_text("No")
    why = australia.get_by_role("cell").nth(1)
    expect(why).not_to_be_empty()
    # Officers are told the outcome and its authority, never the protected class (8 U.S.C. 1367 confidentiality).
    expect(why).to_contain_text("Not permitted")
    expect(why).to_contain_text("8 CFR 208.6")
    expect(partners_row(page, "Canada").get_by_role("cell").nth(0)).to_have_text("Yes")
    officer_pages.check(page, "officer2-case-okafor")

    page.get_by_role("link", name="New query").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Query a partner about"))
    expect(page.get_by_role("radio", name="Canada")).to_have_count(1)
    expect(page.get_by_role("radio", name=re.compile("Australia"))).to_have_count(0)
    expect(page.locator("form").get_by_text("Australia")).to_have_count(0)
    officer_pages.check(page, "officer2-new-query-okafor")
    assert_page_healthy(page)
    log_out(page)

    # --- b. officer: a query about Петренко Олег (T nonimmigrant) is held ------------------------------------------
    log_in(page, live, "officer", DEMO_PASSWORD, lands_on="Your work")
    go_to(page, "My cases", "My cases")
    page.get_by_role("link", name=PETRENKO_CASE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {PETRENKO_CASE}")
    expect(page.get_by_text("Петренко").first).to_be_visible()
    officer_pages.check(page, "officer-case-petrenko")
    page.get_by_role("link", name="New query").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Query a partner about"))
    page.get_by_text("Canada", exact=True).click()
    expect(page.get_by_role("radio", name="Canada")).to_be_checked()
    page.get_by_label("Reason").select_option(label="Asylum claimant")
    page.get_by_text("High", exact=True).click()
    officer_pages.check(page, "officer-new-query-petrenko")
    page.get_by_role("button", name="Submit the query").click()

    query = InternationalQuery.objects.get(case__receipt_number=PETRENKO_CASE, partner_id="CAN")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Query {query.query_ref}")
    expect(page.get_by_text(re.compile(r"privacy officer must clear")).first).to_be_visible()
    expect(page.get_by_text(f"Query {query.query_ref} is held").first).to_be_visible()
    assert query.status == "held_privacy", query.status
    officer_pages.check(page, "officer-query-held")
    assert_page_healthy(page)
    log_out(page)

    # --- c. privacy_officer: Referrals, the held query, Send -------------------------------------------------------
    log_in(page, live, "privacy_officer", DEMO_PASSWORD)
    privacy_pages.check(page, "home")
    check_open_menu(page, privacy_pages)  # the role with the most links: the phone's menu drawer
    go_to(page, "Referrals", "Referrals")
    expect(page.get_by_role("heading", name="Queries held before they were sent")).to_be_visible()
    held = page.get_by_role("row").filter(has=page.get_by_role("link", name=query.query_ref))
    expect(held).to_contain_text("Canada")
    expect(held).to_contain_text(PETRENKO_CASE)
    expect(held).to_contain_text("Петренко")
    privacy_pages.check(page, "referrals")
    held.get_by_role("link", name=query.query_ref).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Query {query.query_ref} to Canada")
    expect(page.get_by_role("heading", name="Protected-status decisions")).to_be_visible()
    expect(page.get_by_role("heading", name="Decide this query")).to_be_visible()
    privacy_pages.check(page, "held-query")
    page.get_by_text(re.compile(r"^Send: the query goes to the partner now")).click()
    expect(page.get_by_role("radio", name=re.compile(r"^Send"))).to_be_checked()
    page.get_by_label("Justification").fill(JUSTIFICATION)
    page.get_by_role("button", name="Record the decision").click()

    expect(page.get_by_text(f"Sent: query {query.query_ref} went to Canada through IDENT.")).to_be_visible()
    expect(page.get_by_role("heading", name="Decide this query")).to_have_count(0)
    expect(page.get_by_text(JUSTIFICATION).first).to_be_visible()
    query.refresh_from_db()
    assert query.status != "held_privacy", query.status
    privacy_pages.check(page, "query-sent")
    assert_page_healthy(page)

    # --- d. privacy_officer: People, "Petrenko", the timeline ------------------------------------------------------
    go_to(page, "People", "Find a person")
    privacy_pages.check(page, "people")
    page.get_by_role("search", name="Find a person").get_by_role("searchbox").fill("Petrenko")
    page.get_by_role("search", name="Find a person").get_by_role("button", name="Find").click()
    if page.get_by_role("heading", level=1).inner_text() == "Find a person":  # more than one match: a list
        page.get_by_role("link", name=re.compile("Петренко")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Петренко"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Олег")
    timeline = page.locator("ol.cpms-timeline")
    disclosure = timeline.locator("li").filter(has_text="Our fingerprint query to Canada")
    expect(disclosure.first).to_be_visible()
    expect(disclosure.first).to_contain_text("Disclosure")
    decisions = timeline.locator("li").filter(has_text="Protected-status decision")
    expect(decisions.first).to_be_visible()
    privacy_pages.check(page, "timeline-petrenko")

    # The accounting of disclosures: the query to Canada, with the agreement it went under.
    page.get_by_role("link", name="Accounting of disclosures").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounting of disclosures")
    row = page.get_by_role("row").filter(has_text="Our fingerprint query")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Canada")
    expect(row).to_contain_text(query.agreement.label)
    privacy_pages.check(page, "accounting-petrenko")
    assert_page_healthy(page)

    # --- e. privacy_officer: the decisions, the accounting search, the access log, the audit chain ------------------
    go_to(page, "Decisions", "Protected-status decisions")
    privacy_pages.check(page, "decisions")
    go_to(page, "Accounting", "Accounting of disclosures")
    privacy_pages.check(page, "accounting-search")
    go_to(page, "Access log", "Access log")
    privacy_pages.check(page, "access-log")
    go_to(page, "Audit", "Audit chain")
    privacy_pages.check(page, "audit")
    assert_page_healthy(page)

    assert_all_clean(officer_pages, privacy_pages)
