"""An officer refers a partner's answer to an FDNS fraud analyst, in Chromium: the analyst finds it under
"Referred to me", reads it without being able to act on it, and loses it the moment the officer revokes."""

from __future__ import annotations

from django.db import transaction
from playwright.sync_api import Page, expect

from cpms.queries import services
from tests.browser.audit import assert_all_clean
from tests.browser.pages import assert_page_healthy, go_to, log_in, log_out
from tests.factories import AgreementFactory, CaseFactory, PersonFactory, UserFactory, response_message, result_message, store_inbound
from tests.fakes import ident_accepts_everything


def answered_query(officer):
    AgreementFactory(partner__code="CAN")
    case = CaseFactory(receipt_number="ZAR2690000001", person=PersonFactory(fin="FIN1000000001"), officers=[officer])
    query = services.query_submit(actor=officer, case=case, partner_code="CAN", reason="asylum_claimant", priority="high")
    for message, record in ((result_message(query), services.round1_record_result),
                            (response_message(query), services.round_record_response)):
        with transaction.atomic():  # as ident_bridge's processing transaction calls them
            record(message=message, inbound=store_inbound(message))
    return query


def test_officer_refers_to_fdns_and_revokes(live_server, transactional_db, page: Page, monkeypatch, audit):
    ident_accepts_everything(monkeypatch)  # the query's outbox message; the partner's answer is stored directly
    officer = UserFactory(username="officer", role="officer")
    UserFactory(username="fdns_analyst", role="fdns_analyst", first_name="Farah", last_name="Nasser")
    UserFactory(username="fdns_other", role="fdns_analyst")
    query = answered_query(officer)
    query_url = f"{live_server.url}/queries/{query.pk}/"
    officer_pages, fdns_pages = audit("officer-fdns-referral"), audit("fdns-analyst")

    log_in(page, live_server.url, "officer", lands_on="Your work")
    page.goto(query_url)
    expect(page.get_by_text("Not referred to FDNS.")).to_be_visible()
    page.get_by_role("link", name="Refer to FDNS").click()
    page.get_by_role("button", name="Refer to FDNS").click()  # nothing filled in: the form says what to fix
    expect(page.get_by_text("Choose the FDNS analyst to refer the results to.").first).to_be_visible()
    officer_pages.check(page, "refer-errors")
    page.get_by_label("FDNS analyst").select_option(label="Farah Nasser (fdns_analyst)")
    page.get_by_label("Why FDNS should look at these results").fill("Passport number differs from the A-File")
    page.get_by_label("Access for (days)").fill("14")
    page.get_by_role("button", name="Refer to FDNS").click()
    expect(page.get_by_text("Referred to Farah Nasser until")).to_be_visible()
    expect(page.get_by_text("Passport number differs from the A-File")).to_be_visible()
    officer_pages.check(page, "query-referred")
    log_out(page)

    log_in(page, live_server.url, "fdns_analyst", lands_on="Your work")
    fdns_pages.check(page, "home")
    go_to(page, "Referred to me", "Referred to me")
    fdns_pages.check(page, "referred-to-me")
    page.get_by_role("link", name=query.query_ref).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Query {query.query_ref}")
    expect(page.get_by_text("Protected person").first).to_be_visible()
    fdns_pages.check(page, "query")
    for action in ("Ask for a third round", "Close query", "Refer to FDNS"):
        expect(page.get_by_role("link", name=action)).to_have_count(0)
        expect(page.get_by_role("button", name=action)).to_have_count(0)
    log_out(page)

    log_in(page, live_server.url, "fdns_other", lands_on="Your work")
    assert page.goto(query_url).status == 404
    log_out(page)

    log_in(page, live_server.url, "officer", lands_on="Your work")
    page.goto(query_url)
    page.get_by_text("Revoke…").click()  # two steps: the disclosure, then the confirming button (issue 18, finding 11)
    page.get_by_role("button", name="Yes, revoke the referral").click()
    expect(page.get_by_text("The referral to Farah Nasser is revoked.")).to_be_visible()
    log_out(page)

    log_in(page, live_server.url, "fdns_analyst", lands_on="Your work")
    go_to(page, "Referred to me", "Referred to me")
    expect(page.get_by_text("Nothing is referred to you now.")).to_be_visible()
    fdns_pages.check(page, "nothing-referred")
    assert page.goto(query_url).status == 404
    assert_page_healthy(page)
    assert_all_clean(officer_pages, fdns_pages)
