"""ICTS and OBIM pages: personas on every page, the queue's order and filters, taking and assigning, the response
form (prefill, parse errors per field, round trip), documents, submission beyond the agreement, review, and OBIM's
download of the package exactly as sent."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from cpms.core import views as core_views
from ident_bridge.inbound import inbound_process
from ident_bridge.models import OutboxMessage
from icts import services
from cpms.core.permissions import grants_refresh_sort_key
from icts.models import IctsCase, IctsCaseGroupObjectPermission, IctsCaseUserObjectPermission, ResponsePackage
from icts.workflow import CaseStatus
from tests.factories import AgreementFactory, PartnerFactory, PersonFactory, UserFactory, cis_record, jpeg_bytes, png_bytes, request_message, store_inbound
from tests.fakes import ident_accepts_everything

# What the agreement with Canada authorises in these tests (AgreementFactory's default set).
AUTHORISED = ["family_name", "given_names", "date_of_birth", "gender", "country_of_birth", "a_number", "fin"]


def browser(user=None) -> Client:
    client = Client()
    client.post(reverse("system-use"))
    if user:
        client.force_login(user)
    return client


def receive(message, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(message).pk)
    return IctsCase.objects.get(partner_request__request_ref=message["body"]["request_ref"])


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    return build_world(django_capture_on_commit_callbacks)


def build_world(django_capture_on_commit_callbacks) -> dict:
    """A request from Canada opened as an ICTS case, a person with a CIS record, and a user of each role."""
    AgreementFactory(partner__code="CAN", authorised_data_elements=AUTHORISED, authorised_attachment_kinds=["photograph", "passport"])
    person = PersonFactory(fin="FIN1000000001", a_number="A300000001", aliases=[{"family_name": "Hadad", "given_names": "Amal"}])
    cis_record(person)
    case = receive(request_message(request_ref="CAN-REQ-1"), django_capture_on_commit_callbacks)
    users = {r: UserFactory(role=r, first_name=r.split("_")[-1].capitalize()) for r in
             ("icts_analyst", "icts_reviewer", "obim_analyst", "privacy_officer", "officer")}
    users["other_analyst"] = UserFactory(role="icts_analyst")
    return {"case": case, "person": person, "users": users}


def take(world, case=None):
    case = case or world["case"]
    return services.case_assign(actor=world["users"]["icts_analyst"], case=case, analyst=world["users"]["icts_analyst"])


def element_post(**overrides) -> dict:
    """The response form as a browser posts it: reviewer fields, and per element an include box and a value."""
    data = {"reviewer_name": "Rita Moreno", "reviewer_organization": "USCIS", "reviewer_email": "r.moreno@uscis.example.gov",
            "reviewer_phone": "+1 202 555 0100",
            "include_family_name": "on", "family_name": "Haddad", "include_given_names": "on", "given_names": "Amal",
            "include_date_of_birth": "on", "date_of_birth": "1985-04-12", "include_a_number": "on", "a_number": "300000001",
            "include_fin": "on", "fin": "fin1000000001"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def saved(world, **overrides):
    case = take(world)
    resp = browser(world["users"]["icts_analyst"]).post(reverse("icts-package", args=[case.pk]), element_post(**overrides))
    assert resp.status_code == 302, resp.content.decode()
    case.refresh_from_db()
    return case


def submitted(world):
    case = saved(world)
    services.package_add_attachment(actor=world["users"]["icts_analyst"], case=case, filename="passport.jpg", data=jpeg_bytes(),
                                    kind="passport")
    services.package_submit(actor=world["users"]["icts_analyst"], case=case)
    case.refresh_from_db()
    return case


def messages_of(resp) -> list[str]:
    return [str(m) for m in get_messages(resp.wsgi_request)]


# --- the work queue ----------------------------------------------------------------------------------------


def test_queue_is_sorted_by_priority_then_due_date_and_filters(world, django_capture_on_commit_callbacks):
    low = receive(request_message(request_ref="CAN-REQ-LOW", priority="low"), django_capture_on_commit_callbacks)
    later_high = receive(request_message(request_ref="CAN-REQ-HIGH2", priority="high"), django_capture_on_commit_callbacks)
    IctsCase.objects.filter(pk=later_high.pk).update(due_at=world["case"].due_at + timedelta(hours=5))
    IctsCase.objects.filter(pk=low.pk).update(due_at=timezone.now() - timedelta(days=1))  # overdue, still after the highs
    for moved in (later_high, low):  # as a change of due date must: the grants' sort keys follow
        grants_refresh_sort_key(IctsCase.objects.get(pk=moved.pk), IctsCaseUserObjectPermission, IctsCaseGroupObjectPermission)
    client = browser(world["users"]["icts_analyst"])

    html = client.get(reverse("icts-queue")).content.decode()
    positions = [html.index(c.case_number) for c in (world["case"], later_high, low)]
    assert positions == sorted(positions)
    assert html.count("cpms-time--overdue") == 1 and "Overdue by 24 hours" in html and "cpms-row-overdue" in html

    only_low = client.get(reverse("icts-queue"), {"priority": "low"}).content.decode()
    assert low.case_number in only_low and world["case"].case_number not in only_low
    overdue = client.get(reverse("icts-queue"), {"overdue": "on"}).content.decode()
    assert low.case_number in overdue and later_high.case_number not in overdue

    take(world)
    mine = client.get(reverse("icts-queue"), {"mine": "on"}).content.decode()
    assert world["case"].case_number in mine and low.case_number not in mine
    PartnerFactory(code="AUS")
    assert "No case matches these filters" in client.get(reverse("icts-queue"), {"partner": "AUS"}).content.decode()


def test_queue_offers_take_to_analysts_and_assign_to_reviewers(world):
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-queue")).content.decode()
    assert ">Take<" in html and 'name="analyst"' not in html
    html = browser(world["users"]["icts_reviewer"]).get(reverse("icts-queue"), {"status": ""}).content.decode()
    assert ">Take<" not in html and 'name="analyst"' in html and f'value="{world["users"]["other_analyst"].pk}"' in html


@pytest.mark.parametrize("persona,status", [("icts_analyst", 200), ("icts_reviewer", 200), ("officer", 404), ("obim_analyst", 404)])
def test_queue_personas(world, persona, status):
    assert browser(world["users"][persona]).get(reverse("icts-queue"), {"status": ""}).status_code == status


def test_an_analyst_takes_a_case(world):
    analyst = world["users"]["icts_analyst"]
    resp = browser(analyst).post(reverse("icts-assign", args=[world["case"].pk]))
    assert resp.status_code == 302 and resp["Location"] == reverse("icts-case", args=[world["case"].pk])
    assert messages_of(resp) == [f"Case {world['case'].case_number} is assigned to you."]
    world["case"].refresh_from_db()
    assert world["case"].assigned_analyst == analyst and world["case"].status == CaseStatus.PREPARING
    html = browser(analyst).get(reverse("icts-case", args=[world["case"].pk])).content.decode()
    assert reverse("icts-package", args=[world["case"].pk]) in html and "Prepare the response" in html


def test_a_reviewer_assigns_and_an_analyst_cannot_assign_others(world):
    other = world["users"]["other_analyst"]
    resp = browser(world["users"]["icts_reviewer"]).post(reverse("icts-assign", args=[world["case"].pk]), {"analyst": other.pk})
    world["case"].refresh_from_db()
    assert resp.status_code == 302 and world["case"].assigned_analyst == other
    resp = browser(other).post(reverse("icts-assign", args=[world["case"].pk]), {"analyst": world["users"]["icts_analyst"].pk})
    assert messages_of(resp) == ["Only a reviewer can assign a case to someone else."]
    world["case"].refresh_from_db()
    assert world["case"].assigned_analyst == other


# --- the case page -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona,status", [
    ("icts_analyst", 200),  # the assigned analyst
    ("icts_reviewer", 200),
    ("other_analyst", 404),  # same role, not assigned: the case has left the open queue
    ("officer", 404),
    ("obim_analyst", 404),  # not transmitted yet
])
def test_case_page_personas(world, persona, status):
    take(world)
    resp = browser(world["users"][persona]).get(reverse("icts-case", args=[world["case"].pk]))
    assert resp.status_code == status
    if status == 404:
        assert world["case"].case_number not in resp.content.decode()


def test_case_page_gets_404_for_a_missing_case(world):
    assert browser(world["users"]["icts_reviewer"]).get(reverse("icts-case", args=[999999])).status_code == 404


def test_case_page_shows_the_request_both_ways_the_record_the_check_and_the_agreement(world, django_capture_on_commit_callbacks):
    case = receive(request_message(request_ref="CAN-REQ-CAN", template="CAN-v1", subject={
        "surname": "Haddad", "given_names": "Amal", "dob": "1985-04-21", "sex": "F", "birth_country": "SYR",
        "other_names": ["HADAD, Amal"], "uci": "12345678"}), django_capture_on_commit_callbacks)
    html = browser(world["users"]["icts_reviewer"]).get(reverse("icts-case", args=[case.pk])).content.decode()
    assert "As received (CAN-v1)" in html and "<code data-verbatim>surname</code>" in html and "<code data-verbatim>uci</code>" in html
    assert "Normalised (uniform-v1)" in html and "Partner person ID" in html
    assert "A300000001" in html and "FIN1000000001" in html  # the USCIS record
    assert "cpms-differs" in html and "dates of birth differ" in html.lower()
    assert "Family name, Given names, Date of birth, Gender, Country of birth, A-Number, FIN" in html
    assert "Photograph, Passport" in html
    assert reverse("partner-request-augment", args=[case.partner_request_id]) in html

    html = browser(world["users"]["icts_reviewer"]).get(reverse("icts-case", args=[world["case"].pk])).content.decode()
    assert "No discrepancies" in html


# --- the response form -------------------------------------------------------------------------------------


def authorise_everything():
    """The agreement with Canada authorises every data element and attachment kind (a test's own agreement)."""
    from cpms.core.models import Agreement

    Agreement.objects.filter(partner_id="CAN").update(authorised_data_elements=list(services.icd.PERSON_ELEMENTS),
                                                      authorised_attachment_kinds=list(services.icd.ATTACHMENT_KINDS))


def test_response_form_starts_from_the_record_and_offers_only_what_is_authorised(world):
    case = take(world)
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-package", args=[case.pk])).content.decode()
    assert 'value="Haddad"' in html and 'value="A300000001"' in html and 'value="SYR"' in html
    assert "Reads as: Syria (SYR)" in html  # the country by name beside the code the ICD carries
    assert re.search(r'id="id_include_family_name"[^>]*checked', html)
    # What the agreement does not authorise is not offered at all, and the page says so.
    for name in ("partner_person_id", "race", "aliases", "immigration_status", "watchlist_status"):
        assert f'name="{name}"' not in html and f'name="include_{name}"' not in html
    assert "cpms-element--not-authorised" not in html
    assert "Not offered: Aliases, Race, Countries of citizenship, Partner person ID, Immigration status" in html
    assert 'enctype="multipart/form-data"' not in html  # no documents before the response is saved


def test_response_form_ignores_an_element_the_agreement_does_not_authorise(world):
    case = saved(world, include_race="on", race="Posted anyway")
    assert "race" not in case.package.person


def test_response_form_keeps_an_unauthorised_element_already_saved_so_it_can_be_removed(world):
    case = take(world)
    services.package_save(actor=world["users"]["icts_analyst"], case=case, reviewer_name="Rita Moreno",
                          person={"family_name": "Haddad", "race": "Saved before the agreement changed"})
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-package", args=[case.pk])).content.decode()
    assert re.search(r'cpms-element--not-authorised">\s*<div class="cpms-element__head">\s*<div class="usa-checkbox">\s*<input[^>]*'
                     r'id="id_include_race"[^>]*checked', html)
    assert "Not authorised for Canada: untick to remove it" in html
    browser(world["users"]["icts_analyst"]).post(reverse("icts-package", args=[case.pk]), element_post())
    case.package.refresh_from_db()
    assert "race" not in case.package.person


def test_response_form_without_an_agreement_is_not_offered_and_says_why(world):
    from cpms.core.models import Agreement

    case = take(world)
    Agreement.objects.filter(partner_id="CAN").delete()
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-package", args=[case.pk])).content.decode()
    assert "No response can be sent to Canada" in html and "No agreement in force" in html
    assert 'name="reviewer_name"' not in html and reverse("icts-submit", args=[case.pk]) not in html


def test_response_form_prefills_the_requested_immigration_status_from_cis_and_ticks_it(world, django_capture_on_commit_callbacks):
    from cpms.cis.classes import ProtectedClass

    authorise_everything()
    person = PersonFactory(fin="FIN1000000007")
    cis_record(person, {"protected_class": ProtectedClass.ASYLUM, "consent_partners": ["CAN"]})
    case = receive(request_message(request_ref="CAN-REQ-STATUS", fin="FIN1000000007",
                                   requested_items=["biographic", "immigration_status"]), django_capture_on_commit_callbacks)
    take(world, case)
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-package", args=[case.pk])).content.decode()
    assert 'id="id_immigration_status" name="immigration_status"' in html and 'value="Asylee"' in html
    assert re.search(r'id="id_include_immigration_status"[^>]*checked', html)
    assert f'value="{timezone.now().date().isoformat()}"' in html  # as of CIS's answer
    assert "Canada asked for the immigration status: it starts from what CIS holds" in html

    # Not asked for: not filled in, not ticked.
    other = receive(request_message(request_ref="CAN-REQ-NOSTATUS", fin="FIN1000000007", requested_items=["biographic"]),
                    django_capture_on_commit_callbacks)
    take(world, other)
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-package", args=[other.pk])).content.decode()
    assert 'value="Asylee"' not in html and not re.search(r'id="id_include_immigration_status"[^>]*checked', html)


def test_immigration_status_never_comes_from_a_1367_class():
    from cpms.cis.classes import immigration_status_words

    answer = {"known": True, "complete": True, "classes": [{"protected_class": "ASYLUM", "application_status": "granted"}]}
    assert immigration_status_words(answer) == "Asylee"
    answer["classes"].append({"protected_class": "T", "application_status": "granted"})
    assert immigration_status_words(answer) == ""
    assert immigration_status_words({"known": True, "complete": False, "classes": []}) == ""


@pytest.mark.parametrize("persona", ["other_analyst", "officer"])
def test_response_form_gets_404_for_others(world, persona):
    take(world)
    assert browser(world["users"][persona]).get(reverse("icts-package", args=[world["case"].pk])).status_code == 404


def test_response_form_sends_the_reviewer_back_to_the_case(world):
    take(world)
    resp = browser(world["users"]["icts_reviewer"]).get(reverse("icts-package", args=[world["case"].pk]))
    assert resp.status_code == 302 and resp["Location"] == reverse("icts-case", args=[world["case"].pk])


def test_response_form_round_trip_builds_the_person(world):
    authorise_everything()
    case = saved(world, include_aliases="on", aliases="HADAD, Amal\nAl-Haddad",
                 include_countries_of_citizenship="on", countries_of_citizenship="syr, can",
                 include_gender="on", gender="female",
                 include_immigration_status="on", immigration_status="Asylee", immigration_status_as_of="2020-02-01",
                 include_immigration_history="on", immigration_history="2019-06-01 | Asylum granted | Newark\n2021-01-05 | Travel document",
                 include_watchlist_status="on", watchlist_status="none | 2026-01-01",
                 partner_person_id="12345678")  # a value without its include box stays out
    package = case.package
    assert package.reviewer_name == "Rita Moreno" and package.reviewer_phone == "+1 202 555 0100"
    assert package.person == {
        "family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-12", "a_number": "A300000001",
        "fin": "FIN1000000001", "gender": "female",
        "aliases": [{"family_name": "HADAD", "given_names": "Amal"}, {"family_name": "Al-Haddad"}],
        "countries_of_citizenship": ["SYR", "CAN"],
        "immigration_status": {"status": "Asylee", "as_of": "2020-02-01"},
        "immigration_history": [{"date": "2019-06-01", "event": "Asylum granted", "detail": "Newark"},
                                {"date": "2021-01-05", "event": "Travel document"}],
        "watchlist_status": [{"type": "none", "status_date": "2026-01-01"}],
    }
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-package", args=[case.pk])).content.decode()
    assert "2019-06-01 | Asylum granted | Newark\n2021-01-05 | Travel document</textarea>" in html
    assert 'value="SYR, CAN"' in html and 'value="2020-02-01"' in html and "Reads as: Syria (SYR), Canada (CAN)" in html
    assert not re.search(r'id="id_include_partner_person_id"[^>]*checked', html)


def test_response_form_names_each_field_and_what_to_write(world):
    authorise_everything()
    case = take(world)
    resp = browser(world["users"]["icts_analyst"]).post(reverse("icts-package", args=[case.pk]), element_post(
        reviewer_email="not-an-email", date_of_birth="12/04/1985", include_country_of_birth="on", country_of_birth="Syria",
        include_aliases="on", aliases=", Amal", include_immigration_history="on", immigration_history="2019-13-01 | Granted",
        include_watchlist_status="on", watchlist_status="none", include_race="on", race=" ",
        include_immigration_status="on", immigration_status="Asylee", immigration_status_as_of="2020",
    ))
    assert resp.status_code == 200
    errors = resp.context["form"].errors
    assert set(errors) == {"reviewer_email", "date_of_birth", "country_of_birth", "aliases", "immigration_history",
                           "watchlist_status", "race", "immigration_status_as_of"}
    assert "YYYY-MM-DD" in errors["date_of_birth"][0] and "3-letter ISO" in errors["country_of_birth"][0]
    assert "Line 1: write the family name" in errors["aliases"][0] and "2019-13-01" in errors["immigration_history"][0]
    assert "Line 1: write type | YYYY-MM-DD" in errors["watchlist_status"][0] and "untick" in errors["race"][0]
    html = resp.content.decode()
    assert "Fix 8 problems" in html and 'href="#id_date_of_birth">Date of birth:' in html
    assert not ResponsePackage.objects.filter(case=case).exists()


def test_reviewer_name_is_required_by_the_service_and_shown_on_the_field(world):
    case = take(world)
    resp = browser(world["users"]["icts_analyst"]).post(reverse("icts-package", args=[case.pk]), element_post(reviewer_name=""))
    assert resp.status_code == 200
    assert resp.context["form"].errors["reviewer_name"] == ["Give the reviewer's name: the partner sees it on the response."]


# --- documents ---------------------------------------------------------------------------------------------


def test_upload_a_png_then_download_and_remove_it(world):
    case = saved(world)
    client = browser(world["users"]["icts_analyst"])
    resp = client.post(reverse("icts-upload", args=[case.pk]), {"kind": "photograph", "file": _upload("photo.png", png_bytes())})
    assert resp.status_code == 302 and messages_of(resp) == ["photo.png is attached (image/png)."]
    assert resp["Location"] == reverse("icts-package", args=[case.pk]) + "#documents"  # back at the documents
    att = case.package.attachments.get()
    html = client.get(reverse("icts-package", args=[case.pk])).content.decode()
    assert reverse("icts-attachment", args=[case.pk, att.pk]) in html and reverse("icts-attachment-remove", args=[case.pk, att.pk]) in html
    assert '<h2 id="documents">Documents</h2>' in html

    got = client.get(reverse("icts-attachment", args=[case.pk, att.pk]))
    assert got.status_code == 200 and b"".join(got.streaming_content) == png_bytes()
    assert got["Content-Type"] == "image/png" and got["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in got["Cache-Control"] and got["Content-Disposition"].startswith("inline")
    assert browser(world["users"]["other_analyst"]).get(reverse("icts-attachment", args=[case.pk, att.pk])).status_code == 404
    assert browser(world["users"]["officer"]).get(reverse("icts-attachment", args=[case.pk, att.pk])).status_code == 404

    assert client.get(reverse("icts-attachment-remove", args=[case.pk, att.pk])).status_code == 405
    removed = client.post(reverse("icts-attachment-remove", args=[case.pk, att.pk]))
    assert removed.status_code == 302 and removed["Location"] == reverse("icts-package", args=[case.pk]) + "#documents"
    assert not case.package.attachments.exists()


def test_upload_a_text_file_names_the_file_field(world):
    case = saved(world)
    resp = browser(world["users"]["icts_analyst"]).post(reverse("icts-upload", args=[case.pk]),
                                                        {"kind": "passport", "file": _upload("notes.jpg", b"just some text\n")})
    assert resp.status_code == 200
    assert resp.context["upload_form"].errors["file"] == ["Only JPEG, PNG, TIFF or PDF files are accepted; this file is none of them."]
    assert 'href="#id_file">File: Only JPEG, PNG, TIFF or PDF' in resp.content.decode()
    assert not case.package.attachments.exists()
    resp = browser(world["users"]["icts_analyst"]).post(reverse("icts-upload", args=[case.pk]), {"kind": "passport"})
    assert resp.context["upload_form"].errors["file"] == ["Choose a file to upload."]


def _upload(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


# --- submission and review ---------------------------------------------------------------------------------


def test_submit_beyond_the_agreement_returns_to_the_form_with_the_fields_marked_and_changes_nothing(world):
    # Saved while the agreement authorised everything; the agreement in force now authorises less.
    case = take(world)
    services.package_save(actor=world["users"]["icts_analyst"], case=case, reviewer_name="Rita Moreno",
                          person={"family_name": "Haddad", "race": "Not for Canada", "immigration_status": {"status": "Asylee"}})
    services.package_add_attachment(actor=world["users"]["icts_analyst"], case=case, filename="visa.jpg", data=jpeg_bytes(), kind="visa")
    client = browser(world["users"]["icts_analyst"])
    resp = client.post(reverse("icts-submit", args=[case.pk]))
    assert resp.status_code == 200 and resp.templates[0].name == "icts/package_form.html"
    html = resp.content.decode()
    assert ("The agreement with Canada does not authorise the data elements Race, Immigration status and documents of the "
            "kind Visa") in html
    assert "race" not in html.split("does not authorise", 1)[1].split("</", 1)[0]  # labels, never codes
    errors = resp.context["form"].errors
    assert set(errors) == {"__all__", "race", "immigration_status"}
    assert errors["race"] == ["The agreement does not authorise this element: untick “include” to leave it out of the response."]
    assert 'href="#id_race">Race: The agreement does not authorise' in html and 'aria-invalid="true"' in html
    assert re.search(r'<tr class="cpms-row-error">\s*<td><a [^>]*>visa.jpg</a>', html)
    assert "The agreement does not authorise visa documents: remove this one." in html
    assert 'value="Haddad"' in html  # the saved response, as it is
    case.refresh_from_db()
    assert case.status == CaseStatus.PREPARING and case.package.submitted_at is None
    assert case.package.person["race"] == "Not for Canada"  # nothing trimmed


def test_submit_moves_to_review_and_reviewer_sees_the_form(world):
    case = saved(world)
    resp = browser(world["users"]["icts_analyst"]).post(reverse("icts-submit", args=[case.pk]))
    case.refresh_from_db()
    assert resp.status_code == 302 and case.status == CaseStatus.IN_REVIEW
    html = browser(world["users"]["icts_reviewer"]).get(reverse("icts-case", args=[case.pk])).content.decode()
    assert reverse("icts-review", args=[case.pk]) in html and "Approve and transmit" in html
    analyst_html = browser(world["users"]["icts_analyst"]).get(reverse("icts-case", args=[case.pk])).content.decode()
    assert reverse("icts-review", args=[case.pk]) not in analyst_html and reverse("icts-package", args=[case.pk]) not in analyst_html


def test_reviewer_return_requires_comments(world):
    case = submitted(world)
    client = browser(world["users"]["icts_reviewer"])
    resp = client.post(reverse("icts-review", args=[case.pk]), {"verdict": "returned", "comments": "  "})
    assert resp.status_code == 200
    assert resp.context["review_form"].errors["comments"] == ["Say what the analyst should change."]
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    resp = client.post(reverse("icts-review", args=[case.pk]), {"verdict": "returned", "comments": "Add the photo page."})
    case.refresh_from_db()
    assert resp.status_code == 302 and case.status == CaseStatus.RETURNED
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-case", args=[case.pk])).content.decode()
    assert "Returned with comments</strong>" in html and "Add the photo page." in html and "Edit the response" in html


def test_returned_comments_are_on_the_analysts_form(world):
    case = submitted(world)
    services.package_review(actor=world["users"]["icts_reviewer"], case=case, verdict="returned",
                            comments="Add the photo page.\nCheck the date of birth.")
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-package", args=[case.pk])).content.decode()
    assert f"Returned by {world['users']['icts_reviewer'].get_full_name()} on" in html and "Add the photo page.\nCheck the date of birth.</blockquote>" in html
    # Once it is approved after a resubmission, the old comments are no longer the work in hand.
    services.package_submit(actor=world["users"]["icts_analyst"], case=case)
    services.package_review(actor=world["users"]["icts_reviewer"], case=case, verdict="approved")
    from icts.selectors import latest_return

    assert latest_return(case.package) is None


def test_upload_offers_only_the_kinds_the_agreement_authorises(world):
    case = saved(world)
    client = browser(world["users"]["icts_analyst"])
    html = client.get(reverse("icts-package", args=[case.pk])).content.decode()
    assert '<option value="passport">Passport</option>' in html and '<option value="visa">' not in html
    resp = client.post(reverse("icts-upload", args=[case.pk]), {"kind": "visa", "file": _upload("visa.jpg", jpeg_bytes())})
    assert resp.status_code == 200 and not case.package.attachments.exists()
    assert resp.context["upload_form"].errors["kind"][0].startswith("Choose a kind of document from the list: only the kinds")


def test_case_page_shows_countries_reasons_and_documents_in_words(world, django_capture_on_commit_callbacks):
    case = receive(request_message(request_ref="CAN-REQ-WORDS", reason="application", priority="medium", subject={
        "family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-12", "gender": "female",
        "country_of_birth": "IRQ"}), django_capture_on_commit_callbacks)
    case = take(world, case)
    services.package_save(actor=world["users"]["icts_analyst"], case=case, reviewer_name="Rita Moreno",
                          person={"family_name": "Haddad", "country_of_birth": "SYR", "gender": "female"})
    services.package_add_attachment(actor=world["users"]["icts_analyst"], case=case, filename="passport.jpg", data=jpeg_bytes(),
                                    kind="passport")
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-case", args=[case.pk])).content.decode()
    differing = re.search(r'<tr class="cpms-differs">.*?</tr>', html, re.S).group(0)
    assert "Country of birth" in differing and "Iraq (IRQ)" in differing and "Syria (SYR)" in differing
    assert "<td>Iraq (IRQ)</td>" in html.split("Normalised (uniform-v1)")[1]  # the normalised subject
    assert "<td>Female</td>" in html.split("Data elements in the response")[1]
    assert "Application for a benefit" in html and ">Medium<" in html and "<td>Passport</td>" in html
    page = browser(world["users"]["icts_analyst"]).get(reverse("partner-request", args=[case.partner_request_id])).content.decode()
    assert "<title>Canada request CAN-REQ-WORDS" in page and "Application for a benefit" in page


def test_case_page_compares_a_name_in_another_script_as_the_same(world, django_capture_on_commit_callbacks):
    person = PersonFactory(fin="FIN1000000009", family_name="Petrenko", given_names="Oleg", dob_year=1979, dob_month=5, dob_day=14,
                           country_of_birth="UKR", gender="male")
    cis_record(person)
    case = receive(request_message(request_ref="CAN-REQ-CYR", fin="FIN1000000009", subject={
        "family_name": "Петренко", "given_names": "Олег", "date_of_birth": "1979-05-14", "country_of_birth": "UKR",
        "gender": "male"}), django_capture_on_commit_callbacks)
    html = browser(world["users"]["icts_reviewer"]).get(reverse("icts-case", args=[case.pk])).content.decode()
    assert "No discrepancies" in html and "cpms-differs" not in html


def test_icts_notifications_name_the_case_the_request_and_the_person(world, django_capture_on_commit_callbacks):
    from cpms.core.models import Notification

    analyst, reviewer = world["users"]["icts_analyst"], world["users"]["icts_reviewer"]
    new = receive(request_message(request_ref="CAN-REQ-NEW", priority="low"), django_capture_on_commit_callbacks)
    opened = Notification.objects.get(user=analyst)
    assert opened.message.startswith(f"ICTS case {new.case_number} (Canada request CAN-REQ-NEW, {world['person']}): a new "
                                     "low-priority request to answer, due ")
    about = f"ICTS case {world['case'].case_number} (Canada request CAN-REQ-1, {world['person']})"
    services.case_assign(actor=reviewer, case=world["case"], analyst=analyst)
    assigned = Notification.objects.filter(user=analyst).latest("id")
    assert assigned.message == f"{about}: assigned to you by Reviewer {reviewer.last_name}."
    case = submitted_case(world)
    assert Notification.objects.filter(user=reviewer).latest("id").message.startswith(f"{about}: the response is ready for review")
    services.package_review(actor=reviewer, case=case, verdict="returned", comments="Add the photo page.")
    assert Notification.objects.filter(user=analyst).latest("id").message == (
        f"{about}: the response was returned by Reviewer {reviewer.last_name}: Add the photo page.")


def submitted_case(world):
    """The case the analyst already holds, saved and submitted."""
    client = browser(world["users"]["icts_analyst"])
    assert client.post(reverse("icts-package", args=[world["case"].pk]), element_post()).status_code == 302
    services.package_submit(actor=world["users"]["icts_analyst"], case=world["case"])
    world["case"].refresh_from_db()
    return world["case"]


def test_obim_empty_list_speaks_of_obims_work(world):
    html = browser(world["users"]["obim_analyst"]).get(reverse("obim-queue")).content.decode()
    assert "No response has been transmitted to a partner yet, so there is no package to retrieve or check" in html
    filtered = browser(world["users"]["obim_analyst"]).get(reverse("obim-queue"), {"delivery": "rejected"}).content.decode()
    assert "No transmitted package was rejected by its partner." in filtered


def test_analyst_cannot_review(world):
    case = submitted(world)
    resp = browser(world["users"]["icts_analyst"]).post(reverse("icts-review", args=[case.pk]), {"verdict": "approved"})
    assert resp.status_code == 200 and "Only ICTS reviewers can approve or return a response." in resp.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_approve_transmits_and_obim_downloads_exactly_what_was_sent(world, django_capture_on_commit_callbacks, monkeypatch):
    ident_accepts_everything(monkeypatch)
    case = submitted(world)
    with django_capture_on_commit_callbacks(execute=True):
        resp = browser(world["users"]["icts_reviewer"]).post(reverse("icts-review", args=[case.pk]), {"verdict": "approved"})
    assert resp.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.TRANSMITTED
    outbox = case.package.outbox_message
    outbox.refresh_from_db()
    assert outbox.status == OutboxMessage.Status.SENT

    obim = browser(world["users"]["obim_analyst"])
    listed = obim.get(reverse("obim-queue")).content.decode()
    assert case.case_number in listed and "Accepted by IDENT" in listed and "Delivery not yet known" in listed
    assert case.case_number not in obim.get(reverse("obim-queue"), {"delivery": "delivered"}).content.decode()
    page = obim.get(reverse("obim-package", args=[case.pk])).content.decode()
    assert str(outbox.message_id) in page and "Rita Moreno" in page and "passport.jpg" in page

    download = obim.get(reverse("obim-package-download", args=[case.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/json"
    assert download["Content-Disposition"].startswith("attachment") and download.content == bytes(outbox.raw)
    assert json.loads(download.content)["body"]["package"]["person"]["family_name"] == "Haddad"
    att = case.package.attachments.get()
    doc = obim.get(reverse("obim-attachment", args=[case.pk, att.pk]))
    assert doc.status_code == 200 and b"".join(doc.streaming_content) == att.file.open("rb").read()  # as stored and sent


@pytest.mark.parametrize("persona", ["icts_analyst", "icts_reviewer", "officer", "privacy_officer"])
def test_obim_pages_get_404_for_other_roles(world, django_capture_on_commit_callbacks, monkeypatch, persona):
    ident_accepts_everything(monkeypatch)
    case = submitted(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.package_review(actor=world["users"]["icts_reviewer"], case=case, verdict="approved")
    client = browser(world["users"][persona])
    assert client.get(reverse("obim-queue")).status_code == 404
    assert client.get(reverse("obim-package", args=[case.pk])).status_code == 404
    assert client.get(reverse("obim-package-download", args=[case.pk])).status_code == 404


def test_obim_gets_404_before_transmission(world):
    case = submitted(world)
    obim = browser(world["users"]["obim_analyst"])
    assert obim.get(reverse("obim-package", args=[case.pk])).status_code == 404
    att = case.package.attachments.get()
    assert obim.get(reverse("obim-attachment", args=[case.pk, att.pk])).status_code == 404
    assert case.case_number not in obim.get(reverse("obim-queue")).content.decode()


# --- landing pages and navigation --------------------------------------------------------------------------


@pytest.mark.parametrize("persona,landing", [("officer", "my-cases"), ("icts_analyst", "icts-queue"), ("icts_reviewer", "icts-queue"),
                                             ("obim_analyst", "obim-queue"), ("privacy_officer", "privacy-decisions")])
def test_home_shows_each_role_its_work_with_links_to_its_pages(world, persona, landing):
    html = browser(world["users"][persona]).get(reverse("home")).content.decode()
    assert "<h1>Your work</h1>" in html and f'href="{reverse(landing)}' in html.split("<main")[1]
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert core_views.home(request)["Location"].startswith(reverse("login"))


def test_nav_shows_each_role_its_links(world):
    analyst = browser(world["users"]["icts_analyst"]).get(reverse("icts-queue")).content.decode()
    assert f'href="{reverse("icts-queue")}" class="usa-nav-link usa-current"' in analyst and 'href="/cases/"' not in analyst
    privacy = browser(world["users"]["privacy_officer"]).get(reverse("privacy-decisions")).content.decode()
    assert 'href="/privacy/referrals/"' in privacy and 'href="/icts/"' not in privacy and 'href="/cases/"' not in privacy
    officer = browser(world["users"]["officer"]).get(reverse("my-cases")).content.decode()
    assert 'href="/cases/"' in officer and 'href="/icts/"' not in officer and 'href="/privacy/decisions/"' not in officer


def test_reviewers_queue_offers_every_analyst_escaped_once_for_the_page(world):
    take(world)
    UserFactory(role="icts_analyst", first_name="<b>Eve</b>", last_name="Smith")
    html = browser(world["users"]["icts_reviewer"]).get(reverse("icts-queue"), {"status": ""}).content.decode()
    assert "&lt;b&gt;Eve&lt;/b&gt; Smith" in html and "<b>Eve</b>" not in html
    assert html.count("Eve&lt;/b&gt; Smith") == 1  # one select for the ticked cases, not one per row
