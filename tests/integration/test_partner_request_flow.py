"""A partner's request end to end over real HTTP: the simulator sends it (in each ICD §5 template), a real
worker checks protected status in the local CIS index, protected persons get no_match, the others become ICTS
cases that are prepared, reviewed, transmitted and acknowledged as delivered; an augmentation is answered."""

from __future__ import annotations

import json

import pytest

from cpms.cis.classes import ProtectedClass
from cpms.core.reference_data import load_reference_data
from cpms.disclosure.models import DisclosureRecord
from cpms.partner_requests.models import PartnerRequest
from cpms.partner_requests.services import augmentation_request
from icts import services as icts
from icts.models import IctsCase
from tests.factories import PersonFactory, UserFactory, cis_record, jpeg_bytes
from tests.integration.harness import Stack, dump

pytestmark = pytest.mark.integration


@pytest.fixture
def world(cpms_stack):
    load_reference_data()
    shared = PersonFactory(fin="FIN1000000001", family_name="Haddad", given_names="Amal")
    cis_record(shared)
    protected = PersonFactory(fin="FIN1000000003", family_name="Petrenko", given_names="Oleg")
    cis_record(protected, ProtectedClass.ASYLUM, ProtectedClass.T)
    return {"shared": shared, "protected": protected, "analyst": UserFactory(role="icts_analyst"),
            "reviewer": UserFactory(role="icts_reviewer")}


def send(stack: Stack, **body) -> str:
    return stack.sim._control("POST", "requests", body)["body"]["request_ref"]


def wait_request(stack: Stack, ref: str, status: str) -> PartnerRequest:
    def reached():
        req = PartnerRequest.objects.filter(request_ref=ref).first()
        return req if req and req.status == status else None

    return stack.wait_until(reached, timeout=30, what=f"request {ref} to become {status}",
                            describe=lambda: dump(list(PartnerRequest.objects.values("request_ref", "status"))))


def sim_reply(stack: Stack, ref: str) -> dict | None:
    for message in stack.sim.received():
        if message["type"] == "request.reply" and message["body"]["request_ref"] == ref:
            return message
    return None


@pytest.mark.parametrize("template", ["uniform-v1", "CAN-v1", "AUS-v1"])
def test_protected_person_gets_no_match_on_the_wire(cpms_stack: Stack, world, template):
    partner = "AUS" if template == "AUS-v1" else "CAN"
    ref = send(cpms_stack, partner=partner, fin="FIN1000000003", template=template)
    req = wait_request(cpms_stack, ref, "answered_no_match")
    assert req.subject_as_received and req.subject["family_name"]
    reply = cpms_stack.wait_until(lambda: sim_reply(cpms_stack, ref), what=f"the simulator to receive the reply to {ref}")
    assert reply["body"] == {"request_ref": ref, "outcome": "no_match"}
    assert req.decisions.get().reasons and not IctsCase.objects.exists()


def test_shareable_request_goes_through_icts_to_delivery(cpms_stack: Stack, world):
    ref = send(cpms_stack, partner="CAN", fin="FIN1000000001", template="CAN-v1")
    req = wait_request(cpms_stack, ref, "in_icts")
    case = IctsCase.objects.get(partner_request=req)
    analyst, reviewer = world["analyst"], world["reviewer"]
    case = icts.case_assign(actor=analyst, case=case, analyst=analyst)
    icts.package_save(actor=analyst, case=case, reviewer_name="Rita Moreno",
                      person={"family_name": "Haddad", "given_names": "Amal", "a_number": world["shared"].a_number})
    icts.package_add_attachment(actor=analyst, case=case, filename="passport.jpg", data=jpeg_bytes(), kind="passport")
    icts.package_submit(actor=analyst, case=case)
    icts.package_review(actor=reviewer, case=case, verdict="approved")  # on commit: the worker transmits

    def delivered():
        current = IctsCase.objects.get(pk=case.pk)
        return current if current.status == "delivered" else None

    cpms_stack.wait_until(delivered, timeout=40, what=f"{case.case_number} to be delivered",
                          describe=lambda: dump(list(IctsCase.objects.values("case_number", "status", "blocked_reason"))))
    reply = sim_reply(cpms_stack, ref)
    assert reply["body"]["outcome"] == "response"
    assert reply["body"]["package"]["person"]["family_name"] == "Haddad"
    sent = json.loads(bytes(IctsCase.objects.get(pk=case.pk).package.outbox_message.raw))
    assert sent["body"] == reply["body"]  # OBIM's copy is exactly what IDENT received
    assert DisclosureRecord.objects.filter(person=world["shared"], partner_id="CAN").count() == 1

    aug = augmentation_request(actor=analyst, req=req, requested_items=["watchlist_status"], justification="identity check")

    def answered():
        aug.refresh_from_db()
        return aug if aug.answered_at else None

    cpms_stack.wait_until(answered, timeout=30, what=f"augmentation {aug.augment_ref} to be answered")
    assert aug.response.person


def test_hostile_images_reach_neither_cpms_nor_the_partner(cpms_stack: Stack, world):
    """Issue 16: a script in every place a JPEG, PNG and TIFF can hold one. An analyst's uploads (over the API) go
    out in the `request.reply` as pixels alone, byte for byte what IDENT received; a partner's answer with the same
    files (signed and posted to CPMS's door) is stored as pixels alone, its original kept in the raw message."""
    import base64
    import time

    import requests
    from rest_framework.authtoken.models import Token

    from cpms.queries.models import ResponseAttachment
    from ident_bridge import icd
    from ident_bridge.models import InboundMessage
    from tests.files_corpus import clean_structure, jpeg_everything, png_everything, tiff_everything
    from tests.integration.harness import TEST_SECRET

    hostile = [("photo.jpg", "image/jpeg", jpeg_everything()), ("photo.png", "image/png", png_everything()),
               ("scan.tif", "image/tiff", tiff_everything())]
    assert all(clean_structure(data) for _, _, data in hostile)  # each carries the script, readable or compressed
    ref = send(cpms_stack, partner="CAN", fin="FIN1000000001", template="CAN-v1")
    req = wait_request(cpms_stack, ref, "in_icts")
    analyst, reviewer = world["analyst"], world["reviewer"]
    case = icts.case_assign(actor=analyst, case=IctsCase.objects.get(partner_request=req), analyst=analyst)
    icts.package_save(actor=analyst, case=case, reviewer_name="Rita Moreno", person={"family_name": "Haddad"})
    api = requests.Session()
    api.headers["Authorization"] = f"Token {Token.objects.create(user=analyst).key}"
    for filename, media_type, data in hostile:
        resp = api.post(f"{cpms_stack.live_url}/api/v1/icts/cases/{case.pk}/attachments/", data={"kind": "passport"},
                        files={"file": (filename, data, media_type)}, timeout=30)
        assert resp.status_code == 200, (filename, resp.status_code, resp.text[:500])
    icts.package_submit(actor=analyst, case=case)
    icts.package_review(actor=reviewer, case=case, verdict="approved")
    cpms_stack.wait_until(lambda: sim_reply(cpms_stack, ref), timeout=40, what=f"the simulator to receive the reply to {ref}")
    sent = sim_reply(cpms_stack, ref)["body"]["package"]["attachments"]
    assert sorted(a["media_type"] for a in sent) == ["image/jpeg", "image/png", "image/tiff"]
    for att in sent:
        data = base64.b64decode(att["content_base64"])
        assert icd.sha256_hex(data) == att["sha256"] and clean_structure(data) == [], att["filename"]

    # The partner answers an augmentation with the same files (the simulator's own answer is held back meanwhile).
    cpms_stack.sim.set_faults(result_delay=600)
    aug = augmentation_request(actor=analyst, req=req, requested_items=["document_images"], justification="identity check")
    message = icd.envelope("query.response", "CAN", {
        "augment_ref": aug.augment_ref, "responder": {"name": "IRCC analyst", "organization": "IRCC"},
        "responded_at": "2026-11-25T14:00:00Z", "person": {"family_name": "Haddad"},
        "attachments": [icd.attachment(filename=f, media_type=m, kind="passport", data=d) for f, m, d in hostile]})
    raw = icd.canonical_bytes(message)
    resp = requests.post(f"{cpms_stack.live_url}/ident/v1/messages", data=raw, timeout=30,
                         headers={"Content-Type": "application/json", **icd.signed_headers(raw, TEST_SECRET, timestamp=int(time.time()))})
    assert resp.status_code == 202, resp.text[:500]

    def answered():
        aug.refresh_from_db()
        return aug if aug.answered_at else None

    cpms_stack.wait_until(answered, timeout=30, what=f"augmentation {aug.augment_ref} to be answered")
    rows = list(ResponseAttachment.objects.filter(response__augmentation=aug).order_by("position"))
    assert len(rows) == len(hostile)
    for row, (_, _, original) in zip(rows, hostile, strict=True):
        stored = row.file.open("rb").read()
        assert clean_structure(stored) == [] and row.sha256 == icd.sha256_hex(stored), row.filename
        assert row.received_sha256 == icd.sha256_hex(original)
    evidence = json.loads(bytes(InboundMessage.objects.get(message_id=message["message_id"]).raw))
    assert [base64.b64decode(a["content_base64"]) for a in evidence["body"]["attachments"]] == [d for _, _, d in hostile]
