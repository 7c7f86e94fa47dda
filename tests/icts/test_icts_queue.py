"""The ICTS work queue as its users work it all day: the reviewer's queue opens on "In review", columns sort and keep
the filters, the count stays capped, "due within 7 days", the time-left badge, and a reviewer's bulk assignment
(all or nothing)."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from cpms.core.labels import time_left
from icts import services
from cpms.core.permissions import grants_refresh_sort_key
from icts.models import IctsCase, IctsCaseGroupObjectPermission, IctsCaseUserObjectPermission
from icts.selectors import work_queue_count
from icts.workflow import CaseStatus
from tests.factories import AgreementFactory, PersonFactory, UserFactory, cis_record, request_message
from tests.icts.test_icts_views import browser, receive


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    AgreementFactory(partner__code="CAN")
    person = PersonFactory(fin="FIN1000000001", a_number="A300000001", family_name="Haddad", given_names="Amal")
    cis_record(person)
    cases = [receive(request_message(request_ref=f"CAN-REQ-{i}", priority=p), django_capture_on_commit_callbacks)
             for i, p in enumerate(("high", "medium", "low"))]
    now = timezone.now()
    # received: 0 oldest; due: 2 soonest (in 2 days), 1 in 10 days, 0 overdue
    for case, received, due in zip(cases, (now - timedelta(days=9), now - timedelta(days=5), now - timedelta(days=1)),
                                   (now - timedelta(hours=3), now + timedelta(days=10), now + timedelta(days=2)), strict=True):
        IctsCase.objects.filter(pk=case.pk).update(received_at=received, due_at=due)
        grants_refresh_sort_key(IctsCase.objects.get(pk=case.pk), IctsCaseUserObjectPermission, IctsCaseGroupObjectPermission)
    users = {r: UserFactory(role=r) for r in ("icts_analyst", "icts_reviewer", "officer")}
    users["other_analyst"] = UserFactory(role="icts_analyst", first_name="Olga", last_name="Other")
    return {"cases": cases, "users": users, "person": person}


def order(html: str, cases) -> list[int]:
    positions = sorted((html.index(c.case_number), i) for i, c in enumerate(cases))
    return [i for _, i in positions]


def test_reviewers_queue_opens_on_in_review_and_analysts_on_all_active(world):
    resp = browser(world["users"]["icts_reviewer"]).get(reverse("icts-queue"))
    assert resp.status_code == 302 and resp["Location"] == reverse("icts-queue") + "?status=in_review"
    assert browser(world["users"]["icts_analyst"]).get(reverse("icts-queue")).status_code == 200


def test_queue_shows_person_reference_received_and_time_left(world):
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-queue")).content.decode()
    assert "Haddad, Amal" in html and "CAN-REQ-0" in html
    assert world["cases"][0].received_at.strftime("%-d %b %Y") in html
    assert "Overdue by 3 hours" in html and "Due in 2 days" in html and "Due in 10 days" in html
    assert "3 cases are active." in html


def test_sortable_headers_order_the_queue_and_keep_the_filters(world):
    client = browser(world["users"]["icts_analyst"])
    default = client.get(reverse("icts-queue")).content.decode()
    assert order(default, world["cases"]) == [0, 1, 2]  # priority first
    assert order(client.get(reverse("icts-queue"), {"sort": "due"}).content.decode(), world["cases"]) == [0, 2, 1]
    assert order(client.get(reverse("icts-queue"), {"sort": "-due"}).content.decode(), world["cases"]) == [1, 2, 0]
    newest = client.get(reverse("icts-queue"), {"sort": "-received"}).content.decode()
    assert order(newest, world["cases"]) == [2, 1, 0] and 'aria-sort="descending"' in newest

    filtered = client.get(reverse("icts-queue"), {"priority": "low", "sort": "due"}).content.decode()
    assert "sort=-due" in filtered and "priority=low" in filtered.split('aria-sort="ascending"')[1].split("</th>")[0]
    # an edited URL with an unknown order is the default order, not an error
    assert client.get(reverse("icts-queue"), {"sort": "drop table"}).status_code == 200


def test_due_within_a_week_leaves_out_the_overdue_and_the_later(world):
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-queue"), {"due_soon": "on"}).content.decode()
    assert world["cases"][2].case_number in html
    assert world["cases"][0].case_number not in html and world["cases"][1].case_number not in html
    assert "1 case matches these filters." in html


def test_the_count_is_capped(world):
    reviewer = world["users"]["icts_reviewer"]
    assert work_queue_count(reviewer) == (3, False)
    assert work_queue_count(reviewer, cap=2) == (2, True)
    assert work_queue_count(reviewer, priority="high") == (1, False)
    assert work_queue_count(world["users"]["officer"]) == (0, False)


def test_time_left_in_words():
    now = timezone.now()
    assert time_left(now + timedelta(minutes=30), now) == ("Due in 30 min", "soon")
    assert time_left(now + timedelta(hours=30), now) == ("Due in 30 hours", "")
    assert time_left(now + timedelta(hours=40), now) == ("Due in 2 days", "")
    assert time_left(now - timedelta(days=3, hours=2), now) == ("Overdue by 3 days", "overdue")


def test_reviewer_assigns_ticked_cases_in_one_go(world):
    reviewer, analyst = world["users"]["icts_reviewer"], world["users"]["other_analyst"]
    client = browser(reviewer)
    page = client.get(reverse("icts-queue"), {"status": ""}).content.decode()
    assert 'form="bulk-assign"' in page and "Olga Other" in page
    ids = [c.pk for c in world["cases"][:2]]
    resp = client.post(reverse("icts-bulk-assign"), {"cases": ids, "analyst": analyst.pk, "next": "/icts/?status="})
    assert resp.status_code == 302 and resp["Location"] == "/icts/?status="
    assert [str(m) for m in get_messages(resp.wsgi_request)][0].startswith("2 cases assigned to Olga Other")
    assert set(IctsCase.objects.filter(assigned_analyst=analyst).values_list("pk", flat=True)) == set(ids)
    assert IctsCase.objects.get(pk=ids[0]).status == CaseStatus.PREPARING


def test_bulk_assignment_is_all_or_nothing(world):
    reviewer, analyst = world["users"]["icts_reviewer"], world["users"]["other_analyst"]
    first, second = world["cases"][:2]
    IctsCase.objects.filter(pk=second.pk).update(status=CaseStatus.IN_REVIEW)  # nobody may reassign it now
    with pytest.raises(services.IctsError) as refused:
        services.cases_assign(actor=reviewer, case_ids=[first.pk, second.pk], analyst=analyst)
    assert second.case_number in refused.value.message and "Nothing was assigned" in refused.value.message
    assert not IctsCase.objects.filter(assigned_analyst=analyst).exists()


def test_bulk_assignment_refusals_say_what_to_do(world):
    reviewer = world["users"]["icts_reviewer"]
    client = browser(reviewer)
    resp = client.post(reverse("icts-bulk-assign"), {"analyst": world["users"]["other_analyst"].pk})
    assert [str(m) for m in get_messages(resp.wsgi_request)] == ["Tick the cases to assign, then choose the analyst."]
    resp = client.post(reverse("icts-bulk-assign"), {"cases": [world["cases"][0].pk], "analyst": reviewer.pk})
    assert "Choose an analyst from the list" in [str(m) for m in get_messages(resp.wsgi_request)][-1]
    resp = client.post(reverse("icts-bulk-assign"), {"cases": [world["cases"][0].pk, 999999], "analyst": world["users"]["other_analyst"].pk})
    assert "reload the queue" in [str(m) for m in get_messages(resp.wsgi_request)][-1]
    assert not IctsCase.objects.filter(assigned_analyst__isnull=False).exists()
    # an off-site "next" is ignored
    resp = client.post(reverse("icts-bulk-assign"), {"analyst": "", "next": "https://evil.example/"})
    assert resp["Location"] == reverse("icts-queue")


@pytest.mark.parametrize("persona", ["icts_analyst", "officer"])
def test_bulk_assignment_is_for_reviewers_only(world, persona):
    resp = browser(world["users"][persona]).post(reverse("icts-bulk-assign"),
                                                 {"cases": [world["cases"][0].pk], "analyst": world["users"]["other_analyst"].pk})
    assert resp.status_code == 404
    assert not IctsCase.objects.filter(assigned_analyst__isnull=False).exists()
    assert 'form="bulk-assign"' not in browser(world["users"]["icts_analyst"]).get(reverse("icts-queue")).content.decode()


def test_empty_queues_speak_of_their_own_work(world):
    html = browser(world["users"]["icts_reviewer"]).get(reverse("icts-queue"), {"status": "in_review"}).content.decode()
    assert "No response is waiting for review." in html and "0 cases match these filters." in html
    IctsCase.objects.update(status=CaseStatus.CLOSED)
    html = browser(world["users"]["icts_analyst"]).get(reverse("icts-queue")).content.decode()
    assert "No partner request is waiting for ICTS" in html and "0 cases are active." in html
