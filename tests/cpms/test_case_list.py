"""My cases and Team cases: the "Open queries" column counts every query still in play (issue 18, finding 2)."""

import pytest
from django.test import Client
from django.urls import reverse

from cpms.queries import services
from cpms.queries.models import InternationalQuery
from cpms.queries.selectors import my_cases_page
from cpms.queries.workflow import QueryStatus
from tests.factories import AgreementFactory, CaseFactory, UserFactory

S = QueryStatus


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    AgreementFactory(partner__code="CAN")
    owner = UserFactory(role="officer")
    colleague = UserFactory(role="officer")
    case = CaseFactory(officers=[owner])
    statuses = [S.HELD_CIS, S.HELD_PRIVACY, S.SUBMITTED, S.AWAITING_ROUND2, S.RESPONDED, S.AWAITING_ROUND3,
                S.CLOSED, S.COMPLETED, S.NO_MATCH, S.WITHHELD, S.FAILED]
    with django_capture_on_commit_callbacks(execute=False):
        queries = [services.query_submit(actor=owner, case=case, partner_code="CAN", reason="asylum_claimant",
                                         priority="medium") for _ in statuses]
    for query, status in zip(queries, statuses, strict=True):  # the states themselves, not the way there
        InternationalQuery.objects.filter(pk=query.pk).update(status=status)
    return {"owner": owner, "colleague": colleague, "case": case}


def browser(user) -> Client:
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(user)
    return client


def test_open_queries_counts_held_waiting_and_answered_queries(world):
    # Held (2), with the partner (3) and answered, waiting for the officer (1): six; the five finished ones are not.
    [case] = my_cases_page(world["owner"]).object_list
    assert case.open_queries == 6


def test_my_cases_page_shows_the_open_count(world):
    page = browser(world["owner"]).get(reverse("my-cases")).content.decode()
    assert '<td data-label="Open queries">6' in page


def test_supervisor_team_cases_show_the_open_count(world):
    page = browser(UserFactory(role="supervisor")).get(reverse("my-cases")).content.decode()
    assert '<td data-label="Open queries">6' in page


def test_colleague_does_not_see_the_case(world):
    page = browser(world["colleague"]).get(reverse("my-cases")).content.decode()
    assert world["case"].receipt_number not in page
    assert browser(world["colleague"]).get(reverse("case-detail", args=[world["case"].pk])).status_code == 404


# --- the case search: a name in any script, as People search reads it (issue 18, finding 11) ---------------------


@pytest.fixture
def petrenko(world):
    from tests.factories import PersonFactory

    return CaseFactory(officers=[world["owner"]], receipt_number="ZAR2690000042",
                       person=PersonFactory(family_name="Петренко", given_names="Олег", fin="FIN1000000042"))


@pytest.mark.parametrize("term", ["petrenko", "Petrenko Oleg", "Петренко", "oleg petr", "FIN1000000042", "zar2690000042"])
def test_the_case_search_finds_a_name_in_any_script(world, petrenko, term):
    listed = [c.pk for c in my_cases_page(world["owner"], search=term).object_list]
    assert listed == [petrenko.pk]


def test_the_case_search_finds_only_cases_the_user_may_see(world, petrenko):
    assert my_cases_page(world["colleague"], search="petrenko").object_list == []
    page = browser(world["colleague"]).get(reverse("my-cases"), {"q": "petrenko"}).content.decode()
    assert "ZAR2690000042" not in page and "Петренко" not in page
