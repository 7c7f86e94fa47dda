"""ICTS, OBIM and partner-request endpoints: the whole path over the API, with personas and 404s."""

import io

import pytest
from rest_framework.test import APIClient

from cpms.cis.classes import ProtectedClass
from ident_bridge.inbound import inbound_process
from icts.models import IctsCase
from tests.fakes import ident_accepts_everything
from tests.factories import AgreementFactory, PersonFactory, UserFactory, cis_record, jpeg_bytes, request_message, store_inbound


@pytest.fixture
def world(db, django_capture_on_commit_callbacks, monkeypatch):
    ident_accepts_everything(monkeypatch)
    AgreementFactory(partner__code="CAN")
    person = PersonFactory(fin="FIN1000000001")
    cis_record(person)
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(request_message()).pk)
    users = {r: UserFactory(role=r) for r in ("icts_analyst", "icts_reviewer", "obim_analyst", "privacy_officer", "officer")}
    users["other_analyst"] = UserFactory(role="icts_analyst")
    return {"case": IctsCase.objects.get(), "users": users, "person": person}


def api(user):
    c = APIClient()
    c.force_authenticate(user)
    return c


def run_to_transmitted(world, django_capture_on_commit_callbacks):
    u, case = world["users"], world["case"]
    a = api(u["icts_analyst"])
    assert a.post(f"/api/v1/icts/cases/{case.pk}/assign/", {}, format="json").status_code == 200
    put = a.put(f"/api/v1/icts/cases/{case.pk}/package/", {"reviewer_name": "Rita Moreno",
                "person": {"family_name": "Haddad", "given_names": "Amal", "a_number": "A300000001"}}, format="json")
    assert put.status_code == 200, put.json()
    upload = a.post(f"/api/v1/icts/cases/{case.pk}/attachments/",
                    {"file": io.BytesIO(jpeg_bytes()), "kind": "passport"}, format="multipart")
    assert upload.status_code == 200, upload.json()
    assert a.post(f"/api/v1/icts/cases/{case.pk}/submit/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        r = api(u["icts_reviewer"]).post(f"/api/v1/icts/cases/{case.pk}/review/", {"verdict": "approved"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "approved"  # transmission runs after the commit
    assert api(u["icts_reviewer"]).get(f"/api/v1/icts/cases/{case.pk}/").json()["status"] == "transmitted"
    return case


def test_whole_path_and_obim_download_exactly_as_sent(world, django_capture_on_commit_callbacks):
    case = run_to_transmitted(world, django_capture_on_commit_callbacks)
    obim = api(world["users"]["obim_analyst"])
    listed = obim.get("/api/v1/obim/packages/").json()
    assert len(listed["results"]) == 1 and listed["results"][0]["send_status"] == "sent"
    raw = obim.get(f"/api/v1/obim/packages/{case.pk}/download/")
    case.refresh_from_db()
    assert raw.content == bytes(case.package.outbox_message.raw)


@pytest.mark.parametrize("persona,status", [("icts_analyst", 200), ("icts_reviewer", 200), ("other_analyst", 404),
                                            ("obim_analyst", 404), ("privacy_officer", 404), ("officer", 404)])
def test_case_detail_personas_once_assigned(world, persona, status):
    api(world["users"]["icts_analyst"]).post(f"/api/v1/icts/cases/{world['case'].pk}/assign/", {}, format="json")
    assert api(world["users"][persona]).get(f"/api/v1/icts/cases/{world['case'].pk}/").status_code == status


def test_open_case_is_in_every_analysts_queue(world):
    assert len(api(world["users"]["other_analyst"]).get("/api/v1/icts/cases/").json()["results"]) == 1
    assert len(api(world["users"]["officer"]).get("/api/v1/icts/cases/").json()["results"]) == 0


@pytest.mark.parametrize("persona,status", [("obim_analyst", 200), ("icts_analyst", 404), ("officer", 404)])
def test_obim_personas(world, django_capture_on_commit_callbacks, persona, status):
    case = run_to_transmitted(world, django_capture_on_commit_callbacks)
    assert api(world["users"][persona]).get(f"/api/v1/obim/packages/{case.pk}/download/").status_code == status


def test_package_beyond_agreement_is_422_naming_fields(world):
    a = api(world["users"]["icts_analyst"])
    case = world["case"]
    a.post(f"/api/v1/icts/cases/{case.pk}/assign/", {}, format="json")
    a.put(f"/api/v1/icts/cases/{case.pk}/package/", {"reviewer_name": "R", "person": {"family_name": "H", "race": "x"}}, format="json")
    resp = a.post(f"/api/v1/icts/cases/{case.pk}/submit/")
    assert resp.status_code == 422 and "the data elements Race" in resp.json()["detail"] and resp.json()["errors"][0]["pointer"] == "/person"


def test_upload_of_a_non_document_is_refused(world):
    a = api(world["users"]["icts_analyst"])
    case = world["case"]
    a.post(f"/api/v1/icts/cases/{case.pk}/assign/", {}, format="json")
    a.put(f"/api/v1/icts/cases/{case.pk}/package/", {"reviewer_name": "R", "person": {"family_name": "H"}}, format="json")
    resp = a.post(f"/api/v1/icts/cases/{case.pk}/attachments/", {"file": io.BytesIO(b"#!/bin/sh\nrm -rf /"), "kind": "passport"},
                  format="multipart")
    # a file part, as the schema says, whose bytes are no document the ICD allows: well formed, refused by a rule
    assert resp.status_code == 422 and resp.json()["errors"][0]["pointer"] == "/file"


def test_partner_request_detail_shows_received_and_normalised_and_decisions(world):
    req = world["case"].partner_request
    resp = api(world["users"]["privacy_officer"]).get(f"/api/v1/partner-requests/{req.pk}/")
    body = resp.json()
    assert resp.status_code == 200 and body["subject_as_received"] and body["subject"] and body["decisions"][0]["outcome"] == "share"
    assert api(world["users"]["officer"]).get(f"/api/v1/partner-requests/{req.pk}/").status_code == 404


def test_privacy_officer_resolves_referral_over_api(world, django_capture_on_commit_callbacks):
    from cpms.disclosure.models import RuleSet

    RuleSet.objects.update(is_active=False)
    person = PersonFactory(fin="FIN1000000002")
    cis_record(person, ProtectedClass.REFUGEE)
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(request_message(fin="FIN1000000002", request_ref="CAN-REF-2")).pk)
    from cpms.partner_requests.models import PartnerRequest

    req = PartnerRequest.objects.get(request_ref="CAN-REF-2")
    assert req.status == "referred"
    po = api(world["users"]["privacy_officer"])
    missing = po.post(f"/api/v1/partner-requests/{req.pk}/resolve/", {"outcome": "share"}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["pointer"] == "/justification"
    with django_capture_on_commit_callbacks(execute=True):
        done = po.post(f"/api/v1/partner-requests/{req.pk}/resolve/", {"outcome": "withhold", "justification": "no consent"},
                       format="json")
    assert done.status_code == 200 and done.json()["status"] == "answered_no_match"
    assert api(world["users"]["icts_analyst"]).post(f"/api/v1/partner-requests/{req.pk}/resolve/", {}, format="json").status_code == 404


def test_api_work_queue_filters(world, django_capture_on_commit_callbacks):
    from icts import services

    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(request_message(request_ref="CAN-LOW-1", priority="low")).pk)
    low = IctsCase.objects.get(partner_request__request_ref="CAN-LOW-1")
    analyst = world["users"]["icts_analyst"]
    services.case_assign(actor=analyst, case=world["case"], analyst=analyst)

    def refs(user, **params):
        return [c["case_number"] for c in api(user).get("/api/v1/icts/cases/", params).json()["results"]]

    assert refs(analyst) == [world["case"].case_number, low.case_number]  # high before low
    assert refs(analyst, mine="true") == [world["case"].case_number]
    assert refs(analyst, priority="low") == [low.case_number]
    assert refs(world["users"]["other_analyst"]) == [low.case_number]  # the pool only
    assert refs(world["users"]["icts_reviewer"], status="preparing") == [world["case"].case_number]


def test_a_second_approval_is_a_409_problem_on_the_api_and_a_message_on_the_page(world, django_capture_on_commit_callbacks):
    """Defect 6: a double click, or two reviewers at once, never a 500."""
    from django.test import Client
    from django.urls import reverse

    from icts.models import Review

    case = run_to_transmitted(world, django_capture_on_commit_callbacks)
    second = api(UserFactory(role="icts_reviewer")).post(f"/api/v1/icts/cases/{case.pk}/review/", {"verdict": "approved"},
                                                         format="json")
    assert second.status_code == 409 and second["Content-Type"] == "application/problem+json"
    assert "no longer waiting for review" in second.json()["detail"] and second.json()["type"] == "urn:cpms:problem:wrong_state"
    browser = Client()
    browser.post(reverse("system-use"))
    browser.force_login(world["users"]["icts_reviewer"])
    page = browser.post(reverse("icts-review", args=[case.pk]), {"verdict": "approved", "comments": ""}, follow=True)
    assert page.status_code == 200 and "no longer waiting for review" in page.content.decode()
    assert Review.objects.count() == 1
