"""Query services called directly: what they write, what they enqueue, what they refuse."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from cpms.core.models import Notification
from cpms.queries import services
from cpms.queries.models import InternationalQuery, Match, PartnerResponse, QueryRound
from cpms.queries.workflow import QueryStatus
from ident_bridge import icd
from ident_bridge.inbound import inbound_process
from ident_bridge.models import OutboxMessage
from tests.factories import AgreementFactory, CaseFactory, PersonFactory, UserFactory, response_message, result_message, store_inbound


@pytest.fixture
def officer(db):
    return UserFactory(role="officer")


@pytest.fixture
def case(officer):
    AgreementFactory(partner__code="CAN")
    AgreementFactory(partner__code="AUS")
    AgreementFactory(partner__code="GBR", allows_uscis_queries=False)
    return CaseFactory(officers=[officer])


@pytest.fixture
def submit(officer, case, django_capture_on_commit_callbacks):
    def _submit(**kw):
        args = dict(actor=officer, case=case, partner_code="CAN", reason="asylum_claimant", priority="high") | kw
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            query = services.query_submit(**args)
        return query, callbacks

    return _submit


def deliver(message):
    row = store_inbound(message)
    return inbound_process(row.pk), row


def test_submit_writes_query_round_and_schema_valid_outbox_then_enqueues_after_commit(submit, case):
    query, callbacks = submit(encounter_id="CAN-FP-1234")
    assert query.status == QueryStatus.SUBMITTED
    rnd = query.rounds.get()
    assert rnd.number == 1
    out = rnd.outbox_message
    message = json.loads(bytes(out.raw))
    assert icd.schema_errors(message) == []
    assert message["type"] == "query.submit" and message["partner"] == "CAN"
    assert message["body"]["fin"] == case.person.fin and message["body"]["query_ref"] == query.query_ref
    assert message["body"]["encounter_id"] == "CAN-FP-1234"
    assert len(callbacks) == 1  # the relay, only after commit


def test_offered_partners_are_those_whose_active_agreement_allows_queries(case):
    from cpms.disclosure.services import query_partner_options

    assert [o.partner.code for o in query_partner_options(case.person) if o.may_query] == ["AUS", "CAN"]


def test_partner_without_agreement_is_refused_and_nothing_is_written(submit):
    with pytest.raises(services.QueryError) as exc:
        submit(partner_code="GBR")
    assert exc.value.field == "partner"
    assert not InternationalQuery.objects.exists() and not OutboxMessage.objects.exists()


def test_expired_agreement_is_not_active(submit):
    from cpms.core.models import Agreement

    Agreement.objects.filter(partner_id="AUS").update(effective_to=timezone.localdate() - timedelta(days=1))
    with pytest.raises(services.QueryError):
        submit(partner_code="AUS")


def test_person_without_fin_is_refused(officer, submit):
    case = CaseFactory(officers=[officer], person=PersonFactory(fin=None))
    with pytest.raises(services.QueryError, match="no FIN"):
        submit(case=case)


def test_unassigned_officer_is_refused(case, submit):
    with pytest.raises(services.QueryError) as exc:
        submit(actor=UserFactory(role="officer"))
    assert exc.value.code == "forbidden"


def test_same_submission_key_creates_one_query(submit):
    first, _ = submit(submission_key="abc")
    second, _ = submit(submission_key="abc")
    assert first.pk == second.pk and InternationalQuery.objects.count() == 1 and OutboxMessage.objects.count() == 1


def test_no_match_ends_the_query(submit):
    query, _ = submit()
    assert deliver(result_message(query, outcome="no_match"))[0] == "processed"
    query.refresh_from_db()
    assert query.status == QueryStatus.NO_MATCH
    assert query.rounds.count() == 1 and query.rounds.get().outcome == "no_match"
    assert Notification.objects.filter(query=query, kind="response").exists()


def test_match_stores_minimal_identity_and_opens_round_two(submit):
    query, _ = submit()
    deliver(result_message(query))
    query.refresh_from_db()
    assert query.status == QueryStatus.AWAITING_ROUND2
    match = Match.objects.get(query=query)
    assert match.partner_person_id == "12345678"
    assert set(match.biographic) <= set(icd.IDENTITY_ELEMENTS)
    assert list(query.rounds.values_list("number", flat=True)) == [1, 2]


def test_round_two_response_stores_person_and_attachments_with_sha256(submit):
    query, _ = submit()
    deliver(result_message(query))
    message = response_message(query)
    deliver(message)
    query.refresh_from_db()
    assert query.status == QueryStatus.RESPONDED
    response = PartnerResponse.objects.get(query=query)
    assert response.person["immigration_status"] == {"status": "Protected person"}
    stored = list(response.attachments.all())
    assert [a.kind for a in stored] == ["photograph", "passport"]
    for att, sent in zip(stored, message["body"]["attachments"], strict=True):
        data = att.file.open("rb").read()  # the re-encoded copy; the partner's bytes stay in the raw inbound message
        assert hashlib.sha256(data).hexdigest() == att.sha256 and att.size == len(data)
        assert att.received_sha256 == sent["sha256"]


def test_round_two_before_the_result_waits(submit):
    query, _ = submit()
    early, row = deliver(response_message(query))
    assert early == "not ready"
    row.refresh_from_db()
    assert row.processed_at is None and "round 2" in row.last_error
    deliver(result_message(query))
    assert inbound_process(row.pk) == "processed"
    query.refresh_from_db()
    assert query.status == QueryStatus.RESPONDED


def test_processing_the_same_message_twice_has_one_effect(submit):
    query, _ = submit()
    result, row = deliver(result_message(query))
    assert inbound_process(row.pk) == "already processed"
    assert Match.objects.count() == 1 and query.rounds.count() == 2


def _responded(submit):
    query, _ = submit()
    deliver(result_message(query))
    deliver(response_message(query))
    query.refresh_from_db()
    return query


def test_round_three_sends_followup_and_completes(submit, officer, django_capture_on_commit_callbacks):
    query = _responded(submit)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        rnd = services.query_request_round3(actor=officer, query=query, requested_items=["immigration_history"], justification="Dates differ")
    assert len(callbacks) == 1 and rnd.number == 3
    message = json.loads(bytes(rnd.outbox_message.raw))
    assert message["type"] == "query.followup" and message["body"]["round"] == 3 and icd.schema_errors(message) == []
    deliver(response_message(query, round_number=3, attachments=[]))
    query.refresh_from_db()
    assert query.status == QueryStatus.COMPLETED


def test_fourth_round_is_refused_and_nothing_is_sent(submit, officer, django_capture_on_commit_callbacks):
    query = _responded(submit)
    with django_capture_on_commit_callbacks(execute=False):
        services.query_request_round3(actor=officer, query=query, requested_items=["biographic"], justification="x")
    deliver(response_message(query, round_number=3, attachments=[]))
    before = OutboxMessage.objects.count()
    with pytest.raises(services.RoundLimitReached, match="three rounds"):
        services.query_request_round3(actor=officer, query=query, requested_items=["biographic"], justification="again")
    assert OutboxMessage.objects.count() == before and QueryRound.objects.filter(query=query).count() == 3


def test_round_three_before_round_two_is_refused(submit, officer):
    query, _ = submit()
    with pytest.raises(services.QueryError) as exc:
        services.query_request_round3(actor=officer, query=query, requested_items=["biographic"], justification="x")
    assert exc.value.code == "wrong_state"
    assert OutboxMessage.objects.count() == 1


@pytest.mark.parametrize("items,justification,field", [([], "x", "requested_items"), (["dna"], "x", "requested_items"),
                                                        (["biographic"], "  ", "justification")])
def test_round_three_form_errors_name_the_field(submit, officer, items, justification, field):
    query = _responded(submit)
    with pytest.raises(services.QueryError) as exc:
        services.query_request_round3(actor=officer, query=query, requested_items=items, justification=justification)
    assert exc.value.field == field


def test_no_match_after_failure_is_ignored_not_crashing(submit):
    query, _ = submit()
    from cpms.queries.workflow import transition

    transition(query, QueryStatus.FAILED)
    assert deliver(result_message(query, outcome="no_match"))[0].startswith("ignored")


def test_overdue_round_is_flagged_once_and_cleared_by_the_answer(submit, settings):
    settings.QUERY_ROUND_OVERDUE_HOURS = 1
    query, _ = submit()
    QueryRound.objects.filter(query=query).update(started_at=timezone.now() - timedelta(hours=2))
    assert services.flag_overdue_rounds() == 1
    assert services.flag_overdue_rounds() == 0
    query.refresh_from_db()
    assert query.overdue_since is not None
    assert Notification.objects.filter(query=query, kind="overdue").count() == 1
    deliver(result_message(query, outcome="no_match"))
    query.refresh_from_db()
    assert query.overdue_since is None and query.status == QueryStatus.NO_MATCH


def test_reprocessing_attachments_never_duplicates_files(submit, media_root):
    query, _ = submit()
    deliver(result_message(query))
    message = response_message(query)
    deliver(message)
    response = PartnerResponse.objects.get(query=query)
    from cpms.core.files import store_content_addressed

    att = response.attachments.first()
    again = store_content_addressed(att.file.name, att.file.open("rb").read())
    assert again == att.file.name
    # Other tests may store the same demo bytes under their own responses' folders: count beside this one only.
    from pathlib import Path

    files = [p for p in Path(att.file.path).parent.iterdir() if p.name.startswith(att.sha256)]
    assert len(files) == 1
