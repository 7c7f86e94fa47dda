"""A case whose transmission was stopped (defect 7): the privacy officer's withholding closes it, sharing sends the
same case after a fresh protected-status check. Never a second case, never stuck in the queue."""

import json

import pytest

from cpms.cis.classes import ProtectedClass
from cpms.cis.models import CisClassEntry
from cpms.disclosure.models import DisclosureRecord, RuleSet
from cpms.partner_requests import services as request_services
from cpms.partner_requests.models import PartnerRequest
from cpms.partner_requests.workflow import RequestStatus
from ident_bridge.inbound import inbound_process
from ident_bridge.models import OutboxMessage
from icts import services
from icts.models import IctsCase
from icts.workflow import ACTIVE, CaseStatus
from tests.factories import AgreementFactory, PersonFactory, UserFactory, cis_record, request_message, store_inbound
from tests.fakes import ident_accepts_everything

PERSON = {"family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-12"}


@pytest.fixture
def world(db, django_capture_on_commit_callbacks, monkeypatch):
    ident_accepts_everything(monkeypatch)
    AgreementFactory(partner__code="CAN", authorised_data_elements=["family_name", "given_names", "date_of_birth"])
    person = PersonFactory(fin="FIN1000000001")
    record = cis_record(person)
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(request_message()).pk)
    w = {"case": IctsCase.objects.get(), "record": record, "analyst": UserFactory(role="icts_analyst"),
         "reviewer": UserFactory(role="icts_reviewer"), "privacy": UserFactory(role="privacy_officer")}
    case = services.case_assign(actor=w["analyst"], case=w["case"], analyst=w["analyst"])
    services.package_save(actor=w["analyst"], case=case, reviewer_name="Rita Moreno", person=PERSON)
    services.package_submit(actor=w["analyst"], case=case)
    return w


def stop_transmission(world, capture, protected_class):
    """Approve after CIS started showing a class: the transmission stops and the request goes to a privacy officer."""
    CisClassEntry.objects.create(record=world["record"], protected_class=protected_class)
    with capture(execute=True):
        services.package_review(actor=world["reviewer"], case=world["case"], verdict="approved")
    case = IctsCase.objects.get()
    assert case.status == CaseStatus.BLOCKED, case.status
    assert PartnerRequest.objects.get().status == RequestStatus.REFERRED
    # the reason in sentences, each rule's own ending with its full stop
    assert case.blocked_reason.startswith("Protected status changed since the case opened. ")
    assert case.blocked_reason.endswith(".") and ".." not in case.blocked_reason and ": 8 U.S.C." not in case.blocked_reason
    return case


def test_withholding_a_stopped_case_closes_it_with_its_reason_and_answers_no_match(world, django_capture_on_commit_callbacks):
    stop_transmission(world, django_capture_on_commit_callbacks, ProtectedClass.U)
    with django_capture_on_commit_callbacks(execute=True):
        request_services.referral_resolve(actor=world["privacy"], req=PartnerRequest.objects.get(), outcome="withhold",
                                          justification="U visa holder: 8 U.S.C. 1367.")
    case = IctsCase.objects.get()
    assert case.status == CaseStatus.CLOSED and case.status not in ACTIVE
    closing = case.transitions.get(to_status=CaseStatus.CLOSED)
    assert "withheld by a privacy officer" in closing.reason and "1367" in closing.reason and closing.actor == world["privacy"]
    req = PartnerRequest.objects.get()
    assert req.status == RequestStatus.ANSWERED_NO_MATCH
    reply = OutboxMessage.objects.get(type="request.reply")
    assert json.loads(bytes(reply.raw))["body"] == {"request_ref": req.request_ref, "outcome": "no_match"}
    assert not DisclosureRecord.objects.exists()


def test_sharing_a_stopped_case_transmits_the_same_case_after_a_fresh_check(world, django_capture_on_commit_callbacks):
    RuleSet.objects.update(is_active=False)  # no rule covers the new class: it is the privacy officer's to decide
    stop_transmission(world, django_capture_on_commit_callbacks, ProtectedClass.ASYLUM)
    with django_capture_on_commit_callbacks(execute=True):
        request_services.referral_resolve(actor=world["privacy"], req=PartnerRequest.objects.get(), outcome="share",
                                          justification="Consent on file for Canada.")
    assert IctsCase.objects.count() == 1
    case = IctsCase.objects.get()
    assert case.status == CaseStatus.TRANSMITTED, list(case.transitions.values_list("to_status", "reason"))
    assert [t.to_status for t in case.transitions.order_by("pk")][-3:] == [CaseStatus.BLOCKED, CaseStatus.APPROVED,
                                                                           CaseStatus.TRANSMITTED]
    assert PartnerRequest.objects.get().status == RequestStatus.ANSWERED
    assert OutboxMessage.objects.filter(type="request.reply").count() == 1 and DisclosureRecord.objects.count() == 1


def test_sharing_is_refused_when_the_fresh_check_finds_a_floor(world, django_capture_on_commit_callbacks):
    stop_transmission(world, django_capture_on_commit_callbacks, ProtectedClass.T)
    with pytest.raises(request_services.RequestError, match="whatever the review") as refused:
        request_services.referral_resolve(actor=world["privacy"], req=PartnerRequest.objects.get(), outcome="share",
                                          justification="Try anyway.")
    assert refused.value.code == "floor"
    assert IctsCase.objects.get().status == CaseStatus.BLOCKED and not OutboxMessage.objects.filter(type="request.reply").exists()


def test_a_stopped_case_that_changes_again_before_resending_stops_again(world, django_capture_on_commit_callbacks):
    RuleSet.objects.update(is_active=False)
    stop_transmission(world, django_capture_on_commit_callbacks, ProtectedClass.ASYLUM)
    with django_capture_on_commit_callbacks(execute=False):  # shared; its transmission not yet run
        request_services.referral_resolve(actor=world["privacy"], req=PartnerRequest.objects.get(), outcome="share",
                                          justification="Consent on file for Canada.")
    CisClassEntry.objects.create(record=world["record"], protected_class=ProtectedClass.VAWA)
    assert services.package_transmit(IctsCase.objects.get().pk) == CaseStatus.BLOCKED
    assert IctsCase.objects.count() == 1 and not OutboxMessage.objects.filter(type="request.reply").exists()


def test_a_share_a_privacy_officer_made_on_an_incomplete_cis_answer_is_transmitted(db, monkeypatch,
                                                                                   django_capture_on_commit_callbacks):
    """Found by the fault suite: the fresh check at transmission gave "no decision" for ever (the case sat approved)."""
    from datetime import timedelta

    from django.utils import timezone

    ident_accepts_everything(monkeypatch)
    AgreementFactory(partner__code="CAN", authorised_data_elements=["family_name", "given_names", "date_of_birth"])
    cis_record(PersonFactory(fin="FIN1000000008"), complete=False)
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(request_message(fin="FIN1000000008")).pk)
    PartnerRequest.objects.update(received_at=timezone.now() - timedelta(days=2))
    request_services.request_check(PartnerRequest.objects.get().pk)
    assert PartnerRequest.objects.get().status == RequestStatus.REFERRED
    privacy, analyst, reviewer = (UserFactory(role=r) for r in ("privacy_officer", "icts_analyst", "icts_reviewer"))
    with django_capture_on_commit_callbacks(execute=True):
        request_services.referral_resolve(actor=privacy, req=PartnerRequest.objects.get(), outcome="share",
                                          justification="CIS is incomplete but the file shows no protected status.")
    case = services.case_assign(actor=analyst, case=IctsCase.objects.get(), analyst=analyst)
    services.package_save(actor=analyst, case=case, reviewer_name="Rita Moreno", person=PERSON)
    services.package_submit(actor=analyst, case=case)
    with django_capture_on_commit_callbacks(execute=True):
        services.package_review(actor=reviewer, case=case, verdict="approved")
    assert IctsCase.objects.get().status == CaseStatus.TRANSMITTED
    assert PartnerRequest.objects.get().status == RequestStatus.ANSWERED
