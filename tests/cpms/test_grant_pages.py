"""Work-queue pages read from the grant tables (sort_key) give exactly the queryset's order, page by page,
for a user with a few grants, a user whose group holds them all, and a user with both."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cpms.core.models import BenefitCase
from cpms.core.permissions import case_grants_sync, grants_refresh_sort_key
from cpms.queries.selectors import my_cases, my_cases_page
from icts.models import IctsCase, IctsCaseGroupObjectPermission
from icts.selectors import work_queue, work_queue_page
from tests.factories import AgreementFactory, CaseFactory, PersonFactory, UserFactory, cis_record, request_message
from tests.worlds import receive_request


def all_pages(fetch, per_page=3):
    seen, number = [], 1
    while True:
        page = fetch(number=number, per_page=per_page)
        seen += [obj.pk for obj in page]
        assert len(page) <= per_page
        if not page.has_next():
            return seen
        number += 1


@pytest.fixture
def cases(db):
    owner, other, supervisor = UserFactory(role="officer"), UserFactory(role="officer"), UserFactory(role="supervisor")
    made = []
    for i in range(11):
        case = CaseFactory(officers=[owner if i % 3 else other], person=PersonFactory(family_name=f"Name{i % 4}"))
        BenefitCase.objects.filter(pk=case.pk).update(created_at=timezone.now() - timedelta(hours=i * 7 % 5))
        case.refresh_from_db()
        if i % 4 == 0:
            case.is_open = False
            case.save()
        case_grants_sync(case)  # as the admin does after a change: the grants' sort keys follow
        made.append(case)
    return owner, other, supervisor


@pytest.mark.parametrize("who", [0, 1, 2])
@pytest.mark.parametrize("search", ["", "name1", "NAME2"])
def test_my_cases_pages_follow_the_querysets_order(cases, who, search):
    user = cases[who]
    expected = list(my_cases(user, search=search).values_list("pk", flat=True))
    assert all_pages(lambda **kw: my_cases_page(user, search=search, **kw)) == expected
    assert expected  # every persona has something to page through


def test_a_closed_case_moves_down_the_list(cases):
    owner = cases[0]
    first = my_cases_page(owner, per_page=50).object_list[0]
    first.is_open = False
    first.save()
    case_grants_sync(first)
    listed = my_cases_page(owner, per_page=50).object_list
    assert listed.index(first) == sum(1 for c in listed if c.is_open)  # the first of the closed ones


def test_other_roles_get_an_empty_page(cases):
    page = my_cases_page(UserFactory(role="icts_analyst"))
    assert list(page) == [] and not page.has_next()


@pytest.fixture
def icts_cases(db, django_capture_on_commit_callbacks):
    from icts import services

    AgreementFactory(partner__code="CAN")
    cis_record(PersonFactory(fin="FIN1000000001"))
    analyst, colleague, reviewer = UserFactory(role="icts_analyst"), UserFactory(role="icts_analyst"), UserFactory(role="icts_reviewer")
    for i in range(10):
        req = receive_request(request_message(request_ref=f"CAN-PAGE-{i}", priority=("high", "medium", "low")[i % 3]),
                              django_capture_on_commit_callbacks)
        # due from four days ago to eight days ahead: overdue, due within the week and later, in every priority
        IctsCase.objects.filter(pk=req.icts_case.pk).update(due_at=timezone.now() + timedelta(days=(i * 5) % 13 - 4, hours=i))
        case = IctsCase.objects.get(pk=req.icts_case.pk)
        grants_refresh_sort_key(case, IctsCaseGroupObjectPermission)
        if i % 3 == 1:
            services.case_assign(actor=analyst, case=case, analyst=analyst)
        elif i % 3 == 2:
            services.case_assign(actor=colleague, case=case, analyst=colleague)
    return analyst, colleague, reviewer


@pytest.mark.parametrize("who", [0, 1, 2])
@pytest.mark.parametrize("filters", [{}, {"mine": True}, {"priority": "high"}, {"status": "preparing"}, {"overdue": True},
                                     {"due_soon": True}, {"priority": "medium", "due_soon": True},
                                     {"mine": True, "overdue": True}, {"overdue": True, "due_soon": True}])
def test_work_queue_pages_follow_the_querysets_order(icts_cases, who, filters):
    user = icts_cases[who]
    filters = {**filters, "now": timezone.now()}
    expected = list(work_queue(user, **filters).values_list("pk", flat=True))
    assert all_pages(lambda **kw: work_queue_page(user, **filters, **kw)) == expected
    if who == 2 and not filters.get("mine") and not (filters.get("overdue") and filters.get("due_soon")):  # the reviewer's list is never empty here
        assert expected


@pytest.mark.parametrize("who", [0, 1, 2])
@pytest.mark.parametrize("sort", ["due", "-due", "received", "-received"])
@pytest.mark.parametrize("filters", [{}, {"mine": True}, {"priority": "low"}])
def test_sorted_work_queue_pages_follow_the_querysets_order(icts_cases, who, sort, filters):
    user = icts_cases[who]
    expected = list(work_queue(user, sort=sort, **filters).values_list("pk", flat=True))
    assert all_pages(lambda **kw: work_queue_page(user, sort=sort, **filters, **kw)) == expected


@pytest.mark.parametrize("who", [0, 2])
def test_sorted_pages_walk_in_small_chunks_and_fall_back_to_the_grants(icts_cases, who, monkeypatch):
    """Chunks of 2 and at most 4 rows read: some pages are walked, the deeper ones fall back to the EXISTS query."""
    from functools import partial

    from cpms.core import permissions
    from icts import selectors

    calls = []

    def walk(*args, **kwargs):
        page = partial(permissions.granted_walk, chunk=2, max_rows=4)(*args, **kwargs)
        calls.append(page is not None)
        return page

    monkeypatch.setattr(selectors, "granted_walk", walk)
    user = icts_cases[who]
    expected = list(work_queue(user, sort="-received").values_list("pk", flat=True))
    assert all_pages(lambda **kw: work_queue_page(user, sort="-received", **kw), per_page=2) == expected
    assert set(calls) == {True, False}  # some pages walked, some fell back


def test_obim_queue_pages_follow_the_querysets_order(db, django_capture_on_commit_callbacks, monkeypatch):
    from icts import services
    from icts.selectors import obim_queue, obim_queue_page
    from tests.factories import jpeg_bytes
    from tests.fakes import ident_accepts_everything

    ident_accepts_everything(monkeypatch)
    AgreementFactory(partner__code="CAN")
    cis_record(PersonFactory(fin="FIN1000000001"))
    analyst, reviewer, obim = UserFactory(role="icts_analyst"), UserFactory(role="icts_reviewer"), UserFactory(role="obim_analyst")
    for i in range(5):
        req = receive_request(request_message(request_ref=f"CAN-OBIM-{i}"), django_capture_on_commit_callbacks)
        case = services.case_assign(actor=analyst, case=req.icts_case, analyst=analyst)
        services.package_save(actor=analyst, case=case, reviewer_name="Rita Moreno", person={"family_name": "Haddad"})
        services.package_add_attachment(actor=analyst, case=case, filename="p.jpg", data=jpeg_bytes(color=(i, 1, 2)), kind="passport")
        services.package_submit(actor=analyst, case=case)
        if i != 2:  # one stays in review: OBIM never sees it
            with django_capture_on_commit_callbacks(execute=True):
                services.package_review(actor=reviewer, case=case, verdict="approved")
    expected = list(obim_queue(obim).values_list("pk", flat=True))
    assert len(expected) == 4
    assert all_pages(lambda **kw: obim_queue_page(obim, **kw)) == expected
    assert list(obim_queue_page(reviewer)) == []
