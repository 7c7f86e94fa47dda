"""Every state-changing service, done twice in a row and twice at the same moment (two threads, two database
connections): one effect, and the other call refused with a domain error that says why (ISSUE: double clicks,
two reviewers at once, resubmitted forms). Nothing here may create a second message to a foreign government."""

import pytest

from cpms.cis.classes import ProtectedClass
from cpms.core.errors import DomainError
from cpms.disclosure.models import Decision, RuleSet
from cpms.partner_requests import services as request_services
from cpms.partner_requests.models import Augmentation, PartnerRequest
from cpms.partner_requests.workflow import RequestStatus
from cpms.queries import services as query_services
from cpms.queries.models import FdnsReferral, InternationalQuery, QueryRound, QueryTransition
from cpms.queries.workflow import QueryStatus
from ident_bridge.inbound import inbound_process
from ident_bridge.models import OutboxMessage
from icts import services as icts_services
from icts.models import CaseTransition, IctsCase, PackageAttachment, Review
from icts.workflow import CaseStatus
from tests.concurrency import one_ok_rest_refused, run_at_once
from tests.factories import (AgreementFactory, CaseFactory, PersonFactory, UserFactory, cis_record, jpeg_bytes, request_message,
                             response_message, result_message, store_inbound)
from tests.fakes import ident_accepts_everything

pytestmark = pytest.mark.django_db(transaction=True)


def refused_with(code, call):
    with pytest.raises(DomainError) as refused:
        call()
    assert refused.value.code == code, refused.value
    assert refused.value.message  # a sentence a person can act on
    return refused.value


# --- the officer's query -----------------------------------------------------------------------------------------


@pytest.fixture
def officer_world(monkeypatch):
    ident_accepts_everything(monkeypatch)
    AgreementFactory(partner__code="CAN")
    officer = UserFactory(role="officer")
    case = CaseFactory(officers=[officer])
    return {"officer": officer, "case": case, "fdns": UserFactory(role="fdns_analyst")}


def responded_query(world):
    query = query_services.query_submit(actor=world["officer"], case=world["case"], partner_code="CAN", reason="asylum_claimant",
                                        priority="high")
    for message in (result_message(query), response_message(query)):
        inbound_process(store_inbound(message).pk)
    query.refresh_from_db()
    assert query.status == QueryStatus.RESPONDED
    return query


def submit_with(world, key):
    return lambda: query_services.query_submit(actor=world["officer"], case=world["case"], partner_code="CAN",
                                               reason="asylum_claimant", priority="high", submission_key=key)


def test_query_submit_with_one_key_twice_and_at_once_makes_one_query_and_one_message(officer_world):
    first = submit_with(officer_world, "k1")()
    assert submit_with(officer_world, "k1")() == first
    results = run_at_once(submit_with(officer_world, "k2"), submit_with(officer_world, "k2"))
    assert [kind for kind, _ in results] == ["ok", "ok"] and results[0][1].pk == results[1][1].pk
    assert InternationalQuery.objects.count() == 2
    assert OutboxMessage.objects.filter(type="query.submit").count() == 2


def test_query_submit_key_reused_for_another_query_is_refused(officer_world):
    submit_with(officer_world, "k1")()
    refused_with("idempotency_mismatch", lambda: query_services.query_submit(
        actor=officer_world["officer"], case=officer_world["case"], partner_code="CAN", reason="enforcement", priority="low",
        submission_key="k1"))
    assert InternationalQuery.objects.count() == 1


def ask_round3(world, query):
    return lambda: query_services.query_request_round3(actor=world["officer"], query=query, requested_items=["photographs"],
                                                       justification="The photograph is needed.")


def test_round3_twice_and_at_once_sends_one_followup(officer_world):
    query = responded_query(officer_world)
    ask_round3(officer_world, query)()
    refused_with("round_limit", ask_round3(officer_world, query))  # the third round is the last (ICD §3)
    other = responded_query(officer_world)
    one_ok_rest_refused(run_at_once(ask_round3(officer_world, other), ask_round3(officer_world, other)), code="round_limit")
    assert OutboxMessage.objects.filter(type="query.followup").count() == 2
    assert QueryRound.objects.filter(number=3).count() == 2


def test_close_twice_and_at_once_closes_once(officer_world):
    query = responded_query(officer_world)
    close = lambda q: lambda: query_services.query_close(actor=officer_world["officer"], query=q)  # noqa: E731
    close(query)()
    refused_with("wrong_state", close(query))
    other = responded_query(officer_world)
    one_ok_rest_refused(run_at_once(close(other), close(other)))
    assert QueryTransition.objects.filter(to_status=QueryStatus.CLOSED).count() == 2


def test_refer_to_fdns_twice_and_at_once_makes_one_referral(officer_world):
    query = responded_query(officer_world)
    refer = lambda q: lambda: query_services.referral_create(  # noqa: E731
        actor=officer_world["officer"], query=q, analyst=officer_world["fdns"], reason="Documents disagree", days=10)
    refer(query)()
    refused_with("wrong_state", refer(query))
    other = responded_query(officer_world)
    one_ok_rest_refused(run_at_once(refer(other), refer(other)))
    assert FdnsReferral.objects.count() == 2


def test_revoke_twice_and_at_once_revokes_once(officer_world):
    query = responded_query(officer_world)
    referral = query_services.referral_create(actor=officer_world["officer"], query=query, analyst=officer_world["fdns"],
                                              reason="Documents disagree", days=10)
    revoke = lambda r: lambda: query_services.referral_revoke(actor=officer_world["officer"], referral=r)  # noqa: E731
    revoke(referral)()
    refused_with("wrong_state", revoke(referral))
    other = query_services.referral_create(actor=officer_world["officer"], query=query, analyst=officer_world["fdns"],
                                           reason="Look again", days=10)
    one_ok_rest_refused(run_at_once(revoke(other), revoke(other)))
    assert FdnsReferral.objects.filter(revoked_at__isnull=False).count() == 2


# --- ICTS ---------------------------------------------------------------------------------------------------------

PERSON = {"family_name": "Haddad", "given_names": "Amal", "date_of_birth": "1985-04-12"}


@pytest.fixture
def icts_world(monkeypatch):
    ident_accepts_everything(monkeypatch)
    AgreementFactory(partner__code="CAN", authorised_data_elements=["family_name", "given_names", "date_of_birth", "a_number"],
                     authorised_attachment_kinds=["photograph", "passport"])
    return {"analyst": UserFactory(role="icts_analyst"), "reviewer": UserFactory(role="icts_reviewer"),
            "reviewer2": UserFactory(role="icts_reviewer"), "privacy": UserFactory(role="privacy_officer")}


def new_case(world, *, fin: str) -> IctsCase:
    cis_record(PersonFactory(fin=fin))
    inbound_process(store_inbound(request_message(fin=fin)).pk)
    return IctsCase.objects.get(partner_request__fin=fin)


def prepared_case(world, *, fin: str) -> IctsCase:
    case = icts_services.case_assign(actor=world["analyst"], case=new_case(world, fin=fin), analyst=world["analyst"])
    icts_services.package_save(actor=world["analyst"], case=case, reviewer_name="Rita Moreno", person=PERSON)
    return IctsCase.objects.get(pk=case.pk)


def in_review_case(world, *, fin: str) -> IctsCase:
    case = prepared_case(world, fin=fin)
    icts_services.package_submit(actor=world["analyst"], case=case)
    return IctsCase.objects.get(pk=case.pk)


def test_take_twice_and_by_two_analysts_at_once_gives_the_case_to_one(icts_world):
    case = new_case(icts_world, fin="FIN1000000001")
    other = UserFactory(role="icts_analyst")
    take = lambda c, who: lambda: icts_services.case_assign(actor=who, case=c, analyst=who)  # noqa: E731
    take(case, icts_world["analyst"])()
    refused_with("wrong_state", take(case, icts_world["analyst"]))
    assert "already assigned to you" in refused_with("wrong_state", take(case, icts_world["analyst"])).message
    assert "took this case" in refused_with("wrong_state", take(case, other)).message
    second = new_case(icts_world, fin="FIN1000000002")
    winner = one_ok_rest_refused(run_at_once(take(second, icts_world["analyst"]), take(second, other)))
    assert IctsCase.objects.get(pk=second.pk).assigned_analyst == winner.assigned_analyst
    assert CaseTransition.objects.filter(case=second, to_status=CaseStatus.PREPARING).count() == 1


def test_submit_twice_and_at_once_submits_once(icts_world):
    case = prepared_case(icts_world, fin="FIN1000000001")
    submit = lambda c: lambda: icts_services.package_submit(actor=icts_world["analyst"], case=c)  # noqa: E731
    submit(case)()
    refused_with("wrong_state", submit(case))
    other = prepared_case(icts_world, fin="FIN1000000002")
    one_ok_rest_refused(run_at_once(submit(other), submit(other)))
    assert CaseTransition.objects.filter(to_status=CaseStatus.IN_REVIEW).count() == 2


@pytest.mark.parametrize("verdict,comments", [("approved", ""), ("returned", "Add the date of birth.")])
def test_review_twice_and_by_two_reviewers_at_once_gives_one_verdict(icts_world, verdict, comments):
    case = in_review_case(icts_world, fin="FIN1000000001")
    review = lambda c, who: lambda: icts_services.package_review(actor=who, case=c, verdict=verdict, comments=comments)  # noqa: E731
    review(case, icts_world["reviewer"])()
    refused_with("wrong_state", review(case, icts_world["reviewer"]))
    other = in_review_case(icts_world, fin="FIN1000000002")
    one_ok_rest_refused(run_at_once(review(other, icts_world["reviewer"]), review(other, icts_world["reviewer2"])))
    assert Review.objects.count() == 2
    if verdict == "approved":
        assert OutboxMessage.objects.filter(type="request.reply").count() == 2  # one response per request, never two
        assert IctsCase.objects.filter(status__in=[CaseStatus.TRANSMITTED, CaseStatus.DELIVERED]).count() == 2


def test_transmit_twice_and_at_once_sends_one_response(icts_world, django_capture_on_commit_callbacks):
    case = in_review_case(icts_world, fin="FIN1000000001")
    with django_capture_on_commit_callbacks(execute=False):  # approved, its transmission task not yet run
        icts_services.package_review(actor=icts_world["reviewer"], case=case, verdict="approved")
    results = run_at_once(lambda: icts_services.package_transmit(case.pk), lambda: icts_services.package_transmit(case.pk))
    assert results == [("ok", CaseStatus.TRANSMITTED), ("ok", CaseStatus.TRANSMITTED)]  # the second finds it sent
    assert icts_services.package_transmit(case.pk) == CaseStatus.TRANSMITTED
    assert OutboxMessage.objects.filter(type="request.reply").count() == 1


def test_upload_of_one_file_at_once_attaches_it_once(icts_world):
    case = prepared_case(icts_world, fin="FIN1000000001")
    upload = lambda: icts_services.package_add_attachment(  # noqa: E731
        actor=icts_world["analyst"], case=case, filename="passport.jpg", data=jpeg_bytes(), kind="passport")
    results = run_at_once(upload, upload)
    assert [kind for kind, _ in results].count("ok") == 1
    assert PackageAttachment.objects.count() == 1
    att = PackageAttachment.objects.get()
    icts_services.package_remove_attachment(actor=icts_world["analyst"], case=case, attachment_id=att.pk)
    refused_with("wrong_state", lambda: icts_services.package_remove_attachment(actor=icts_world["analyst"], case=case,
                                                                                 attachment_id=att.pk))


# --- partner requests: a privacy officer's decision, augmentation ------------------------------------------------


def referred_request(world, *, fin: str) -> PartnerRequest:
    cis_record(PersonFactory(fin=fin), ProtectedClass.ASYLUM)
    RuleSet.objects.update(is_active=False)  # no rule covers the class: a privacy officer decides
    inbound_process(store_inbound(request_message(fin=fin)).pk)
    req = PartnerRequest.objects.get(fin=fin)
    assert req.status == RequestStatus.REFERRED
    return req


@pytest.mark.parametrize("outcome", ["share", "withhold"])
def test_referral_decided_twice_and_by_two_officers_at_once_is_decided_once(icts_world, outcome):
    decide = lambda r, who: lambda: request_services.referral_resolve(  # noqa: E731
        actor=who, req=r, outcome=outcome, justification="Reviewed the file.")
    req = referred_request(icts_world, fin="FIN1000000001")
    decide(req, icts_world["privacy"])()
    refused_with("wrong_state", decide(PartnerRequest.objects.get(pk=req.pk), icts_world["privacy"]))
    other = referred_request(icts_world, fin="FIN1000000002")
    second_officer = UserFactory(role="privacy_officer")
    one_ok_rest_refused(run_at_once(decide(other, icts_world["privacy"]), decide(other, second_officer)))
    assert Decision.objects.filter(stage=Decision.Stage.PRIVACY_REVIEW).count() == 2
    if outcome == "share":
        assert IctsCase.objects.count() == 2
    else:
        assert OutboxMessage.objects.filter(type="request.reply").count() == 2


def test_augment_twice_and_at_once_asks_the_partner_once(icts_world):
    ask = lambda r: lambda: request_services.augmentation_request(  # noqa: E731
        actor=icts_world["analyst"], req=r, requested_items=["photographs"], justification="To compare photographs.")
    first = new_case(icts_world, fin="FIN1000000001").partner_request
    ask(first)()
    refused = refused_with("wrong_state", ask(first))
    assert "has not yet answered" in refused.message and "Nothing was sent" in refused.message
    other = new_case(icts_world, fin="FIN1000000002").partner_request
    one_ok_rest_refused(run_at_once(ask(other), ask(other)))
    assert Augmentation.objects.count() == 2
    assert OutboxMessage.objects.filter(type="request.augment").count() == 2
