"""The officer's pages: the system-use banner, personas on every page, forms that say what to fix, the query
timeline with a partner's answer side by side, attachments, round 3 and its limit, and the A-File print."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cpms.core.middleware import SESSION_KEY
from cpms.core.models import Notification
from cpms.queries import services
from cpms.queries.models import InternationalQuery, QueryTransition
from cpms.queries.pdf import render_query_html
from cpms.queries.ui_selectors import query_view
from cpms.queries.workflow import QueryStatus
from ident_bridge import icd
from ident_bridge.models import OutboxMessage
from tests.factories import AgreementFactory, CaseFactory, PersonFactory, UserFactory, pdf_bytes, png_bytes, store_inbound

CAVEAT = (
    "This document contains information provided by Canada under an information sharing agreement. "
    "Handle per the agreement; do not disseminate outside DHS without authorization."
)
PDF_BYTES = pdf_bytes()


@pytest.fixture
def world(db):
    AgreementFactory(partner__code="CAN")
    AgreementFactory(partner__code="AUS")
    AgreementFactory(partner__code="GBR", allows_uscis_queries=False)
    owner = UserFactory(role="officer", first_name="Olivia", last_name="Ortiz")
    colleague = UserFactory(role="officer")
    analyst = UserFactory(role="icts_analyst")
    case = CaseFactory(officers=[owner])
    colleague_case = CaseFactory(officers=[colleague], person=PersonFactory(family_name="Okafor"))
    return {"owner": owner, "colleague": colleague, "analyst": analyst, "case": case, "colleague_case": colleague_case}


def browser(user=None) -> Client:
    """A browser that has accepted the system-use banner and, given a user, is logged in."""
    client = Client()
    client.post(reverse("system-use"))
    if user:
        client.force_login(user)
    return client


@pytest.fixture
def submitted(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return services.query_submit(actor=world["owner"], case=world["case"], partner_code="CAN",
                                     reason="asylum_claimant", priority="high")


def deliver_result(query):
    message = icd.envelope("query.result", "CAN", {
        "query_ref": query.query_ref,
        "outcome": "match",
        "partner_person_id": "12345678",
        "biographic": {"family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-12",
                       "gender": "female", "country_of_birth": "SYR"},
        "second_query_sent": True,
    })
    return services.round1_record_result(message=message, inbound=store_inbound(message))


def deliver_response(query, *, round_number, attachments):
    message = icd.envelope("query.response", "CAN", {
        "query_ref": query.query_ref,
        "round": round_number,
        "responder": {"name": "IRCC analyst", "organization": "IRCC"},
        "responded_at": "2026-11-25T14:00:00Z",
        "person": {"family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-21",
                   "partner_person_id": "12345678", "immigration_status": {"status": "Protected person"}},
        "attachments": attachments,
    })
    return services.round_record_response(message=message, inbound=store_inbound(message))


@pytest.fixture
def responded(submitted):
    deliver_result(submitted)
    deliver_response(submitted, round_number=2, attachments=[
        icd.attachment(filename="photo.png", media_type="image/png", kind="photograph", data=png_bytes()),
        icd.attachment(filename="passport.pdf", media_type="application/pdf", kind="passport", data=PDF_BYTES),
    ])
    submitted.refresh_from_db()
    assert submitted.status == QueryStatus.RESPONDED
    return submitted


# --- system-use notification and login ---------------------------------------------------------------------


def test_any_page_redirects_to_the_system_use_banner_first(db):
    resp = Client().get("/cases/")
    assert resp.status_code == 302 and resp["Location"] == "/system-use/?next=%2Fcases%2F"


def test_system_use_banner_shows_the_government_warning(db):
    resp = Client().get(reverse("system-use"))
    html = resp.content.decode()
    assert resp.status_code == 200
    assert "U.S. Government information system" in html and "monitor" in html
    assert "no reasonable expectation of privacy" in html and "foreign governments" in html
    assert ">Accept</button>" in html and "An official website of the United States government" in html


def test_accepting_the_banner_records_it_and_goes_to_a_safe_next_only(db):
    client = Client()
    resp = client.post(reverse("system-use"), {"next": "/cases/"})
    assert resp.status_code == 302 and resp["Location"] == "/cases/"
    assert client.session[SESSION_KEY]
    assert client.get("/cases/")["Location"] == "/accounts/login/?next=/cases/"
    assert Client().post(reverse("system-use"), {"next": "https://elsewhere.example/"})["Location"] == reverse("login")


def test_login_with_password_lands_on_the_home_page(world):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=world["owner"], name="app", confirmed=True)
    client = browser()
    resp = client.post(reverse("login"), {"username": world["owner"].username, "password": "pw-for-tests-only"})
    assert resp.status_code == 302 and resp["Location"] == reverse("home")
    second = client.get(reverse("home"))  # the password alone is not enough
    assert second.status_code == 302 and second["Location"] == reverse("mfa") + "?next=%2F"
    assert client.post(second["Location"], {"token": f"{totp(device.bin_key):06d}"})["Location"] == "/"
    landing = client.get(reverse("home")).content.decode()
    assert "<h1>Your work</h1>" in landing and 'href="/cases/?show=waiting"' in landing
    assert world["case"].receipt_number in client.get(reverse("my-cases")).content.decode()


def test_login_with_wrong_password_says_what_to_fix(world):
    resp = browser().post(reverse("login"), {"username": world["owner"].username, "password": "wrong-guess"})
    html = resp.content.decode()
    assert resp.status_code == 200 and "usa-alert--error" in html and "correct username and password" in html
    assert re.search(r'<input[^>]*name="password"[^>]*type="password"', html) and "wrong-guess" not in html


def test_logout_is_post_only_says_so_and_shows_the_banner_again(world):
    client = browser(world["owner"])
    assert client.get(reverse("logout")).status_code == 405
    resp = client.post(reverse("logout"))
    assert resp.status_code == 302 and resp["Location"] == reverse("signed-out")
    assert "You have signed out" in client.get(resp["Location"]).content.decode()
    assert client.get(reverse("my-cases"))["Location"].startswith("/system-use/")


# --- cases ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona,sees,hidden", [
    ("owner", "case", "colleague_case"),
    ("colleague", "colleague_case", "case"),
    ("analyst", None, "case"),
])
def test_my_cases_lists_only_assigned_cases(world, persona, sees, hidden):
    html = browser(world[persona]).get(reverse("my-cases")).content.decode()
    if sees:
        assert world[sees].receipt_number in html
    else:
        assert "No cases are assigned to you" in html
    assert world[hidden].receipt_number not in html


def test_my_cases_search_and_overdue_tag(world, submitted):
    services.flag_overdue_rounds(now=timezone.now() + timedelta(days=30))
    other = CaseFactory(officers=[world["owner"]], person=PersonFactory(family_name="Mukendi"))
    client = browser(world["owner"])
    html = client.get(reverse("my-cases"), {"q": world["case"].person.a_number}).content.decode()
    assert world["case"].receipt_number in html and other.receipt_number not in html
    assert ">Overdue</span>" in html
    assert "None of your cases matches" in client.get(reverse("my-cases"), {"q": "Nobody"}).content.decode()


@pytest.mark.parametrize("persona,status", [("owner", 200), ("colleague", 404), ("analyst", 404)])
def test_case_detail_personas(world, submitted, persona, status):
    resp = browser(world[persona]).get(reverse("case-detail", args=[world["case"].pk]))
    assert resp.status_code == status
    if status == 200:
        html = resp.content.decode()
        assert "Haddad, Amal" in html and world["case"].person.fin in html
        assert submitted.query_ref in html and "cpms-status--submitted" in html
        assert reverse("query-new", args=[world["case"].pk]) in html
    else:
        assert "Page not found" in resp.content.decode() and world["case"].receipt_number not in resp.content.decode()


# --- new query -------------------------------------------------------------------------------------------------


def test_new_query_form_offers_only_partners_open_for_queries(world):
    html = browser(world["owner"]).get(reverse("query-new", args=[world["case"].pk])).content.decode()
    assert 'value="CAN"' in html and 'value="AUS"' in html and 'value="GBR"' not in html
    assert re.search(r'name="submission_key" value="[0-9a-f]{32}"', html)


@pytest.mark.parametrize("persona", ["colleague", "analyst"])
def test_new_query_on_someone_elses_case_gets_404(world, persona, django_capture_on_commit_callbacks):
    client = browser(world[persona])
    url = reverse("query-new", args=[world["case"].pk])
    assert client.get(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=False):
        resp = client.post(url, {"partner": "CAN", "reason": "other", "priority": "low", "submission_key": "k"})
    assert resp.status_code == 404 and not InternationalQuery.objects.exists()


def test_new_query_post_creates_query_and_outbox_row(world, django_capture_on_commit_callbacks):
    client = browser(world["owner"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resp = client.post(reverse("query-new", args=[world["case"].pk]), {
            "partner": "CAN", "reason": "asylum_claimant", "priority": "high", "encounter_id": "can-fp-1234",
            "submission_key": "a" * 32,
        })
    query = InternationalQuery.objects.get()
    assert resp.status_code == 302 and resp["Location"] == reverse("query-detail", args=[query.pk])
    assert (query.partner_id, query.requestor, query.case) == ("CAN", world["owner"], world["case"])
    outbox = OutboxMessage.objects.get()
    assert outbox.type == "query.submit" and outbox.ref == query.query_ref and b'"encounter_id":"CAN-FP-1234"' in bytes(outbox.raw)
    assert len(callbacks) == 1  # the relay runs after commit; nothing reached the network here
    assert "Query sent to Canada through IDENT" in client.get(resp["Location"]).content.decode()


def test_new_query_form_errors_name_each_field_and_send_nothing(world):
    resp = browser(world["owner"]).post(reverse("query-new", args=[world["case"].pk]), {
        "partner": "GBR", "reason": "", "priority": "urgent", "submission_key": "b" * 32,
    })
    html = resp.content.decode()
    assert resp.status_code == 200
    assert "Partner: Choose one of the partners offered" in html
    assert "Reason: Choose the reason for the query." in html
    assert "Priority: Choose a priority: high, medium or low." in html
    assert html.count('class="usa-error-message"') == 3 and 'value="' + "b" * 32 + '"' in html
    assert not InternationalQuery.objects.exists() and not OutboxMessage.objects.exists()


def test_new_query_service_refusal_shows_on_the_field(world):
    resp = browser(world["owner"]).post(reverse("query-new", args=[world["case"].pk]), {
        "partner": "CAN", "reason": "other", "priority": "low", "encounter_id": "bad id!", "submission_key": "c" * 32,
    })
    html = resp.content.decode()
    assert "Encounter ID (optional): An encounter ID is 6 to 40 characters" in html
    assert 'id="id_encounter_id-error"' in html and not OutboxMessage.objects.exists()


def test_new_query_for_a_person_without_fin_says_why(world):
    case = CaseFactory(officers=[world["owner"]], person=PersonFactory(fin=None))
    resp = browser(world["owner"]).post(reverse("query-new", args=[case.pk]), {
        "partner": "CAN", "reason": "other", "priority": "low", "submission_key": "d" * 32,
    })
    assert "has no FIN" in resp.content.decode() and not InternationalQuery.objects.exists()


def test_double_post_with_the_same_submission_key_creates_one_query(world, django_capture_on_commit_callbacks):
    client = browser(world["owner"])
    data = {"partner": "AUS", "reason": "other", "priority": "low", "submission_key": "e" * 32}
    with django_capture_on_commit_callbacks(execute=False):
        first = client.post(reverse("query-new", args=[world["case"].pk]), data)
        second = client.post(reverse("query-new", args=[world["case"].pk]), data)
    assert first["Location"] == second["Location"]
    assert InternationalQuery.objects.count() == 1 and OutboxMessage.objects.count() == 1


# --- query detail, timeline, attachments ---------------------------------------------------------------------


QUERY_PAGES = ["query-detail", "query-timeline-partial", "query-round3", "query-print"]


@pytest.mark.parametrize("name", QUERY_PAGES)
@pytest.mark.parametrize("persona", ["colleague", "analyst"])
def test_query_pages_get_404_for_anyone_but_the_assigned_officer(world, responded, name, persona):
    assert browser(world[persona]).get(reverse(name, args=[responded.pk])).status_code == 404


@pytest.mark.parametrize("name", QUERY_PAGES)
def test_query_pages_require_login(world, responded, name):
    resp = browser().get(reverse(name, args=[responded.pk]))
    assert resp.status_code == 302 and resp["Location"].startswith(reverse("login"))


def test_query_detail_shows_the_match_and_the_response_side_by_side(world, responded):
    html = browser(world["owner"]).get(reverse("query-detail", args=[responded.pk])).content.decode()
    assert responded.query_ref in html and "cpms-status--responded" in html and "Asylum claimant" in html
    assert "Minimal identity data reported with the match" in html and "12345678" in html
    differing = re.search(r'<tr class="cpms-differs">.*?</tr>', html, re.S).group(0)
    assert "Date of birth" in differing and "1985-04-12" in differing and "1985-04-21" in differing
    assert "Protected person" in html and "IRCC analyst" in html
    photo, document = responded.responses.get().attachments.order_by("position")
    assert f'src="{reverse("query-attachment", args=[responded.pk, photo.pk])}"' in html
    assert reverse("query-attachment", args=[responded.pk, document.pk]) in html and document.sha256[:12] in html
    assert "Ask for a third round" in html and "Close query" in html
    assert 'hx-trigger="every 5s"' not in html  # nothing left to wait for
    assert CAVEAT in html


def test_query_detail_polls_while_awaiting_the_partner(world, submitted):
    client = browser(world["owner"])
    html = client.get(reverse("query-detail", args=[submitted.pk])).content.decode()
    assert 'hx-trigger="every 5s"' in html and 'aria-live="polite"' in html
    assert "Ask for a third round" not in html and "Close query" not in html
    partial = reverse("query-timeline-partial", args=[submitted.pk])
    assert client.get(partial, {"v": query_view(submitted).version}).status_code == 204
    deliver_result(submitted)
    resp = client.get(partial, {"v": "stale"})
    assert resp.status_code == 200 and "cpms-status--awaiting_round2" in resp.content.decode()
    assert "<html" not in resp.content.decode()


@pytest.mark.parametrize("persona,status", [("owner", 200), ("colleague", 404), ("analyst", 404)])
def test_attachment_download_personas(world, responded, persona, status):
    photo = responded.responses.get().attachments.get(kind="photograph")
    resp = browser(world[persona]).get(reverse("query-attachment", args=[responded.pk, photo.pk]))
    assert resp.status_code == status
    if status == 200:
        assert b"".join(resp.streaming_content) == png_bytes()
        assert resp["Content-Type"] == "image/png"
        assert resp["Content-Disposition"] == 'attachment; filename="photo.png"' and resp["Content-Security-Policy"].startswith("sandbox")
        assert resp["X-Content-Type-Options"] == "nosniff" and resp["Cache-Control"] == "private, no-store"


def test_attachment_of_another_query_gets_404(world, responded, django_capture_on_commit_callbacks):
    photo = responded.responses.get().attachments.get(kind="photograph")
    with django_capture_on_commit_callbacks(execute=False):
        other = services.query_submit(actor=world["owner"], case=world["case"], partner_code="AUS", reason="other", priority="low")
    assert browser(world["owner"]).get(reverse("query-attachment", args=[other.pk, photo.pk])).status_code == 404


# --- round 3 and close ---------------------------------------------------------------------------------------


def test_round3_sends_then_a_fourth_round_is_refused_and_nothing_is_sent(world, responded, django_capture_on_commit_callbacks):
    client = browser(world["owner"])
    url = reverse("query-round3", args=[responded.pk])
    data = {"requested_items": ["watchlist_status", "photographs"], "justification": "Check the watchlist entry."}
    with django_capture_on_commit_callbacks(execute=False):
        resp = client.post(url, data)
    assert resp.status_code == 302 and resp["Location"] == reverse("query-detail", args=[responded.pk])
    responded.refresh_from_db()
    assert responded.status == QueryStatus.AWAITING_ROUND3
    assert OutboxMessage.objects.filter(type="query.followup").count() == 1

    deliver_response(responded, round_number=3, attachments=[])
    before = OutboxMessage.objects.count()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        refused = client.post(url, data)
    html = refused.content.decode()
    assert refused.status_code == 200 and "usa-alert--error" in html
    assert "already had its three rounds" in html and "Nothing was sent" in html
    assert OutboxMessage.objects.count() == before and callbacks == []


def test_round3_while_awaiting_the_partner_is_refused(world, responded, django_capture_on_commit_callbacks):
    client = browser(world["owner"])
    data = {"requested_items": ["biographic"], "justification": "Confirm identity."}
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("query-round3", args=[responded.pk]), data)
    html = client.get(reverse("query-detail", args=[responded.pk])).content.decode()
    assert "Ask for a third round" not in html and 'hx-trigger="every 5s"' in html
    again = client.post(reverse("query-round3", args=[responded.pk]), data).content.decode()
    assert "Round 3 was not sent" in again
    assert OutboxMessage.objects.filter(type="query.followup").count() == 1


def test_round3_form_errors_name_the_field(world, responded):
    client = browser(world["owner"])
    url = reverse("query-round3", args=[responded.pk])
    html = client.post(url, {"justification": "Why not"}).content.decode()
    assert "What do you need from the partner?: Choose at least one item to request." in html
    html = client.post(url, {"requested_items": ["biographic"], "justification": "  "}).content.decode()
    assert "Justification: Say why the additional information is needed." in html
    assert not OutboxMessage.objects.filter(type="query.followup").exists()


def test_round3_as_a_colleague_gets_404_and_sends_nothing(world, responded):
    resp = browser(world["colleague"]).post(reverse("query-round3", args=[responded.pk]),
                                             {"requested_items": ["biographic"], "justification": "x"})
    assert resp.status_code == 404 and not OutboxMessage.objects.filter(type="query.followup").exists()


def test_close_query_asks_for_confirmation_and_a_reason_and_a_second_close_says_why(world, responded):
    client = browser(world["owner"])
    url = reverse("query-close", args=[responded.pk])
    confirm = client.get(url).content.decode()
    assert "Close query" in confirm and "cannot be reopened" in confirm and 'name="reason"' in confirm
    assert browser(world["colleague"]).post(url, {"reason": "x"}).status_code == 404
    refused = client.post(url, {"reason": "  "})
    assert refused.status_code == 400 and "Say why you close the query" in refused.content.decode()
    responded.refresh_from_db()
    assert responded.status != QueryStatus.CLOSED  # nothing happened without a reason
    resp = client.post(url, {"reason": "Identity confirmed by the interview"}, follow=True)
    assert f"Query {responded.query_ref} is closed." in resp.content.decode()
    responded.refresh_from_db()
    assert responded.status == QueryStatus.CLOSED
    assert QueryTransition.objects.get(query=responded, to_status=QueryStatus.CLOSED).reason.endswith("Identity confirmed by the interview")
    again = client.post(url, {"reason": "again"}, follow=True).content.decode()
    assert f"Query {responded.query_ref} is already closed." in again
    assert QueryTransition.objects.filter(query=responded, to_status=QueryStatus.CLOSED).count() == 1


# --- A-File print ----------------------------------------------------------------------------------------------


def test_print_returns_a_pdf_with_the_handling_caveat(world, responded):
    resp = browser(world["owner"]).get(reverse("query-print", args=[responded.pk]))
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
    assert resp["Content-Disposition"] == f'attachment; filename="{responded.query_ref}.pdf"'
    assert resp.content.startswith(b"%PDF")
    try:
        from pypdf import PdfReader
    except ImportError:
        PdfReader = None
    if PdfReader:
        import io

        reader = PdfReader(io.BytesIO(resp.content))
        text = " ".join((page.extract_text() or "") for page in reader.pages)
        assert "FOREIGN GOVERNMENT INFORMATION" in text
        a_number, receipt = responded.person.a_number, responded.case.receipt_number
        for page in reader.pages:  # the marking and the identifiers on every page, continuation pages too
            page_text = page.extract_text() or ""
            assert "CUI" in page_text and a_number in page_text and receipt in page_text
        catalog = reader.trailer["/Root"]
        assert catalog["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in catalog  # tagged (PDF/UA-1)


def test_print_html_carries_the_caveat_rounds_and_embedded_photo(world, responded):
    html = render_query_html(query_view(responded), printed_by=world["owner"])
    assert CAVEAT in html and "FOREIGN GOVERNMENT INFORMATION" in html and '<span class="marking">CUI</span>' in html
    assert "FOR OFFICIAL USE ONLY" not in html and "CUI categories" in html
    assert world["case"].receipt_number in html and responded.query_ref in html
    assert "1985-04-21" in html and 'class="differs"' in html
    assert "data:image/png;base64," in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing for WeasyPrint to fetch


# --- notifications -------------------------------------------------------------------------------------------


def test_a_notification_is_read_when_opened_not_when_listed(world, responded):
    client = browser(world["owner"])
    html = client.get(reverse("notifications")).content.decode()
    notes = list(Notification.objects.filter(user=world["owner"]).order_by("created_at", "id"))
    assert len(notes) == 2 and all(n.message in html for n in notes)
    assert 'class="usa-tag cpms-badge">2<' in html and " UTC</time>" in html
    assert Notification.objects.filter(user=world["owner"], read_at__isnull=True).count() == 2  # listing is not reading
    opened = client.get(reverse("notification-open", args=[notes[0].pk]))
    assert opened.status_code == 302 and opened["Location"] == reverse("query-detail", args=[responded.pk])
    assert Notification.objects.filter(user=world["owner"], read_at__isnull=True).count() == 1
    assert browser(world["colleague"]).get(reverse("notification-open", args=[notes[1].pk])).status_code == 404
    client.post(reverse("notifications-read"))  # mark all as read
    assert not Notification.objects.filter(user=world["owner"], read_at__isnull=True).exists()
    assert "cpms-badge" not in client.get(reverse("notifications")).content.decode()


def test_notifications_cannot_be_marked_read_for_someone_else(world, responded):
    ids = list(Notification.objects.filter(user=world["owner"]).values_list("pk", flat=True))
    browser(world["colleague"]).post(reverse("notifications-read"), {"ids": ids})
    assert Notification.objects.filter(user=world["owner"], read_at__isnull=True).count() == len(ids)
    assert world["owner"].notifications.first().message not in browser(world["colleague"]).get(reverse("notifications")).content.decode()


def test_case_list_pages_keep_the_search(world):
    for _ in range(26):  # a page holds 25
        CaseFactory(officers=[world["owner"]], person=PersonFactory(family_name="Zeller"))
    client = browser(world["owner"])
    html = client.get(reverse("my-cases"), {"q": "zeller"}).content.decode()
    assert html.count("Zeller") == 25 and 'href="?q=zeller&amp;page=2"' in html
    second = client.get(reverse("my-cases"), {"q": "zeller", "page": 2}).content.decode()
    assert "Page 2" in second and 'href="?q=zeller&amp;page=1"' in second



def test_countries_by_name_and_notifications_name_the_case_and_person(world, responded):
    client = browser(world["owner"])
    page = client.get(reverse("case-detail", args=[world["case"].pk])).content.decode()
    assert "Syria (SYR)" in page
    note = Notification.objects.filter(user=world["owner"]).first()
    assert note.message.startswith(f"Case {world['case'].receipt_number} ({world['case'].person}): ")


def test_round3_form_is_not_offered_after_three_rounds_and_the_page_says_why(world, responded, django_capture_on_commit_callbacks):
    client = browser(world["owner"])
    url = reverse("query-round3", args=[responded.pk])
    assert 'name="requested_items"' in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        services.query_request_round3(actor=world["owner"], query=responded, requested_items=["biographic"], justification="Why")
    waiting = client.get(url).content.decode()  # round 3 is asked and outstanding
    assert "Round 3 cannot be asked" in waiting and "already had its three rounds" in waiting
    assert 'name="requested_items"' not in waiting and f'action="{url}"' not in waiting and "Nothing was sent" not in waiting
    deliver_response(responded, round_number=3, attachments=[])
    done = client.get(url).content.decode()
    assert "Round 3 cannot be asked" in done and "already had its three rounds" in done and f'action="{url}"' not in done
    assert "Ask for a third round" not in client.get(reverse("query-detail", args=[responded.pk])).content.decode()


def test_round3_form_is_not_offered_before_the_partners_round2_response(world, submitted):
    html = browser(world["owner"]).get(reverse("query-round3", args=[submitted.pk])).content.decode()
    assert "Round 3 cannot be asked" in html and "only after the partner&#x27;s round-2 response" in html
    assert 'name="requested_items"' not in html


def test_new_query_is_not_offered_for_a_person_without_a_fin(world):
    case = CaseFactory(officers=[world["owner"]], person=PersonFactory(fin=None))
    client = browser(world["owner"])
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert reverse("query-new", args=[case.pk]) not in page and "has no FIN" in page
    form = client.get(reverse("query-new", args=[case.pk])).content.decode()
    assert "No fingerprint query is possible" in form and 'name="partner"' not in form


def test_comparison_transliterates_names_and_says_differences_only_when_some_differ(world, submitted):
    submitted.person.family_name, submitted.person.given_names = "Petrenko", "Oleg"
    submitted.person.save()
    deliver_result(submitted)
    message = icd.envelope("query.response", "CAN", {
        "query_ref": submitted.query_ref, "round": 2, "responder": {"name": "IRCC analyst", "organization": "IRCC"},
        "responded_at": "2026-11-25T14:00:00Z", "attachments": [],
        "person": {"family_name": "Петренко", "given_names": "OLEG", "country_of_birth": submitted.person.country_of_birth or "SYR"}})
    services.round_record_response(message=message, inbound=store_inbound(message))
    html = browser(world["owner"]).get(reverse("query-detail", args=[submitted.pk])).content.decode()
    assert "cpms-differs" not in html and "differences highlighted" not in html
    assert "beside the USCIS record: no value differs</caption>" in html


def test_query_page_announces_only_its_status_line(world, submitted):
    client = browser(world["owner"])
    html = client.get(reverse("query-detail", args=[submitted.pk])).content.decode()
    assert html.count("aria-live") == 1
    assert re.search(r'<p id="query-announce" class="usa-sr-only" role="status" aria-live="polite" aria-atomic="true">Query '
                     rf'{submitted.query_ref}: Submitted', html)
    assert '<div id="query-live">' in html  # the timeline is swapped, not announced
    deliver_result(submitted)
    partial = client.get(reverse("query-timeline-partial", args=[submitted.pk]), {"v": "stale"}).content.decode()
    assert re.search(rf'<span id="query-announce" hx-swap-oob="innerHTML">Query {submitted.query_ref}: Match \(awaiting round 2\)',
                     partial)


def test_query_page_names_the_matchs_country_of_birth_in_words(world, responded):
    html = browser(world["owner"]).get(reverse("query-detail", args=[responded.pk])).content.decode()
    assert "Syria (SYR)" in html
    assert ("Country of birth", "Syria (SYR)") in query_view(responded).identity


def test_query_history_is_written_as_sentences(world, responded):
    reasons = list(QueryTransition.objects.filter(query=responded).order_by("at", "id").values_list("reason", flat=True))
    assert reasons == ["The officer submitted the query; it was sent.",
                       "Canada reported a match; IDENT sent the second query (round 2).",
                       "Canada answered round 2."]


def test_print_shows_countries_reasons_and_kinds_in_words(world, responded):
    person = world["case"].person
    person.country_of_birth, person.citizenships = "SYR", ["SYR", "TUR"]
    person.save()
    html = render_query_html(query_view(responded), printed_by=world["owner"])
    assert "<td>Syria (SYR)</td>" in html and "<td>Syria (SYR), Türkiye (TUR)</td>" in html
    assert "<td>Asylum claimant</td>" in html and "<td>High</td>" in html
    assert "Photograph: photo.png" in html and "<td>Passport</td>" in html
    assert "asylum_claimant" not in html and "<td>SYR</td>" not in html
