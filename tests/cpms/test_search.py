"""The header's search box (issue 18): one term, everything the user may open that matches it, nothing else.
Personas: the case's officer (owner) and a colleague without the case, a supervisor, the ICTS analyst with the case,
the FDNS analyst the query is referred to and a colleague without the referral, a privacy officer, an OBIM analyst and
an anonymous visitor (the authorization matrix checks every persona as well: tests/cpms/test_authorization_matrix.py)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.worlds import build_world


@pytest.fixture
def world(db, django_capture_on_commit_callbacks, monkeypatch):
    return build_world(django_capture_on_commit_callbacks, monkeypatch)


def search(world, persona: str, term: str) -> str:
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(world.users[persona])
    resp = client.get(reverse("search"), {"q": term})
    assert resp.status_code == 200
    return resp.content.decode()


def link(name: str, obj) -> str:
    return f'href="{reverse(name, args=[obj.pk])}"'


def test_an_officer_finds_a_case_by_a_name_typed_in_latin_letters(world):
    person = world["person"]
    person.family_name, person.given_names = "Петренко", "Олег"
    person.save()  # its folded name forms follow (PersonNameKey)
    for term in ("petrenko", "Petrenko Oleg", "Петренко", "A399999909", "FIN1000000009", "ZAR2699999901"):
        page = search(world, "officer", term)
        assert link("case-detail", world["case"]) in page, term
        assert "Петренко, Олег" in page
    assert link("case-detail", world["case"]) in search(world, "supervisor", "petrenko")
    colleague = search(world, "officer_colleague", "petrenko")
    assert link("case-detail", world["case"]) not in colleague and "Петренко, Олег" not in colleague
    assert "Nothing you may open matches “petrenko”" in colleague
    assert "Show all the cases" not in search(world, "officer", "petrenko")  # one case: nothing more to show


def test_more_cases_than_a_page_link_to_the_full_list(world):
    from cpms.core.search import LIMIT
    from tests.factories import CaseFactory

    for _ in range(LIMIT + 1):
        CaseFactory(officers=[world.users["officer"]], person=world["person"])
    page = search(world, "officer", "haddad")
    assert len(re.findall(r'href="/cases/\d+/"', page)) == LIMIT and 'href="/cases/?q=haddad">Show all the cases that match' in page


def test_a_query_reference_finds_the_query_for_its_officer_and_the_referred_fdns_analyst_only(world):
    ref = world["query"].query_ref
    assert link("query-detail", world["query"]) in search(world, "officer", ref)
    assert link("query-detail", world["query"]) in search(world, "fdns_analyst", ref.lower())
    for persona in ("officer_colleague", "fdns_colleague", "icts_analyst", "privacy_officer"):
        assert link("query-detail", world["query"]) not in search(world, persona, ref), persona


def test_an_icts_analyst_finds_the_icts_case_by_the_partners_reference_or_fin(world):
    for term in ("CAN-MX-OPEN", "can-mx-open", world["icts"].case_number, "FIN1000000001"):
        assert link("icts-case", world["icts"]) in search(world, "icts_analyst", term), term
    for persona in ("officer", "obim_analyst", "fdns_analyst"):
        assert link("icts-case", world["icts"]) not in search(world, persona, "CAN-MX-OPEN"), persona


def test_a_privacy_officer_finds_people_and_partners_requests(world):
    page = search(world, "privacy_officer", "A399999909")
    assert link("privacy-person", world["person"]) in page
    assert link("partner-request", world["referred"]) in search(world, "privacy_officer", "CAN-MX-REFER")
    assert link("partner-request", world["referred"]) not in search(world, "icts_analyst_colleague", "CAN-MX-REFER")
    assert link("privacy-person", world["person"]) not in search(world, "officer", "A399999909")


def test_the_box_is_in_the_header_of_every_page_once_signed_in(world):
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(world.users["officer"])
    page = client.get(reverse("home")).content.decode()
    assert 'role="search" aria-label="Search everything you may see"' in page and f'action="{reverse("search")}"' in page


def test_an_anonymous_visitor_is_sent_to_sign_in(db):
    client = Client()
    client.post(reverse("system-use"))
    resp = client.get(reverse("search"), {"q": "petrenko"})
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]
