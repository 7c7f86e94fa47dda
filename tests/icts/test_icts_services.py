"""ICTS: preparation, review (every transition), transmission with its re-check and accounting."""

import json
import re

import pytest

from cpms.cis.classes import ProtectedClass
from cpms.cis.models import CisClassEntry
from cpms.core.models import Agreement
from cpms.disclosure.models import DisclosureRecord
from cpms.partner_requests.models import PartnerRequest
from cpms.partner_requests.workflow import RequestStatus
from ident_bridge import icd
from ident_bridge.inbound import inbound_process
from ident_bridge.models import OutboxMessage
from icts import services
from icts.models import IctsCase, Review
from icts.workflow import CaseStatus, TransitionNotAllowed, transition
from tests.factories import AgreementFactory, PersonFactory, UserFactory, cis_record, jpeg_bytes, png_bytes, request_message, store_inbound

PERSON = {"family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-12", "a_number": "A300000001"}


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    AgreementFactory(partner__code="CAN", authorised_data_elements=["family_name", "given_names", "date_of_birth", "a_number", "fin"],
                     authorised_attachment_kinds=["photograph", "passport"], legal_authority="CAN implementing arrangement (2015)")
    person = PersonFactory(fin="FIN1000000001")
    record = cis_record(person)
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(request_message()).pk)
    case = IctsCase.objects.get()
    return {"case": case, "person": person, "record": record, "analyst": UserFactory(role="icts_analyst"),
            "reviewer": UserFactory(role="icts_reviewer"), "other_analyst": UserFactory(role="icts_analyst")}


def prepared(world, person=None, **kw):
    case = services.case_assign(actor=world["analyst"], case=world["case"], analyst=world["analyst"])
    services.package_save(actor=world["analyst"], case=case, reviewer_name="Rita Moreno", reviewer_email="r@uscis.example.gov",
                          person=person or PERSON, **kw)
    case.refresh_from_db()
    return case


def submitted(world):
    case = prepared(world)
    services.package_add_attachment(actor=world["analyst"], case=case, filename="passport scan.jpg", data=jpeg_bytes(), kind="passport")
    services.package_submit(actor=world["analyst"], case=case)
    case.refresh_from_db()
    return case


def approve(world, case, django_capture_on_commit_callbacks, execute=True):
    with django_capture_on_commit_callbacks(execute=execute) as callbacks:
        services.package_review(actor=world["reviewer"], case=case, verdict="approved")
    case.refresh_from_db()
    return callbacks


def test_self_assign_moves_to_preparing(world):
    case = services.case_assign(actor=world["analyst"], case=world["case"], analyst=world["analyst"])
    assert case.status == CaseStatus.PREPARING and case.assigned_analyst == world["analyst"]


def test_only_reviewers_assign_to_others(world):
    with pytest.raises(services.IctsError):
        services.case_assign(actor=world["analyst"], case=world["case"], analyst=world["other_analyst"])
    case = services.case_assign(actor=world["reviewer"], case=world["case"], analyst=world["other_analyst"])
    assert case.assigned_analyst == world["other_analyst"]


def test_only_the_assigned_analyst_prepares(world):
    prepared(world)
    with pytest.raises(services.IctsError) as exc:
        services.package_save(actor=world["other_analyst"], case=world["case"], reviewer_name="x", person=PERSON)
    assert exc.value.code == "forbidden"


def test_package_data_must_be_in_the_icd_form(world):
    with pytest.raises(services.IctsError) as exc:
        prepared(world, person={"family_name": "Haddad", "date_of_birth": "12/04/1985"})
    assert exc.value.fields == ["date_of_birth"]


@pytest.mark.parametrize("data,kind,field", [
    (b"MZ\x90\x00not a document", "passport", "file"),
    (b"", "passport", "file"),
    (png_bytes(), "selfie", "kind"),
])
def test_upload_is_checked_by_magic_number_size_and_kind(world, data, kind, field):
    case = prepared(world)
    with pytest.raises(services.IctsError) as exc:
        services.package_add_attachment(actor=world["analyst"], case=case, filename="x.jpg", data=data, kind=kind)
    assert exc.value.field == field


def test_upload_size_limit(world, settings):
    settings.ICTS_UPLOAD_MAX_BYTES = 100
    case = prepared(world)
    with pytest.raises(services.IctsError, match="limit"):
        services.package_add_attachment(actor=world["analyst"], case=case, filename="big.png", data=png_bytes(size=(64, 64)), kind="photograph")


def test_upload_records_true_type_and_sha256(world):
    case = prepared(world)
    data = png_bytes()
    att = services.package_add_attachment(actor=world["analyst"], case=case, filename="../../etc/passwd.png", data=data, kind="photograph")
    stored = att.file.open("rb").read()  # re-encoded (ident_bridge.filecheck): the hash is of what is kept and sent
    assert att.media_type == "image/png" and att.sha256 == icd.sha256_hex(stored) and "/" not in att.filename
    with pytest.raises(services.IctsError, match="already attached"):
        services.package_add_attachment(actor=world["analyst"], case=case, filename="again.png", data=data, kind="photograph")


def test_package_beyond_the_agreement_is_refused_at_submit_naming_the_fields(world):
    case = prepared(world, person=PERSON | {"race": "not authorised", "immigration_status": {"status": "Asylee"}})
    services.package_add_attachment(actor=world["analyst"], case=case, filename="v.jpg", data=jpeg_bytes(), kind="visa")
    with pytest.raises(services.IctsError) as exc:
        services.package_submit(actor=world["analyst"], case=case)
    assert exc.value.code == "exceeds_agreement"
    assert exc.value.fields == ["race", "immigration_status", "attachments/visa"]
    assert "Race, Immigration status" in exc.value.message and "Visa" in exc.value.message and "'" not in exc.value.message
    case.refresh_from_db()
    assert case.status == CaseStatus.PREPARING and case.package.person["race"] == "not authorised"  # nothing trimmed


def test_return_needs_comments_then_resubmit(world):
    case = submitted(world)
    with pytest.raises(services.IctsError):
        services.package_review(actor=world["reviewer"], case=case, verdict="returned", comments="")
    services.package_review(actor=world["reviewer"], case=case, verdict="returned", comments="Add the passport photo page")
    case.refresh_from_db()
    assert case.status == CaseStatus.RETURNED
    services.package_submit(actor=world["analyst"], case=case)
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW


def test_nobody_reviews_their_own_package(world):
    world["analyst"].groups.add(world["reviewer"].groups.get())
    case = submitted(world)
    with pytest.raises(services.IctsError, match="another reviewer"):
        services.package_review(actor=world["analyst"], case=case, verdict="approved")


def test_analysts_cannot_review(world):
    case = submitted(world)
    with pytest.raises(services.IctsError):
        services.package_review(actor=world["other_analyst"], case=case, verdict="approved")


def test_approval_transmits_with_accounting_in_one_transaction(world, django_capture_on_commit_callbacks):
    case = submitted(world)
    callbacks = approve(world, case, django_capture_on_commit_callbacks)
    assert len(callbacks) >= 1
    assert case.status == CaseStatus.TRANSMITTED
    out = case.package.outbox_message
    message = json.loads(bytes(out.raw))
    assert message["type"] == "request.reply" and message["body"]["outcome"] == "response" and icd.schema_errors(message) == []
    assert message["body"]["package"]["person"] == PERSON
    assert message["body"]["package"]["attachments"][0]["kind"] == "passport"
    record = DisclosureRecord.objects.get()
    assert record.outbox_message == out and record.person == world["person"] and record.partner_id == "CAN"
    assert record.data_elements == sorted(PERSON) and record.attachments[0]["sha256"] == case.package.attachments.get().sha256
    assert record.legal_authority == "CAN implementing arrangement (2015)"
    assert record.retain_until >= world["person"].retain_until
    req = PartnerRequest.objects.get()
    assert req.status == RequestStatus.ANSWERED and req.reply_message == out


def test_status_appearing_before_transmission_stops_it(world, django_capture_on_commit_callbacks):
    case = submitted(world)
    CisClassEntry.objects.create(record=world["record"], protected_class=ProtectedClass.U)
    approve(world, case, django_capture_on_commit_callbacks)
    assert case.status == CaseStatus.BLOCKED and "8 U.S.C. 1367" in case.blocked_reason
    assert not OutboxMessage.objects.filter(type="request.reply").exists()
    assert not DisclosureRecord.objects.exists()
    assert PartnerRequest.objects.get().status == RequestStatus.REFERRED


def test_agreement_narrowed_before_transmission_returns_the_case(world, django_capture_on_commit_callbacks):
    case = submitted(world)
    with django_capture_on_commit_callbacks(execute=False):
        services.package_review(actor=world["reviewer"], case=case, verdict="approved")
    Agreement.objects.filter(partner_id="CAN").update(authorised_data_elements=["family_name"])
    assert services.package_transmit(case.pk) == CaseStatus.RETURNED
    assert not OutboxMessage.objects.filter(type="request.reply").exists()


def test_a_package_over_idents_limit_returns_the_case_and_writes_nothing(world, django_capture_on_commit_callbacks,
                                                                         monkeypatch):
    """The outbox measures the bytes it would send, once (issue 17: the envelope was encoded twice to measure it)."""
    from ident_bridge import icd

    case = submitted(world)
    with django_capture_on_commit_callbacks(execute=False):
        services.package_review(actor=world["reviewer"], case=case, verdict="approved")
    monkeypatch.setattr(icd, "MAX_BODY_BYTES", 200)
    assert services.package_transmit(case.pk) == CaseStatus.RETURNED
    case.refresh_from_db()
    assert case.status == CaseStatus.RETURNED
    assert "IDENT accepts at most 200" in case.transitions.order_by("-id").first().reason
    assert not OutboxMessage.objects.filter(type="request.reply").exists() and not DisclosureRecord.objects.exists()


def test_pcqs_down_at_transmission_waits(world, django_capture_on_commit_callbacks, monkeypatch):
    from cpms.cis.pcqs import PcqsUnavailable

    case = submitted(world)
    with django_capture_on_commit_callbacks(execute=False):
        services.package_review(actor=world["reviewer"], case=case, verdict="approved")

    def down(self, a):
        raise PcqsUnavailable("down")

    monkeypatch.setattr("cpms.cis.pcqs.LocalCisIndex.lookup", down)
    assert services.package_transmit(case.pk) == "waiting for CIS"
    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED and not OutboxMessage.objects.filter(type="request.reply").exists()


def test_transmission_is_idempotent(world, django_capture_on_commit_callbacks):
    case = submitted(world)
    approve(world, case, django_capture_on_commit_callbacks)
    assert services.package_transmit(case.pk) == CaseStatus.TRANSMITTED
    assert OutboxMessage.objects.filter(type="request.reply").count() == 1 and DisclosureRecord.objects.count() == 1


@pytest.mark.parametrize("status,expected", [("delivered", CaseStatus.DELIVERED), ("rejected", CaseStatus.DELIVERY_FAILED)])
def test_delivery_ack_sets_delivery_status(world, django_capture_on_commit_callbacks, status, expected):
    case = submitted(world)
    approve(world, case, django_capture_on_commit_callbacks)
    ack = icd.envelope("delivery.ack", "CAN", {"acked_message_id": str(case.package.outbox_message.message_id), "status": status})
    inbound_process(store_inbound(ack).pk)
    case.refresh_from_db()
    assert case.status == expected


def test_no_accounting_for_a_no_match(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(request_message(fin="FIN0000000000")).pk)
    assert OutboxMessage.objects.filter(type="request.reply").count() == 1 and not DisclosureRecord.objects.exists()


# The moves a case may make, written out here on purpose (not read from icts.workflow.TRANSITIONS): a change to the
# table must change this test too. Every move is made by a service (tests/icts/test_blocked_lifecycle.py and others).
ALLOWED_CASE_MOVES = {
    ("open", "preparing"),  # case_assign
    ("preparing", "in_review"), ("returned", "in_review"),  # package_submit
    ("in_review", "approved"), ("in_review", "returned"),  # package_review
    ("approved", "transmitted"), ("approved", "blocked"), ("approved", "returned"),  # package_transmit
    ("transmitted", "delivered"), ("transmitted", "delivery_failed"),  # package_record_delivery
    ("delivery_failed", "delivered"),  # an expired response sent again, then acknowledged
    ("blocked", "approved"), ("blocked", "closed"),  # a privacy officer shares or withholds
}


@pytest.mark.parametrize("current,target", [(a, b) for a in CaseStatus.values for b in CaseStatus.values])
def test_every_case_transition_allowed_or_refused_per_table(world, current, target):
    IctsCase.objects.filter(pk=world["case"].pk).update(status=current)
    history = world["case"].transitions.count()
    if (current, target) in ALLOWED_CASE_MOVES:
        transition(world["case"], target, reason="test")
        assert IctsCase.objects.get().status == target
        assert world["case"].transitions.count() == history + 1
    else:
        with pytest.raises(TransitionNotAllowed, match=re.escape(f"cannot become '{CaseStatus(target).label}'")) as refused:
            transition(world["case"], target)
        assert refused.value.code == "wrong_state"
        assert IctsCase.objects.get().status == current and world["case"].transitions.count() == history


def test_review_rows_keep_every_verdict(world, django_capture_on_commit_callbacks):
    case = submitted(world)
    services.package_review(actor=world["reviewer"], case=case, verdict="returned", comments="fix")
    services.package_submit(actor=world["analyst"], case=case)
    approve(world, case, django_capture_on_commit_callbacks)
    assert list(Review.objects.values_list("verdict", flat=True)) == ["returned", "approved"]
