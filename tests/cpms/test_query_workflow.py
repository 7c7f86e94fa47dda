"""The query state machine: every allowed and every refused transition."""

import itertools

import pytest

from cpms.queries.models import QueryTransition
from cpms.queries.workflow import FINAL, TRANSITIONS, QueryStatus, TransitionNotAllowed, can_transition, transition
from tests.factories import AgreementFactory, CaseFactory, UserFactory

ALL_PAIRS = list(itertools.product(QueryStatus.values, QueryStatus.values))
ALLOWED = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
EXPECTED_ALLOWED = {
    ("held_cis", "submitted"), ("held_cis", "held_privacy"), ("held_cis", "withheld"), ("held_cis", "closed"),
    ("held_privacy", "submitted"), ("held_privacy", "withheld"), ("held_privacy", "closed"),
    ("submitted", "no_match"), ("submitted", "awaiting_round2"), ("submitted", "failed"),
    ("awaiting_round2", "responded"), ("awaiting_round2", "failed"),
    ("responded", "awaiting_round3"), ("responded", "closed"),
    ("awaiting_round3", "completed"), ("awaiting_round3", "failed"),
}


def test_transition_table_is_the_documented_one():
    assert ALLOWED == EXPECTED_ALLOWED
    assert set(TRANSITIONS) == set(QueryStatus.values)
    assert FINAL == {"no_match", "completed", "closed", "failed", "withheld"}


@pytest.fixture
def make_query(db, django_capture_on_commit_callbacks):
    from cpms.queries import services

    officer = UserFactory(role="officer")
    AgreementFactory(partner__code="CAN")

    def make(status):
        case = CaseFactory(officers=[officer])
        with django_capture_on_commit_callbacks(execute=False):
            query = services.query_submit(actor=officer, case=case, partner_code="CAN", reason="other", priority="low")
        type(query).objects.filter(pk=query.pk).update(status=status)  # test set-up: place the query in `status`
        query.refresh_from_db()
        return query

    return make


@pytest.mark.parametrize("current,target", [p for p in ALL_PAIRS if p in EXPECTED_ALLOWED])
def test_allowed_transition_moves_and_records_history(make_query, current, target):
    query = make_query(current)
    transition(query, target, reason="test")
    query.refresh_from_db()
    assert query.status == target
    last = QueryTransition.objects.filter(query=query).latest("id")
    assert (last.from_status, last.to_status) == (current, target)


@pytest.mark.parametrize("current,target", [p for p in ALL_PAIRS if p not in EXPECTED_ALLOWED])
def test_refused_transition_changes_nothing(make_query, current, target):
    assert not can_transition(current, target)
    query = make_query(current)
    before = QueryTransition.objects.filter(query=query).count()
    with pytest.raises(TransitionNotAllowed):
        transition(query, target)
    query.refresh_from_db()
    assert query.status == current
    assert QueryTransition.objects.filter(query=query).count() == before
