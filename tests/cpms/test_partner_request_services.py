"""A partner's request: intake, the protected-status check, no match on the wire, waiting for CIS, referral."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from cpms.cis.classes import ProtectedClass
from cpms.cis.pcqs import HttpPcqsClient, PcqsUnavailable
from cpms.disclosure.models import Decision
from cpms.partner_requests import services
from cpms.partner_requests.models import PartnerRequest
from cpms.partner_requests.workflow import RequestStatus
from ident_bridge.inbound import inbound_process
from ident_bridge.models import OutboxMessage
from icts.models import IctsCase
from tests.factories import AgreementFactory, PersonFactory, UserFactory, cis_record, request_message, store_inbound


@pytest.fixture
def world(db):
    AgreementFactory(partner__code="CAN", asylum_disclosure_authorised=False)
    AgreementFactory(partner__code="AUS", asylum_disclosure_authorised=True)
    # No CIS record until a test gives one (cis_record): an unknown person waits for CIS.
    return {"person": PersonFactory(fin="FIN1000000001", cis=False), "privacy": UserFactory(role="privacy_officer")}


def receive(message, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(message).pk)
    return PartnerRequest.objects.get(request_ref=message["body"]["request_ref"])


def wire_body(req):
    return json.loads(bytes(req.reply_message.raw))["body"]


def test_request_is_kept_as_received_and_normalised_and_linked_by_fin(world, django_capture_on_commit_callbacks):
    cis_record(world["person"])
    message = request_message(template="AUS-v1", partner="AUS", subject={
        "family_name": "Haddad", "date_of_birth": "12/04/1985", "gender": "Female", "client_id": "88213344"})
    req = receive(message, django_capture_on_commit_callbacks)
    assert req.subject_as_received == message["body"]["subject"]
    assert req.subject["date_of_birth"] == "1985-04-12" and req.subject["gender"] == "female"
    assert req.person == world["person"] and req.match.partner_person_id == "88213344"


def test_unprotected_person_opens_an_icts_case(world, django_capture_on_commit_callbacks):
    cis_record(world["person"])
    req = receive(request_message(), django_capture_on_commit_callbacks)
    assert req.status == RequestStatus.IN_ICTS
    case = IctsCase.objects.get(partner_request=req)
    assert case.priority_rank == 0 and case.due_at > req.received_at
    decision = req.decisions.get()
    assert decision.outcome == "share" and decision.ruleset.is_active and decision.cis_answer["known"] is True


@pytest.mark.parametrize("cls", [ProtectedClass.T, ProtectedClass.U, ProtectedClass.VAWA, ProtectedClass.USC])
def test_protected_person_is_answered_no_match_with_the_decision_recorded(world, django_capture_on_commit_callbacks, cls):
    cis_record(world["person"], cls)
    req = receive(request_message(), django_capture_on_commit_callbacks)
    assert req.status == RequestStatus.ANSWERED_NO_MATCH
    assert wire_body(req) == {"request_ref": req.request_ref, "outcome": "no_match"}
    decision = req.decisions.get()
    assert decision.outcome == "withhold" and decision.reasons[0]["class"] == cls and decision.cis_answer
    assert not IctsCase.objects.exists()


def test_withholding_and_genuine_no_match_are_identical_on_the_wire(world, django_capture_on_commit_callbacks):
    cis_record(world["person"], ProtectedClass.T)
    withheld = receive(request_message(request_ref="CAN-R-1"), django_capture_on_commit_callbacks)
    unknown = receive(request_message(request_ref="CAN-R-2", fin="FIN9999999999"), django_capture_on_commit_callbacks)
    a, b = (json.loads(bytes(r.reply_message.raw)) for r in (withheld, unknown))
    assert a.keys() == b.keys() and a["type"] == b["type"] == "request.reply" and a["partner"] == b["partner"]
    assert a["body"] | {"request_ref": "X"} == b["body"] | {"request_ref": "X"}
    assert unknown.decisions.get().reasons[0]["why"].startswith("FIN FIN9999999999 matches no USCIS record")


def test_asylum_depends_on_the_partners_authorisation(world, django_capture_on_commit_callbacks):
    cis_record(world["person"], ProtectedClass.ASYLUM)
    can = receive(request_message(partner="CAN", request_ref="C-1"), django_capture_on_commit_callbacks)
    aus = receive(request_message(partner="AUS", request_ref="A-1"), django_capture_on_commit_callbacks)
    assert can.status == RequestStatus.ANSWERED_NO_MATCH and aus.status == RequestStatus.IN_ICTS


def test_pcqs_down_means_waiting_not_answering_then_referral(world, django_capture_on_commit_callbacks, settings, monkeypatch):
    def down(self, a_number):
        raise PcqsUnavailable("timeout")

    monkeypatch.setattr("cpms.cis.pcqs.LocalCisIndex.lookup", down)
    req = receive(request_message(), django_capture_on_commit_callbacks)
    assert req.status == RequestStatus.AWAITING_CIS and req.reply_message is None
    assert not OutboxMessage.objects.filter(type="request.reply").exists()
    assert services.request_check(req.pk) == RequestStatus.AWAITING_CIS
    PartnerRequest.objects.filter(pk=req.pk).update(received_at=timezone.now() - timedelta(hours=settings.PCQS_REFER_AFTER_HOURS + 1))
    assert services.request_check(req.pk) == RequestStatus.REFERRED
    assert not OutboxMessage.objects.filter(type="request.reply").exists()


def test_incomplete_cis_answer_waits(world, django_capture_on_commit_callbacks):
    cis_record(world["person"], complete=False)
    assert receive(request_message(), django_capture_on_commit_callbacks).status == RequestStatus.AWAITING_CIS


def test_cis_back_resolves_the_waiting_request(world, django_capture_on_commit_callbacks):
    req = receive(request_message(), django_capture_on_commit_callbacks)  # no CIS record yet: unknown → wait
    assert req.status == RequestStatus.AWAITING_CIS
    cis_record(world["person"])
    PartnerRequest.objects.filter(pk=req.pk).update(next_check_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        assert services.recheck_due() == 1
    req.refresh_from_db()
    assert req.status == RequestStatus.IN_ICTS


def test_privacy_officer_cannot_share_a_1367_person(world, django_capture_on_commit_callbacks):
    from cpms.cis.models import CisClassEntry
    from cpms.disclosure.models import RuleSet

    record = cis_record(world["person"], ProtectedClass.ASYLUM)
    RuleSet.objects.update(is_active=False)  # no active rules: every class is referred
    req = receive(request_message(), django_capture_on_commit_callbacks)
    assert req.status == RequestStatus.REFERRED
    CisClassEntry.objects.create(record=record, protected_class=ProtectedClass.VAWA)  # CIS learns of a VAWA petition
    with pytest.raises(services.RequestError) as exc:
        services.referral_resolve(actor=world["privacy"], req=req, outcome="share", justification="looks fine")
    assert exc.value.code == "floor"
    decision = services.referral_resolve(actor=world["privacy"], req=req, outcome="withhold", justification="1367")
    req.refresh_from_db()
    assert req.status == RequestStatus.ANSWERED_NO_MATCH and decision.decided_by == world["privacy"]


def test_with_no_active_rules_1367_is_still_withheld(world, django_capture_on_commit_callbacks):
    from cpms.disclosure.models import RuleSet

    RuleSet.objects.update(is_active=False)
    cis_record(world["person"], ProtectedClass.T)
    assert receive(request_message(), django_capture_on_commit_callbacks).status == RequestStatus.ANSWERED_NO_MATCH


def test_only_privacy_officers_resolve_referrals(world, django_capture_on_commit_callbacks):
    from cpms.disclosure.models import RuleSet

    RuleSet.objects.update(is_active=False)
    cis_record(world["person"])
    req = receive(request_message(), django_capture_on_commit_callbacks)
    with pytest.raises(services.RequestError):
        services.referral_resolve(actor=UserFactory(role="officer"), req=req, outcome="share", justification="x")


def test_duplicate_request_ref_and_impossible_date_are_refused_at_receipt(world, client, django_capture_on_commit_callbacks):
    import time

    from ident_bridge import icd

    def post(message):
        raw = icd.canonical_bytes(message)
        ts = int(time.time())
        return client.generic("POST", "/ident/v1/messages", raw, content_type="application/json",
                              HTTP_X_IDENT_TIMESTAMP=str(ts), HTTP_X_IDENT_SIGNATURE=icd.sign(raw, "test-shared-secret", ts))

    with django_capture_on_commit_callbacks(execute=True):
        assert post(request_message(request_ref="CAN-DUP")).status_code == 202
    again = post(request_message(request_ref="CAN-DUP"))
    assert again.status_code == 400 and again.json()["errors"][0]["pointer"] == "/body/request_ref"
    bad = post(request_message(template="AUS-v1", subject={"family_name": "X", "date_of_birth": "31/02/1990"}))
    assert bad.status_code == 400 and bad.json()["errors"][0]["pointer"] == "/body/subject/date_of_birth"


def test_augmentation_sends_and_its_answer_is_stored(world, django_capture_on_commit_callbacks):
    from tests.factories import png_bytes

    from ident_bridge import icd

    cis_record(world["person"])
    req = receive(request_message(), django_capture_on_commit_callbacks)
    officer = UserFactory(role="icts_analyst")
    with django_capture_on_commit_callbacks(execute=False):
        aug = services.augmentation_request(actor=officer, req=req, requested_items=["watchlist_status"], justification="fraud check")
    sent = json.loads(bytes(aug.outbox_message.raw))
    assert sent["type"] == "request.augment" and sent["body"]["request_ref"] == req.request_ref and icd.schema_errors(sent) == []
    answer = icd.envelope("query.response", "CAN", {"augment_ref": aug.augment_ref, "responder": {"name": "IRCC"},
                                                    "responded_at": "2026-11-25T15:00:00Z", "person": {"family_name": "Haddad",
                                                    "watchlist_status": [{"type": "none", "status_date": "2026-01-01"}]},
                                                    "attachments": [icd.attachment(filename="p.png", media_type="image/png",
                                                                                   kind="photograph", data=png_bytes())]})
    inbound_process(store_inbound(answer).pk)
    aug.refresh_from_db()
    assert aug.answered_at and aug.response.person["watchlist_status"][0]["type"] == "none"
    assert aug.response.attachments.count() == 1


def test_http_pcqs_client_reads_answers_and_failures():
    import requests

    class Session(requests.Session):
        def __init__(self, status, payload):
            super().__init__()
            self.status, self.payload = status, payload

        def get(self, url, **kw):
            resp = requests.Response()
            resp.status_code = self.status
            resp._content = json.dumps(self.payload).encode()
            return resp

    ok = HttpPcqsClient("http://pcqs", session=Session(200, {"complete": True, "classes": [{"protected_class": "U"}]})).lookup("A1")
    assert ok.known and ok.complete and ok.classes[0].protected_class == "U"
    odd = HttpPcqsClient("http://pcqs", session=Session(200, {"complete": True, "classes": [{"protected_class": "Z"}]})).lookup("A1")
    assert odd.complete is False
    assert HttpPcqsClient("http://pcqs", session=Session(404, {})).lookup("A1").known is False
    with pytest.raises(PcqsUnavailable):
        HttpPcqsClient("http://pcqs", session=Session(503, {})).lookup("A1")
    with pytest.raises(PcqsUnavailable):
        HttpPcqsClient("http://pcqs", session=Session(200, {"nope": 1})).lookup("A1")


def test_every_decision_has_rule_version_answer_and_time(world, django_capture_on_commit_callbacks):
    cis_record(world["person"], ProtectedClass.U)
    receive(request_message(), django_capture_on_commit_callbacks)
    d = Decision.objects.get()
    assert d.ruleset and d.cis_answer and d.decided_at


@pytest.mark.parametrize("cls", [ProtectedClass.T, ProtectedClass.USC])
def test_no_augmentation_about_a_withheld_person(world, django_capture_on_commit_callbacks, cls):
    """Asking the partner about someone we answered 'no match' for would reveal that USCIS holds them."""
    cis_record(world["person"], cls)
    req = receive(request_message(), django_capture_on_commit_callbacks)
    with pytest.raises(services.RequestError) as exc:  # a privacy officer sees the request, and is refused too
        services.augmentation_request(actor=world["privacy"], req=req, requested_items=["biographic"], justification="more")
    assert exc.value.code == "wrong_state"
    with pytest.raises(services.RequestError) as exc:  # no ICTS case: no analyst may even see the request
        services.augmentation_request(actor=UserFactory(role="icts_analyst"), req=req, requested_items=["biographic"],
                                      justification="more")
    assert exc.value.code == "forbidden"
    assert not OutboxMessage.objects.filter(type="request.augment").exists()


# The partner request's moves, written out (not read from workflow.TRANSITIONS), each with the service that makes it.
ALLOWED_REQUEST_MOVES = {
    ("received", "awaiting_cis"), ("received", "referred"), ("received", "in_icts"), ("received", "answered_no_match"),  # check
    ("awaiting_cis", "referred"), ("awaiting_cis", "in_icts"), ("awaiting_cis", "answered_no_match"),  # recheck
    ("referred", "in_icts"), ("referred", "answered_no_match"),  # a privacy officer decides
    ("in_icts", "answered"),  # the response is transmitted
    ("in_icts", "referred"),  # transmission stopped
}


@pytest.mark.parametrize("current,target", [(a, b) for a in RequestStatus.values for b in RequestStatus.values])
def test_every_request_transition_allowed_or_refused_per_table(world, django_capture_on_commit_callbacks, current, target):
    from cpms.partner_requests.workflow import TransitionNotAllowed, transition

    with django_capture_on_commit_callbacks(execute=False):
        inbound_process(store_inbound(request_message()).pk)
    req = PartnerRequest.objects.get()
    PartnerRequest.objects.filter(pk=req.pk).update(status=current)
    history = req.transitions.count()
    if (current, target) in ALLOWED_REQUEST_MOVES:
        transition(req, target, reason="test")
        assert PartnerRequest.objects.get().status == target and req.transitions.count() == history + 1
    else:
        with pytest.raises(TransitionNotAllowed, match=re.escape(f"cannot become '{RequestStatus(target).label}'")) as refused:
            transition(req, target)
        assert refused.value.code == "wrong_state"
        assert PartnerRequest.objects.get().status == current and req.transitions.count() == history
