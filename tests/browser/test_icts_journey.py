"""A partner's request answered through the ICTS pages, in Chromium, end to end: the IDENT simulator sends Canada's
request, a real Celery worker checks CIS and opens the ICTS case; an analyst prepares the response in the browser,
a reviewer approves it, the worker transmits it, the simulator acknowledges delivery, and OBIM downloads exactly
what was sent. Nothing is stubbed between the pages and the simulator (tests/integration/harness.py).
"""

from __future__ import annotations

import base64
import io
import hashlib
import json
import re
from pathlib import Path

from PIL import Image
from playwright.sync_api import Locator, Page, expect

from cpms.core.reference_data import load_reference_data
from icts.models import IctsCase
from ident_bridge.models import OutboxMessage
from tests.browser.audit import assert_all_clean
from tests.browser.pages import assert_page_healthy, go_to, log_in, log_out
from tests.factories import PersonFactory, UserFactory, cis_record
from tests.integration.harness import Stack, dump

FIN = "FIN1000000001"
# What the analyst puts in the response: a few of the elements Canada's agreement authorises (PIA Appendix A).
INCLUDED = {"Family name": "family_name", "Given names": "given_names", "Date of birth": "date_of_birth", "FIN": "fin"}


def set_checked(page: Page, checkbox: Locator, checked: bool) -> None:
    """USWDS checkboxes and radios hide the input off-screen: a person clicks the label."""
    if checkbox.is_checked() != checked:
        page.locator(f"label[for='{checkbox.get_attribute('id')}']").click()
    expect(checkbox).to_be_checked(checked=checked)


def test_analyst_prepares_reviewer_approves_obim_sees_it_delivered(cpms_stack: Stack, page: Page, tmp_path: Path, audit):
    live = cpms_stack.live_url
    analyst_pages, reviewer_pages, obim_pages = audit("icts-analyst"), audit("icts-reviewer"), audit("obim-analyst")
    load_reference_data()  # Canada's operative agreement: which elements and documents a response may carry
    person = PersonFactory(fin=FIN, a_number="A201234567", family_name="Haddad", given_names="Amal")
    cis_record(person)  # CIS knows the person and holds no protected class: the request may be answered
    UserFactory(username="icts_analyst", first_name="Ana", last_name="Lopez", role="icts_analyst")
    UserFactory(username="icts_reviewer", first_name="Rita", last_name="Moreno", role="icts_reviewer")
    UserFactory(username="obim_analyst", first_name="Omar", last_name="Bakr", role="obim_analyst")

    # Canada asks about FIN1000000001 (ICD request.received, in Canada's own template).
    ref = cpms_stack.sim._control("POST", "requests", {"partner": "CAN", "fin": FIN, "template": "CAN-v1"})["body"]["request_ref"]
    case = cpms_stack.wait_until(
        lambda: IctsCase.objects.filter(partner_request__request_ref=ref).first(), timeout=30,
        what=f"the worker to open an ICTS case for {ref}",
        describe=lambda: dump(list(IctsCase.objects.values("case_number", "status"))))

    # --- the analyst: queue, take, prepare, document, submit ---------------------------------------------------
    log_in(page, live, "icts_analyst", lands_on="Your work")
    analyst_pages.check(page, "home")
    go_to(page, "Work queue", "ICTS work queue")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=case.case_number))
    expect(row).to_contain_text("Canada")
    expect(row).to_contain_text(ref)
    expect(row).to_contain_text("Open (unassigned)")
    analyst_pages.check(page, "queue")
    row.get_by_role("button", name=f"Take case {case.case_number}").click()

    expect(page.get_by_text(f"Case {case.case_number} is assigned to you.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"ICTS case {case.case_number}")
    expect(page.locator(".cpms-page-head")).to_contain_text("Preparing the response")
    analyst_pages.check(page, "case")
    page.get_by_role("link", name="Prepare the response").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Response to Canada request {ref}")
    # Prefilled from the USCIS record, the authorised elements ticked.
    # Not the analyst's own name: the reviewer on the response is the reviewer who approves it (issue 18, finding 8).
    expect(page.get_by_label("Reviewer name")).to_have_value("")
    expect(page.get_by_label("Family name", exact=True)).to_have_value("Haddad")
    expect(page.get_by_label("Date of birth", exact=True)).to_have_value("1985-04-12")
    expect(page.get_by_label("FIN", exact=True)).to_have_value(FIN)
    expect(page.get_by_label("A-Number", exact=True)).to_have_value("A201234567")
    expect(page.get_by_role("checkbox", name="Include Family name in the response")).to_be_checked()

    page.get_by_label("Reviewer name").fill("Rita Moreno")
    includes = page.get_by_role("checkbox", name=re.compile(r"^Include .+ in the response$"))
    assert includes.count() >= len(INCLUDED)
    for checkbox in includes.all():
        label = re.fullmatch(r"Include (.+) in the response", checkbox.evaluate("el => el.labels[0].textContent").strip())[1]
        set_checked(page, checkbox, label in INCLUDED)
    analyst_pages.check(page, "response-form")
    page.get_by_role("button", name="Save the response").click()

    expect(page.get_by_text("The response is saved.")).to_be_visible()
    expect(page.get_by_role("heading", name="Documents")).to_be_visible()
    photo = tmp_path / "photo.png"
    Image.new("RGB", (48, 64), (90, 120, 150)).save(photo, format="PNG")
    # An edit not saved yet goes with the upload, never thrown away (issue 18, finding 4).
    page.get_by_label("Phone (optional)").fill("+1 202 555 0100")
    page.get_by_label("Kind of document").select_option(label="Photograph")
    # USWDS's file input names itself by its drop zone ("Drag file here or choose from folder").
    page.get_by_label("choose from folder").set_input_files(photo)
    page.get_by_role("button", name="Upload the document").click()

    expect(page.get_by_text("photo.png is attached (image/png).")).to_be_visible()
    documents = page.get_by_role("row").filter(has=page.get_by_role("link", name="photo.png"))
    expect(documents).to_contain_text("Photograph")
    expect(documents).not_to_contain_text("Not authorised")
    expect(page.get_by_label("Phone (optional)")).to_have_value("+1 202 555 0100")
    analyst_pages.check(page, "uploaded")
    page.get_by_role("button", name="Submit for review").click()

    expect(page.get_by_text(f"The response for {case.case_number} is submitted for review.")).to_be_visible()
    expect(page.locator(".cpms-page-head")).to_contain_text("In review")
    expect(page.get_by_role("heading", name="Review the response")).to_have_count(0)  # analysts do not review
    analyst_pages.check(page, "submitted")
    assert_page_healthy(page)
    log_out(page)

    # --- the reviewer approves -------------------------------------------------------------------------------
    log_in(page, live, "icts_reviewer", lands_on="Your work")
    reviewer_pages.check(page, "home")
    go_to(page, "Work queue", "ICTS work queue")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=case.case_number))
    expect(row).to_contain_text("In review")
    expect(row).to_contain_text("Ana Lopez")
    reviewer_pages.check(page, "queue")
    row.get_by_role("link", name=case.case_number).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"ICTS case {case.case_number}")
    elements = page.get_by_role("table", name="Data elements in the response")
    for label in INCLUDED:
        expect(elements).to_contain_text(label)
    expect(elements).not_to_contain_text("A-Number")
    expect(page.get_by_role("link", name="photo.png")).to_be_visible()
    reviewer_pages.check(page, "review")
    set_checked(page, page.get_by_role("radio", name="Approve and transmit to the partner"), True)
    page.get_by_role("button", name="Record the review").click()
    expect(page.get_by_text(f"Approved. CPMS checks protected status again and sends {case.case_number}")).to_be_visible()

    # The worker transmits; the simulator answers delivery.ack delivered; the worker records it.
    cpms_stack.wait_until(lambda: IctsCase.objects.filter(pk=case.pk, status="delivered").exists(), timeout=30,
                          what=f"{case.case_number} to be delivered",
                          describe=lambda: dump(list(IctsCase.objects.values("case_number", "status", "blocked_reason"))))
    page.reload()
    expect(page.locator(".cpms-page-head")).to_contain_text("Delivered to the partner")
    reviewer_pages.check(page, "approved-delivered")
    assert_page_healthy(page)
    log_out(page)

    # --- OBIM sees it delivered and downloads it exactly as sent -------------------------------------------------
    log_in(page, live, "obim_analyst", lands_on="Your work")
    obim_pages.check(page, "home")
    go_to(page, "Transmitted packages", "Transmitted packages")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=case.case_number))
    expect(row).to_contain_text(ref)
    expect(row.locator(".cpms-delivery--delivered")).to_have_text("Delivered to the partner")
    obim_pages.check(page, "transmitted-packages")
    row.get_by_role("link", name=case.case_number).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Package {case.case_number}")
    outbox = OutboxMessage.objects.get(package__case=case)
    expect(page.locator(".cpms-summary")).to_contain_text(str(outbox.message_id))
    expect(page.get_by_text("Rita Moreno, USCIS")).to_be_visible()
    obim_pages.check(page, "package")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the package exactly as sent (JSON)").click()
    raw = Path(download_info.value.path()).read_bytes()
    assert raw == bytes(outbox.raw), "the download is not the stored message byte for byte"
    sent = json.loads(raw)
    body = sent["body"]
    assert sent["type"] == "request.reply" and sent["partner"] == "CAN"
    assert body["outcome"] == "response" and body["request_ref"] == ref
    assert body["package"]["reviewer"]["name"] == "Rita Moreno"
    assert set(body["package"]["person"]) == set(INCLUDED.values()), dump(body["package"]["person"])
    [attachment] = body["package"]["attachments"]
    assert attachment["kind"] == "photograph" and attachment["media_type"] == "image/png"
    sent_image = base64.b64decode(attachment["content_base64"])
    # Re-encoded at upload (ident_bridge.filecheck): the same pixels, not the same bytes; the hash is of what was sent.
    assert Image.open(io.BytesIO(sent_image)).convert("RGB").tobytes() == Image.open(photo).convert("RGB").tobytes()
    assert attachment["sha256"] == hashlib.sha256(sent_image).hexdigest()
    # ... and it is what the partner (the simulator) received.
    received = [m for m in cpms_stack.sim.received() if m["type"] == "request.reply"]
    assert [m["body"] for m in received] == [body], dump(received)
    assert_page_healthy(page)
    assert_all_clean(analyst_pages, reviewer_pages, obim_pages)
