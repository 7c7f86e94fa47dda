"""An asylum officer's query to Canada, in Chromium, end to end: the real web app (live server), a real Celery
worker and the IDENT simulator (tests/integration/harness.py), nothing stubbed between the click and the partner.

The simulator's Canadian gallery holds FIN1000000001 (Amal Haddad, UCI 12345678): round 1 is a match, round 2
follows by itself with a photograph and a passport data page, round 3 is answered once (docs/simulator.md).
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from cpms.core.models import Notification
from cpms.core.reference_data import load_reference_data
from cpms.queries.models import InternationalQuery, ResponseAttachment
from cpms.queries.services import query_submit
from ident_bridge.models import OutboxMessage
from tests.browser.pages import assert_page_healthy, go_to, log_in, primary_nav
from tests.factories import CaseFactory, PersonFactory, UserFactory
from tests.integration.harness import Stack, describe_query

PARTNER_WAIT_MS = 45_000  # the query page polls every 5 s (htmx); the simulator answers within a second or two
RECEIPT = "ZAR2690000001"


def timeline_round(page: Page, number: int):
    """The <li> of the query page's timeline for round `number`."""
    return page.locator("li.usa-process-list__item").filter(
        has=page.get_by_role("heading", name=re.compile(rf"^Round {number}:")))


def officer_with_case(username: str = "officer"):
    load_reference_data()  # Canada's and Australia's agreements allow USCIS queries (PIA Appendix A)
    officer = UserFactory(username=username, first_name="Olivia", last_name="Ortega", role="officer")
    person = PersonFactory(fin="FIN1000000001", a_number="A201234567")
    case = CaseFactory(receipt_number=RECEIPT, person=person, officers=[officer])
    return officer, case


def test_officer_queries_canada_gets_three_rounds_and_prints_for_the_a_file(cpms_stack: Stack, page: Page, audit):
    live = cpms_stack.live_url
    officer, case = officer_with_case()
    pages = audit("officer")  # every page below at 1280 and 390 px: axe, no sideways scroll, screenshots

    log_in(page, live, "officer", lands_on="Your work")
    pages.check(page, "home")
    go_to(page, "My cases", "My cases")
    pages.check(page, "my-cases")
    # The header's search box: a name typed in lower case finds the case, and only what the officer may open.
    page.get_by_role("search", name="Search everything you may see").get_by_role("searchbox").fill("haddad")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Search")
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    pages.check(page, "search")
    page.get_by_role("link", name=f"Case {RECEIPT}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {RECEIPT}")
    expect(page.get_by_text("No partner has been queried about this person yet")).to_be_visible()
    pages.check(page, "case")

    # --- round 1: the officer's query ------------------------------------------------------------------------
    page.get_by_role("link", name="New query").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Query a partner about"))
    expect(page.get_by_text("FIN FIN1000000001")).to_be_visible()
    page.get_by_text("Canada", exact=True).click()  # USWDS tiles: the label is what one clicks
    expect(page.get_by_role("radio", name="Canada")).to_be_checked()
    page.get_by_label("Reason").select_option(label="Asylum claimant")
    page.get_by_text("High", exact=True).click()
    expect(page.get_by_role("radio", name="High")).to_be_checked()
    pages.check(page, "new-query")
    page.get_by_role("button", name="Submit the query").click()

    expect(page.get_by_text("Query sent to Canada through IDENT.")).to_be_visible()
    query = InternationalQuery.objects.get(case=case)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Query {query.query_ref}")
    assert page.url == f"{live}/queries/{query.pk}/"
    summary = page.locator(".cpms-summary")
    expect(summary).to_contain_text("Canada (CAN)")
    expect(summary).to_contain_text("Asylum claimant")
    expect(summary).to_contain_text("High")

    # The page polls (htmx, every 5 s) and shows the match, then round 2, without a reload.
    round1 = timeline_round(page, 1)
    expect(round1.locator(".cpms-result")).to_contain_text("Match", timeout=PARTNER_WAIT_MS)
    expect(round1).to_contain_text("12345678")  # the partner person id (UCI)
    expect(round1).to_contain_text("Haddad")

    round2 = timeline_round(page, 2)
    expect(round2.get_by_role("heading", name=re.compile("^Response from"))).to_be_visible(timeout=PARTNER_WAIT_MS)
    expect(page.locator(".cpms-summary")).to_contain_text("Partner responded")
    photo = ResponseAttachment.objects.get(response__query=query, response__round__number=2, kind="photograph")
    image = round2.get_by_role("img", name=re.compile(r"^Photograph provided by Canada"))
    expect(image).to_have_attribute("src", f"/queries/{query.pk}/attachments/{photo.pk}/")
    # The browser really fetched and decoded it (the attachment view, with the officer's session).
    for img in round2.get_by_role("img").all():
        width = img.evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)")
        assert width > 0, f"{img.get_attribute('src')} did not load as an image"

    # The badge counts the partner's answers (match, round 2) the officer has not read yet.
    page.reload()
    unread = Notification.objects.filter(user=officer, read_at__isnull=True).count()
    assert unread >= 2, describe_query(query.pk)
    expect(primary_nav(page).get_by_role("link", name=re.compile("Notifications"))).to_contain_text(f"{unread} unread")
    pages.check(page, "query-round-2")

    # --- round 3: the officer's follow-up ----------------------------------------------------------------------
    page.get_by_role("link", name="Ask for a third round").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask Canada for a third round")
    page.get_by_text("Immigration history", exact=True).click()
    page.get_by_text("Document images", exact=True).click()
    expect(page.get_by_role("checkbox", name="Immigration history")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Document images")).to_be_checked()
    page.get_by_label("Justification").fill("The applicant's account of travel through Canada needs checking.")
    pages.check(page, "round-3")
    page.get_by_role("button", name="Send round 3 through IDENT").click()

    expect(page.get_by_text("Round 3 sent to Canada through IDENT.")).to_be_visible()
    round3 = timeline_round(page, 3)
    expect(round3).to_contain_text("Immigration history, Document images")
    expect(round3.get_by_role("heading", name=re.compile("^Response from"))).to_be_visible(timeout=PARTNER_WAIT_MS)
    expect(page.locator(".cpms-summary")).to_contain_text("Completed (three rounds)")
    expect(page.get_by_role("link", name="Ask for a third round")).to_have_count(0)
    pages.check(page, "query-completed")

    # --- no fourth round: the page says why instead of offering the form, and nothing is sent -------------------
    sent_before = OutboxMessage.objects.count()
    page.goto(f"{live}/queries/{query.pk}/round3/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask Canada for a third round")
    refusal = page.get_by_role("status").filter(has_text="Round 3 cannot be asked")
    expect(refusal).to_contain_text("already had its three rounds")
    expect(page.get_by_role("button", name="Send round 3 through IDENT")).to_have_count(0)
    assert OutboxMessage.objects.count() == sent_before
    assert query.rounds.count() == 3
    pages.check(page, "round-4-not-offered")

    # --- the A-File copy ---------------------------------------------------------------------------------------
    refusal.get_by_role("link", name="Back to the query").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Query {query.query_ref}")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Print for the A-File (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"{query.query_ref}.pdf"
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000, pdf[:200]

    # --- notifications and the account page -------------------------------------------------------------------
    primary_nav(page).get_by_role("link", name=re.compile("Notifications")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    pages.check(page, "notifications")
    page.locator("header a[href='/accounts/']").first.click()  # the user's name in the header
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    pages.check(page, "account")

    assert_page_healthy(page)
    pages.assert_clean()


def test_a_colleague_not_assigned_to_the_case_gets_page_not_found(cpms_stack: Stack, page: Page):
    officer, case = officer_with_case()
    query = query_submit(actor=officer, case=case, partner_code="CAN", reason="asylum_claimant", priority="high")
    colleague = UserFactory(username="officer2", role="officer")
    CaseFactory(receipt_number="ZAR2690000007", person=PersonFactory(fin="FIN1000000007"), officers=[colleague])

    log_in(page, cpms_stack.live_url, "officer2", lands_on="Your work")
    go_to(page, "My cases", "My cases")
    expect(page.get_by_role("link", name="ZAR2690000007")).to_be_visible()
    expect(page.get_by_role("link", name=RECEIPT)).to_have_count(0)

    for path in (f"/queries/{query.pk}/", f"/cases/{case.pk}/", f"/queries/{query.pk}/round3/"):
        response = page.goto(cpms_stack.live_url + path)
        assert response is not None and response.status == 404, f"{path}: {response and response.status}"
        expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
        expect(page.get_by_text(query.query_ref)).to_have_count(0)
        expect(page.get_by_text("Haddad")).to_have_count(0)
    # The PDF and the live timeline are no way round it either.
    for path in (f"/queries/{query.pk}/print/", f"/queries/{query.pk}/timeline/"):
        response = page.request.get(cpms_stack.live_url + path)
        assert response.status == 404, f"{path}: {response.status}"
    assert_page_healthy(page)
