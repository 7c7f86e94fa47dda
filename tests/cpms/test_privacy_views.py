"""Privacy officers' pages and the partner-request page: personas, the decisions list and its filters, the referral
queue, deciding a referral (withhold, errors per field, the statutory floor), and augmentation through IDENT."""

import json
import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from cpms.cis.classes import ProtectedClass
from cpms.cis.models import CisClassEntry
from cpms.disclosure.models import Decision, RuleSet
from cpms.partner_requests.models import PartnerRequest
from cpms.partner_requests.workflow import RequestStatus
from icts import services as icts_services
from ident_bridge.inbound import inbound_process
from ident_bridge.models import OutboxMessage
from tests.factories import AgreementFactory, PartnerFactory, PersonFactory, UserFactory, cis_record, request_message, store_inbound


def browser(user=None) -> Client:
    client = Client()
    client.post(reverse("system-use"))
    if user:
        client.force_login(user)
    return client


def receive(message, django_capture_on_commit_callbacks) -> PartnerRequest:
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(message).pk)
    return PartnerRequest.objects.get(request_ref=message["body"]["request_ref"])


@pytest.fixture
def world(db):
    AgreementFactory(partner__code="CAN")
    PartnerFactory(code="AUS")
    users = {r: UserFactory(role=r) for r in ("privacy_officer", "icts_analyst", "icts_reviewer", "obim_analyst", "officer")}
    users["other_privacy_officer"] = UserFactory(role="privacy_officer")
    return {"users": users, "person": PersonFactory(fin="FIN1000000001")}


@pytest.fixture
def referred(world, django_capture_on_commit_callbacks):
    """An asylee's request with no active rule set: every class is referred to a privacy officer."""
    world["record"] = cis_record(PersonFactory(fin="FIN2000000002"), ProtectedClass.ASYLUM)
    RuleSet.objects.update(is_active=False)
    req = receive(request_message(request_ref="CAN-REF-1", fin="FIN2000000002"), django_capture_on_commit_callbacks)
    assert req.status == RequestStatus.REFERRED
    return req


@pytest.fixture
def shared(world, django_capture_on_commit_callbacks):
    cis_record(world["person"])
    req = receive(request_message(request_ref="CAN-SHARE-1"), django_capture_on_commit_callbacks)
    assert req.status == RequestStatus.IN_ICTS
    return req


def messages_of(resp) -> list[str]:
    return [str(m) for m in get_messages(resp.wsgi_request)]


# --- decisions and referrals -------------------------------------------------------------------------------


def test_decisions_list_shows_each_decision_and_filters(world, shared, django_capture_on_commit_callbacks):
    withheld = receive(request_message(request_ref="CAN-NOBODY", fin="FIN9999999999"), django_capture_on_commit_callbacks)
    client = browser(world["users"]["privacy_officer"])
    html = client.get(reverse("privacy-decisions")).content.decode()
    assert "CAN-SHARE-1" in html and "CAN-NOBODY" in html
    assert "cpms-outcome--share" in html and "cpms-outcome--withhold" in html and "On receipt of the request" in html
    assert f"v{Decision.objects.get(partner_request=shared).ruleset.version}" in html
    assert "FIN FIN9999999999 matches no USCIS record" in html  # the first reason
    assert reverse("partner-request", args=[withheld.pk]) in html

    only_withheld = client.get(reverse("privacy-decisions"), {"outcome": "withhold"}).content.decode()
    assert "CAN-NOBODY" in only_withheld and "CAN-SHARE-1" not in only_withheld
    assert "No decision matches these filters" in client.get(reverse("privacy-decisions"), {"partner": "AUS"}).content.decode()


def test_decisions_list_names_the_rule_that_decided_a_withheld_t_visa_holder(world, django_capture_on_commit_callbacks):
    person = PersonFactory(fin="FIN3000000003")
    cis_record(person, {"protected_class": ProtectedClass.ASYLUM, "consent_partners": ["CAN"]}, ProtectedClass.T)
    req = receive(request_message(request_ref="CAN-T-1", fin="FIN3000000003"), django_capture_on_commit_callbacks)
    decision = Decision.objects.get(partner_request=req)
    assert decision.outcome == "withhold" and {r["action"] for r in decision.reasons} == {"share", "withhold"}
    html = browser(world["users"]["privacy_officer"]).get(reverse("privacy-decisions")).content.decode()
    row = re.search(r"<tr>(?:(?!</tr>).)*CAN-T-1.*?</tr>", html, re.S).group(0)
    assert "T nonimmigrant (trafficking victim)" in row and "8 U.S.C. 1367" in row
    assert "Asylum" not in row and "consent" not in row  # the share reason that lost is not the one shown
    page = browser(world["users"]["privacy_officer"]).get(reverse("partner-request", args=[req.pk])).content.decode()
    assert page.count("Decided the outcome") == 1  # on the request, every reason, the deciding one marked


def test_decisions_say_the_class_and_the_partner_in_words(world, referred):
    html = browser(world["users"]["privacy_officer"]).get(reverse("privacy-decisions")).content.decode()
    assert "No rule covers Asylum applicant or asylee for Canada: a privacy officer decides" in html
    assert "ASYLUM" not in html and "for CAN" not in html
    page = browser(world["users"]["privacy_officer"]).get(reverse("partner-request", args=[referred.pk])).content.decode()
    assert "No rule covers Asylum applicant or asylee for Canada" in page and "ASYLUM" not in page


def test_privacy_notifications_name_the_request_the_person_and_why(world, referred):
    from cpms.core.models import Notification

    note = Notification.objects.filter(user=world["users"]["privacy_officer"]).latest("id")
    person = referred.person
    assert note.message.startswith(f"Canada request CAN-REF-1 about {person}: referred to a privacy officer")
    assert "Why: " in note.message and note.url == f"/privacy/referrals/{referred.pk}/"


@pytest.mark.parametrize("persona,status", [("privacy_officer", 200), ("icts_analyst", 404), ("officer", 404), ("obim_analyst", 404)])
def test_privacy_lists_personas(world, shared, persona, status):
    client = browser(world["users"][persona])
    assert client.get(reverse("privacy-decisions")).status_code == status
    assert client.get(reverse("privacy-referrals")).status_code == status


def test_referral_queue_lists_what_waits_for_a_privacy_officer(world, shared, referred):
    html = browser(world["users"]["privacy_officer"]).get(reverse("privacy-referrals")).content.decode()
    assert "CAN-REF-1" in html and "CAN-SHARE-1" not in html and reverse("partner-request", args=[referred.pk]) in html


def test_notification_link_to_a_referral_leads_to_the_request(world, referred):
    resp = browser(world["users"]["privacy_officer"]).get(f"/privacy/referrals/{referred.pk}/")
    assert resp.status_code == 302 and resp["Location"] == reverse("partner-request", args=[referred.pk])
    assert browser(world["users"]["officer"]).get(f"/privacy/referrals/{referred.pk}/").status_code == 404


# --- the request page --------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona,status", [
    ("privacy_officer", 200),
    ("other_privacy_officer", 200),  # privacy officers all see every request
    ("icts_analyst", 404),  # no ICTS case: a referred request is not the analysts' business
    ("officer", 404),
    ("obim_analyst", 404),
])
def test_request_page_personas(world, referred, persona, status):
    resp = browser(world["users"][persona]).get(reverse("partner-request", args=[referred.pk]))
    assert resp.status_code == status
    if status == 404:
        assert "CAN-REF-1" not in resp.content.decode()


def test_request_page_gets_404_for_a_missing_request(world):
    assert browser(world["users"]["privacy_officer"]).get(reverse("partner-request", args=[999999])).status_code == 404


def test_request_page_shows_the_request_the_decisions_and_the_cis_answer(world, django_capture_on_commit_callbacks):
    cis_record(world["person"], {"protected_class": ProtectedClass.ASYLUM, "consent_partners": ["CAN"], "feared_countries": ["SYR"]})
    RuleSet.objects.update(is_active=False)
    req = receive(request_message(request_ref="CAN-AUS-T", template="CAN-v1", subject={
        "surname": "Haddad", "given_names": "Amal", "dob": "1985-04-12", "sex": "F", "uci": "12345678"}),
        django_capture_on_commit_callbacks)
    html = browser(world["users"]["privacy_officer"]).get(reverse("partner-request", args=[req.pk])).content.decode()
    assert "As received (CAN-v1)" in html and "<code data-verbatim>surname</code>" in html and "Normalised (uniform-v1)" in html
    assert "Referred to a privacy officer" in html and "On receipt of the request" in html
    assert "Asylum applicant or asylee" in html and '<td data-label="Consent to share with">Canada (CAN)</td>' in html and '<td data-label="Feared countries">Syria (SYR)</td>' in html
    assert "No active rule set" in html and reverse("privacy-referral-resolve", args=[req.pk]) in html


def test_resolve_is_offered_only_to_privacy_officers_on_referred_requests(world, shared):
    icts_case = shared.icts_case
    analyst = world["users"]["icts_analyst"]
    icts_services.case_assign(actor=analyst, case=icts_case, analyst=analyst)
    html = browser(analyst).get(reverse("partner-request", args=[shared.pk])).content.decode()
    assert reverse("privacy-referral-resolve", args=[shared.pk]) not in html
    html = browser(world["users"]["privacy_officer"]).get(reverse("partner-request", args=[shared.pk])).content.decode()
    assert reverse("privacy-referral-resolve", args=[shared.pk]) not in html and "ICTS case open" in html


# --- deciding a referral -----------------------------------------------------------------------------------


def test_withhold_answers_no_match_and_records_the_decision(world, referred):
    client = browser(world["users"]["privacy_officer"])
    resp = client.post(reverse("privacy-referral-resolve", args=[referred.pk]),
                       {"outcome": "withhold", "justification": "Asylee: 8 CFR 208.6 and no authorisation."})
    assert resp.status_code == 302 and resp["Location"] == reverse("partner-request", args=[referred.pk])
    assert messages_of(resp) == ["Withheld: Canada is answered “no match” for CAN-REF-1."]
    referred.refresh_from_db()
    assert referred.status == RequestStatus.ANSWERED_NO_MATCH
    assert json.loads(bytes(referred.reply_message.raw))["body"] == {"request_ref": "CAN-REF-1", "outcome": "no_match"}
    html = client.get(reverse("partner-request", args=[referred.pk])).content.decode()
    assert "Privacy officer&#x27;s review" in html and "Asylee: 8 CFR 208.6 and no authorisation." in html


def test_resolve_errors_are_shown_per_field(world, referred):
    resp = browser(world["users"]["privacy_officer"]).post(reverse("privacy-referral-resolve", args=[referred.pk]),
                                                           {"justification": ""})
    assert resp.status_code == 200 and resp.context["form"].errors["outcome"] == ["Choose share or withhold."]
    resp = browser(world["users"]["privacy_officer"]).post(reverse("privacy-referral-resolve", args=[referred.pk]),
                                                           {"outcome": "withhold", "justification": "  "})
    assert resp.context["form"].errors["justification"] == [
        "Record why: the decision and its reason are kept for the privacy record."]
    assert 'href="#id_justification">Justification:' in resp.content.decode()
    referred.refresh_from_db()
    assert referred.status == RequestStatus.REFERRED


def test_share_refused_by_the_statutory_floor_is_an_error_alert(world, referred):
    CisClassEntry.objects.create(record=world["record"], protected_class=ProtectedClass.VAWA)  # CIS learns of a VAWA petition
    resp = browser(world["users"]["privacy_officer"]).post(reverse("privacy-referral-resolve", args=[referred.pk]),
                                                           {"outcome": "share", "justification": "Looks fine to me."})
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'usa-alert--error" role="alert"' in html and "The decision was not recorded" in html
    assert "may not be shared with this partner whatever the review" in html
    referred.refresh_from_db()
    assert referred.status == RequestStatus.REFERRED and not hasattr(referred, "icts_case")
    assert not OutboxMessage.objects.filter(type="request.reply").exists()


def test_only_privacy_officers_can_post_a_decision(world, referred):
    assert browser(world["users"]["officer"]).post(reverse("privacy-referral-resolve", args=[referred.pk]),
                                                   {"outcome": "withhold", "justification": "x"}).status_code == 404
    assert browser(world["users"]["privacy_officer"]).get(reverse("privacy-referral-resolve", args=[referred.pk])).status_code == 405


# --- augmentation ------------------------------------------------------------------------------------------


def test_augmentation_form_sends_request_augment_through_ident(world, shared, django_capture_on_commit_callbacks):
    analyst = world["users"]["icts_analyst"]
    icts_services.case_assign(actor=analyst, case=shared.icts_case, analyst=analyst)
    client = browser(analyst)
    url = reverse("partner-request-augment", args=[shared.pk])
    html = client.get(url).content.decode()
    assert 'value="watchlist_status"' in html and "Ask Canada for more on this person" in html

    resp = client.post(url, {"justification": "Fraud check"})
    assert resp.status_code == 200 and resp.context["form"].errors["requested_items"] == ["Choose at least one item to request."]
    assert not OutboxMessage.objects.filter(type="request.augment").exists()

    with django_capture_on_commit_callbacks(execute=False):
        resp = client.post(url, {"requested_items": ["watchlist_status", "photographs"], "justification": "Fraud check"})
    assert resp.status_code == 302 and resp["Location"] == reverse("icts-case", args=[shared.icts_case.pk])
    assert messages_of(resp) == ["Augmentation request sent to Canada through IDENT."]
    sent = json.loads(bytes(OutboxMessage.objects.get(type="request.augment").raw))
    assert sent["body"]["request_ref"] == "CAN-SHARE-1" and sent["body"]["requested_items"] == ["watchlist_status", "photographs"]
    html = client.get(reverse("icts-case", args=[shared.icts_case.pk])).content.decode()
    assert sent["body"]["augment_ref"] in html and "Watchlist status, Photographs" in html and "Awaiting Canada" in html


@pytest.mark.parametrize("persona", ["officer", "obim_analyst"])
def test_augmentation_form_gets_404_for_other_roles(world, shared, persona):
    assert browser(world["users"][persona]).get(reverse("partner-request-augment", args=[shared.pk])).status_code == 404


def test_augmentation_form_gets_404_for_an_analyst_without_the_case(world, shared):
    other = UserFactory(role="icts_analyst")
    analyst = world["users"]["icts_analyst"]
    icts_services.case_assign(actor=analyst, case=shared.icts_case, analyst=analyst)
    assert browser(other).get(reverse("partner-request-augment", args=[shared.pk])).status_code == 404


def test_augmentation_is_not_offered_or_sent_for_a_referred_request(world, referred):
    """Asking the partner about a request that may still be answered "no match" would reveal the match (ICD §3)."""
    client = browser(world["users"]["privacy_officer"])
    assert reverse("partner-request-augment", args=[referred.pk]) not in client.get(reverse("partner-request", args=[referred.pk])).content.decode()
    resp = client.post(reverse("partner-request-augment", args=[referred.pk]), {"requested_items": ["biographic"], "justification": "x"})
    assert resp.status_code == 200 and "can be asked for more only once the request may be shared" in resp.content.decode()
    assert not OutboxMessage.objects.filter(type="request.augment").exists()
