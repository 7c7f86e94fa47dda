"""The officer's query page in a working day (issue 18): "Refer to FDNS" arrives with the partner's answer, without a
reload (finding 6); the page says the query was held and cleared (finding 7), in states only, never the rules'
reasons; a referral names people, not usernames, and is revoked in two steps (finding 11)."""

import pytest
from django.test import Client
from django.urls import reverse

from cpms.cis.classes import ProtectedClass
from cpms.queries import services
from cpms.queries.ui_selectors import query_view
from tests.factories import (AgreementFactory, CaseFactory, PersonFactory, UserFactory, cis_record, response_message,
                             result_message, store_inbound)


def browser(user) -> Client:
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(user)
    return client


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    AgreementFactory(partner__code="AUS", asylum_disclosure_authorised=True)
    owner = UserFactory(role="officer", first_name="Olivia", last_name="Ortiz", username="oortiz")
    person = PersonFactory()
    case = CaseFactory(officers=[owner], person=person)
    return {"owner": owner, "colleague": UserFactory(role="officer"), "privacy": UserFactory(role="privacy_officer"),
            "fdns": UserFactory(role="fdns_analyst", first_name="Farah", last_name="Nasser", username="fnasser"),
            "case": case, "person": person}


def submit(world, capture):
    with capture(execute=False):
        return services.query_submit(actor=world["owner"], case=world["case"], partner_code="AUS", reason="asylum_claimant",
                                     priority="high")


def answer(query):
    for message, record in ((result_message(query), services.round1_record_result),
                            (response_message(query), services.round_record_response)):
        record(message=message, inbound=store_inbound(message))
    query.refresh_from_db()
    return query


def test_the_live_timeline_offers_refer_to_fdns_when_the_answer_arrives(world, django_capture_on_commit_callbacks):
    query = submit(world, django_capture_on_commit_callbacks)
    client = browser(world["owner"])
    refer = reverse("query-refer", args=[query.pk])
    waiting = client.get(reverse("query-timeline-partial", args=[query.pk])).content.decode()
    assert refer not in waiting
    version = query_view(query, can_act=True).version
    answer(query)
    live = client.get(reverse("query-timeline-partial", args=[query.pk]), {"v": version}).content.decode()
    assert live.count(refer) == 1 and "Not referred to FDNS." in live


def test_a_colleague_gets_404_on_the_live_timeline(world, django_capture_on_commit_callbacks):
    query = submit(world, django_capture_on_commit_callbacks)
    assert browser(world["colleague"]).get(reverse("query-timeline-partial", args=[query.pk])).status_code == 404


def test_the_query_page_says_it_was_held_for_a_privacy_officer_and_cleared(world, django_capture_on_commit_callbacks):
    cis_record(world["person"], ProtectedClass.U)
    query = submit(world, django_capture_on_commit_callbacks)
    held = browser(world["owner"]).get(reverse("query-detail", args=[query.pk])).content.decode()
    assert "Before it was sent" in held and "Held: waiting for a privacy officer." in held
    with django_capture_on_commit_callbacks(execute=False):
        services.query_referral_resolve(actor=world["privacy"], query=query, outcome="share", justification="consent on file")
    page = browser(world["owner"]).get(reverse("query-detail", args=[query.pk])).content.decode()
    assert "Held: waiting for a privacy officer." in page
    assert "Cleared by a privacy officer; sent to Australia." in page
    # The states only: the rules' reasons and the privacy officer's justification stay on the privacy pages.
    assert "1367" not in page and "consent on file" not in page


def test_a_query_never_held_says_nothing_about_holds(world, django_capture_on_commit_callbacks):
    query = submit(world, django_capture_on_commit_callbacks)
    assert "Before it was sent" not in browser(world["owner"]).get(reverse("query-detail", args=[query.pk])).content.decode()


def test_a_referral_names_people_and_is_revoked_in_two_steps(world, django_capture_on_commit_callbacks):
    query = answer(submit(world, django_capture_on_commit_callbacks))
    referral = services.referral_create(actor=world["owner"], query=query, analyst=world["fdns"], reason="Documents disagree",
                                        days=30)
    client = browser(world["owner"])
    page = client.get(reverse("query-detail", args=[query.pk])).content.decode()
    assert "Referred by Olivia Ortiz on" in page and "oortiz" not in page
    # The revoke button sits behind a disclosure that says what it does.
    assert '<summary class="cpms-danger-link">Revoke…' in page and "Farah Nasser will no longer see this query." in page
    resp = client.post(reverse("referral-revoke", args=[referral.pk]), follow=True)
    assert "The referral to Farah Nasser is revoked." in resp.content.decode()
