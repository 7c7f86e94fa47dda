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
