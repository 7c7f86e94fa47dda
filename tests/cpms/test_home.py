"""The home page: each role sees its own work as counts that link to the filtered lists where that work is done;
the counts are right, capped, and never show another role's work; the navigation leads everywhere a role may go."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cpms.core.home import Section, Tile, sections_for
from cpms.queries.models import InternationalQuery
from cpms.queries.selectors import my_cases_count, my_cases_page
from cpms.queries.workflow import QueryStatus
from tests.factories import AgreementFactory, CaseFactory, UserFactory


def browser(user) -> Client:
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(user)
    return client


def tiles(user) -> dict[str, Tile]:
    return {t.label: t for section in sections_for(user) for t in section.tiles}


def query(case, status, **extra):
    agreement = AgreementFactory._meta.model.objects.first() or AgreementFactory(partner__code="CAN")
    return InternationalQuery.objects.create(query_ref=f"Q-{case.pk}-{status}", case=case, person=case.person,
                                             partner=agreement.partner, agreement=agreement, reason="refugee_claimant",
                                             priority="medium", requestor=case.assigned_officers.first(), status=status, **extra)


@pytest.fixture
def world(db):
    officer, colleague = UserFactory(role="officer", first_name="Olive", last_name="Officer"), UserFactory(role="officer")
    supervisor = UserFactory(role="supervisor")
    cases = [CaseFactory(officers=[officer]) for _ in range(3)] + [CaseFactory(officers=[colleague])]
    query(cases[0], QueryStatus.RESPONDED)
    query(cases[1], QueryStatus.SUBMITTED, overdue_since=timezone.now() - timedelta(days=1))
    query(cases[3], QueryStatus.RESPONDED)  # the colleague's: never counted for the officer
    return {"officer": officer, "colleague": colleague, "supervisor": supervisor, "cases": cases}


def test_officer_counts_are_their_own_cases_and_link_to_the_filtered_list(world):
    officer = world["officer"]
    mine = tiles(officer)
    assert mine["Open cases with a partner's answer waiting for you"].count == 1
    assert mine["Open cases with an overdue query"].count == 1
    assert mine["Open cases waiting for a partner"].count == 1
    assert mine["Open cases"].count == 3
    waiting = browser(officer).get(mine["Open cases with a partner's answer waiting for you"].url).content.decode()
    assert world["cases"][0].receipt_number in waiting
    assert world["cases"][1].receipt_number not in waiting and world["cases"][3].receipt_number not in waiting
    assert "Open cases with a partner&#x27;s answer waiting for you" in waiting or "selected" in waiting


def test_closed_cases_are_not_counted_as_work(world):
    case = world["cases"][0]
    type(case).objects.filter(pk=case.pk).update(is_open=False)
    assert my_cases_count(world["officer"], show="waiting") == (0, False)
    assert my_cases_page(world["officer"], show="waiting").object_list == []


def test_supervisor_sees_team_cases_with_the_owning_officers(world):
    supervisor = world["supervisor"]
    assert tiles(supervisor)["Open cases with a partner's answer to act on"].count == 2
    html = browser(supervisor).get(reverse("my-cases")).content.decode()
    assert "<h1>Team cases</h1>" in html and "<th scope=\"col\">Officers</th>" in html and "Olive Officer" in html
    assert ">Team cases<" in html.split("</nav>")[0]
    officer_html = browser(world["officer"]).get(reverse("my-cases")).content.decode()
    assert "<h1>My cases</h1>" in officer_html and "Officers</th>" not in officer_html


def test_home_counts_are_capped(world, monkeypatch):
    from cpms.queries import home

    monkeypatch.setattr(home, "my_cases_count", lambda user, **kw: my_cases_count(user, cap=2, **kw))
    assert tiles(world["officer"])["Open cases"].figure == "2+"


def test_a_user_without_a_role_is_told_whom_to_ask(db):
    html = browser(UserFactory()).get(reverse("home")).content.decode()
    assert "You have no role in CPMS yet" in html and "Ask your CPMS administrator" in html


def test_admin_reaches_the_django_admin_from_the_header_and_sees_messages_needing_attention(db):
    admin = UserFactory(role="admin", is_staff=True)
    html = browser(admin).get(reverse("home")).content.decode()
    assert f'href="{reverse("admin:index")}"' in html.split("<main")[0]
    assert "Outbound messages needing attention" in html and reverse("admin:ident_bridge_outboxattention_changelist") in html
    officer_html = browser(UserFactory(role="officer")).get(reverse("home")).content.decode()
    assert f'href="{reverse("admin:index")}"' not in officer_html and "needing attention" not in officer_html


@pytest.mark.parametrize("role,title", [("icts_analyst", "Your ICTS cases"), ("icts_reviewer", "ICTS review"),
                                        ("obim_analyst", "Transmitted packages"), ("fdns_analyst", "Fraud referrals"),
                                        ("privacy_officer", "Privacy decisions")])
def test_each_role_sees_only_its_own_sections(db, role, title):
    sections = sections_for(UserFactory(role=role))
    assert [s.title for s in sections] == [title]
    assert all(isinstance(s, Section) and s.tiles for s in sections)


def test_the_case_list_filter_rejects_unknown_values_calmly(world):
    html = browser(world["officer"]).get(reverse("my-cases"), {"show": "everything"}).content.decode()
    assert all(c.receipt_number in html for c in world["cases"][:3])  # an edited URL: no filter, not an error
    assert InternationalQuery.objects.count() == 3
