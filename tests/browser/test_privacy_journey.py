"""Outbound screening and the privacy officer's console, in Chromium, on the demo data (docs/demo-data.md), end to end:
the real web app (live server), a real Celery worker and the IDENT simulator (tests/integration/harness.py).

- officer2's case ZAR2690000007 (Chinedu Okafor fears persecution in Australia): the Partners table says Australia
  cannot be queried and why, and the new-query form does not offer Australia.
- officer's query to Canada about ZAR2690000003 (Петренко Олег, a T nonimmigrant) is held for a privacy officer.
- privacy_officer finds it under Referrals, sends it with a justification; the page says it was sent.
- privacy_officer finds Петренко Олег by "Petrenko" (People) and reads the disclosure and the protected-status
  decision on his timeline; the accounting shows the agreement it went under.

Every main page is saved at 1280 px and 390 px wide in var/screenshots/issue9/<step>-<width>.png, and at 390 px the
page must not scroll sideways (every page is saved first; the widths are checked at the end).
"""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management import call_command
from playwright.sync_api import Page, expect

from cpms.core.demo_data import DEMO_PASSWORD
from cpms.queries.models import InternationalQuery
from tests.browser.pages import assert_page_healthy, go_to, log_in, log_out
from tests.integration.harness import Stack

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "issue9"
WIDE, NARROW = 1280, 390
OKAFOR_CASE = "ZAR2690000007"
PETRENKO_CASE = "ZAR2690000003"
JUSTIFICATION = "Canada's match is needed to check the T-visa holder's account of his travel; consent on file."


# The outermost elements that reach past the right edge (what makes the page scroll sideways), for the report.
WIDEST_ELEMENTS = """(limit) => {
  const name = el => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
    ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const right = el.getBoundingClientRect().right;
    if (right > limit + 1 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > limit + 1)) {
      out.push(`${name(el.parentElement)} > ${name(el)} (right edge ${Math.round(right)} px)`);
    }
  }
  return out.slice(0, 5).join('; ');
}"""


class Screens:
    """Saves a page at both widths and measures, at 390 px, whether it scrolls sideways."""

    def __init__(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.overflowing: list[str] = []
        self.saved: list[Path] = []

    def shoot(self, page: Page, step: str) -> None:
        for width in (WIDE, NARROW):
            page.set_viewport_size({"width": width, "height": 900 if width == WIDE else 844})
            page.wait_for_load_state("networkidle")  # images and icons the new width brings in
            page.wait_for_timeout(150)  # let the layout settle at the new width
            path = SCREENSHOTS / f"{step}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            self.saved.append(path)
            if width == NARROW:
                scroll_width, inner_width = page.evaluate(
                    "() => [document.documentElement.scrollWidth, window.innerWidth]")
                if scroll_width > inner_width + 1:
                    self.overflowing.append(f"{step} ({page.url}): scrollWidth {scroll_width} > innerWidth {inner_width}; "
                                            f"widest: {page.evaluate(WIDEST_ELEMENTS, inner_width)}")
        page.set_viewport_size({"width": WIDE, "height": 900})

    def assert_no_sideways_scroll(self) -> None:
        assert not self.overflowing, "pages that scroll sideways at 390 px:\n" + "\n".join(self.overflowing)


def partners_row(page: Page, name: str):
    return page.locator("table").filter(has_text="Who can be asked about this person").get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=re.compile(rf"^{name}\b")))


def test_screening_hold_and_privacy_officer_console(cpms_stack: Stack, new_page, tmp_path: Path):
    live = cpms_stack.live_url
    call_command("seed_demo")
    screens = Screens()

    # --- a. officer2: Okafor fears persecution in Australia --------------------------------------------------------
    page = new_page()
    log_in(page, live, "officer2", DEMO_PASSWORD, lands_on="My cases")
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
    screens.shoot(page, "01-officer2-case-okafor")

    page.get_by_role("link", name="New query").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Query a partner about"))
    expect(page.get_by_role("radio", name="Canada")).to_have_count(1)
    expect(page.get_by_role("radio", name=re.compile("Australia"))).to_have_count(0)
    expect(page.locator("form").get_by_text("Australia")).to_have_count(0)
    screens.shoot(page, "02-officer2-new-query-okafor")
    assert_page_healthy(page)
    log_out(page)

    # --- b. officer: a query about Петренко Олег (T nonimmigrant) is held ------------------------------------------
    log_in(page, live, "officer", DEMO_PASSWORD, lands_on="My cases")
    page.get_by_role("link", name=PETRENKO_CASE).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {PETRENKO_CASE}")
    expect(page.get_by_text("Петренко").first).to_be_visible()
    screens.shoot(page, "03-officer-case-petrenko")
    page.get_by_role("link", name="New query").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Query a partner about"))
    page.get_by_text("Canada", exact=True).click()
    expect(page.get_by_role("radio", name="Canada")).to_be_checked()
    page.get_by_label("Reason").select_option(label="Asylum claimant")
    page.get_by_text("High", exact=True).click()
    screens.shoot(page, "04-officer-new-query-petrenko")
    page.get_by_role("button", name="Submit the query").click()

    query = InternationalQuery.objects.get(case__receipt_number=PETRENKO_CASE, partner_id="CAN")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Query {query.query_ref}")
    expect(page.get_by_text(re.compile(r"privacy officer must clear")).first).to_be_visible()
    expect(page.get_by_text(f"Query {query.query_ref} is held").first).to_be_visible()
    assert query.status == "held_privacy", query.status
    screens.shoot(page, "05-officer-query-held")
    assert_page_healthy(page)
    log_out(page)

    # --- c. privacy_officer: Referrals, the held query, Send -------------------------------------------------------
    log_in(page, live, "privacy_officer", DEMO_PASSWORD)
    go_to(page, "Referrals", "Referrals")
    expect(page.get_by_role("heading", name="Queries held before they were sent")).to_be_visible()
    held = page.get_by_role("row").filter(has=page.get_by_role("link", name=query.query_ref))
    expect(held).to_contain_text("Canada")
    expect(held).to_contain_text(PETRENKO_CASE)
    expect(held).to_contain_text("Петренко")
    screens.shoot(page, "06-privacy-referrals")
    held.get_by_role("link", name=query.query_ref).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Query {query.query_ref} to Canada")
    expect(page.get_by_role("heading", name="Protected-status decisions")).to_be_visible()
    expect(page.get_by_role("heading", name="Decide this query")).to_be_visible()
    screens.shoot(page, "07-privacy-held-query")
    page.get_by_text(re.compile(r"^Send: the query goes to the partner now")).click()
    expect(page.get_by_role("radio", name=re.compile(r"^Send"))).to_be_checked()
    page.get_by_label("Justification").fill(JUSTIFICATION)
    page.get_by_role("button", name="Record the decision").click()

    expect(page.get_by_text(f"Sent: query {query.query_ref} went to Canada through IDENT.")).to_be_visible()
    expect(page.get_by_role("heading", name="Decide this query")).to_have_count(0)
    expect(page.get_by_text(JUSTIFICATION).first).to_be_visible()
    query.refresh_from_db()
    assert query.status != "held_privacy", query.status
    screens.shoot(page, "08-privacy-query-sent")
    assert_page_healthy(page)

    # --- d. privacy_officer: People, "Petrenko", the timeline ------------------------------------------------------
    go_to(page, "People", "Find a person")
    screens.shoot(page, "09-privacy-people")
    page.get_by_role("search").get_by_role("searchbox").fill("Petrenko")
    page.get_by_role("search").get_by_role("button", name="Find").click()
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
    screens.shoot(page, "10-privacy-timeline-petrenko")

    # The accounting of disclosures: the query to Canada, with the agreement it went under.
    page.get_by_role("link", name="Accounting of disclosures").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounting of disclosures")
    row = page.get_by_role("row").filter(has_text="Our fingerprint query")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Canada")
    expect(row).to_contain_text(query.agreement.label)
    screens.shoot(page, "11-privacy-accounting-petrenko")
    assert_page_healthy(page)

    screens.assert_no_sideways_scroll()
