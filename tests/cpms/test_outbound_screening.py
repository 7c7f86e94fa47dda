"""Outbound screening: nothing about a person leaves CPMS (a query, round 3, an augmentation) unless the disclosure rules
allow it, and everything that leaves is in the accounting with the agreement version it went under.

Personas: the case's officer (owner), a privacy officer (decides held queries), an ICTS analyst (augments)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from cpms.cis.classes import ProtectedClass
from cpms.cis.pcqs import PcqsUnavailable
from cpms.core.models import Notification
from cpms.disclosure import services as disclosure
from cpms.disclosure.models import Decision, DisclosureRecord
from cpms.queries import services
from cpms.queries.models import InternationalQuery, QueryRound
from cpms.queries.workflow import QueryStatus
from ident_bridge.models import OutboxMessage
from tests.factories import AgreementFactory, CaseFactory, PersonFactory, UserFactory, cis_record


@pytest.fixture
def world(db):
    officer = UserFactory(role="officer")
    can = AgreementFactory(partner__code="CAN", asylum_disclosure_authorised=False)
    aus = AgreementFactory(partner__code="AUS", asylum_disclosure_authorised=True)
    person = PersonFactory()
    return {"officer": officer, "privacy": UserFactory(role="privacy_officer"), "can": can, "aus": aus, "person": person,
            "case": CaseFactory(officers=[officer], person=person)}


def submit(world, partner="AUS", **kw):
    args = dict(actor=world["officer"], case=world["case"], partner_code=partner, reason="asylum_claimant", priority="high")
    return services.query_submit(**(args | kw))


def nothing_sent():
    return not OutboxMessage.objects.exists() and not DisclosureRecord.objects.exists()


def test_a_feared_country_is_never_queried_and_the_refusal_is_kept_for_the_privacy_record(world):
    cis_record(world["person"], {"protected_class": ProtectedClass.ASYLUM, "application_status": "pending",
                                 "feared_countries": ["AUS"]})
    with pytest.raises(services.QueryNotPermitted) as exc:
        submit(world, "AUS")
    assert exc.value.code == "not_permitted" and exc.value.field == "partner"
    assert "does not allow USCIS to ask Australia" in exc.value.message and "Nothing was sent" in exc.value.message
    assert "fear" not in exc.value.message  # the officer is not told the protected detail itself
    assert nothing_sent() and not InternationalQuery.objects.exists()
    decision = Decision.objects.get()
    assert (decision.direction, decision.stage, decision.outcome) == ("query", "query", "withhold")
    assert decision.person == world["person"] and decision.partner_id == "AUS" and decision.decided_by is None  # the rules
    assert decision.justification.startswith(f"Asked by {world['officer'].get_full_name()}")
    assert "fear persecution in Australia" in decision.reasons[0]["why"]


def test_an_asylum_applicant_is_queried_only_under_the_fcc_authorisation(world):
    cis_record(world["person"], ProtectedClass.ASYLUM)
    with pytest.raises(services.QueryNotPermitted):
        submit(world, "CAN")  # Canada's agreement here carries no Secretary's authorisation
    query = submit(world, "AUS")
    assert query.status == QueryStatus.SUBMITTED


def test_a_1367_class_holds_the_query_for_a_privacy_officer_and_nothing_leaves(world):
    cis_record(world["person"], ProtectedClass.U)
    query = submit(world, "AUS")
    assert query.status == QueryStatus.HELD_PRIVACY and nothing_sent() and not query.rounds.exists()
    assert Notification.objects.filter(user=world["privacy"], url=f"/privacy/queries/{query.pk}/").exists()
    decision = query.decisions.get()
    assert decision.outcome == "refer" and "8 U.S.C. 1367" in decision.reasons[0]["citation"]


def test_the_privacy_officer_clears_a_held_query_and_it_is_sent_with_its_accounting(world):
    cis_record(world["person"], ProtectedClass.U)
    query = submit(world, "AUS")
    services.query_referral_resolve(actor=world["privacy"], query=query, outcome="share", justification="consent on file")
    query.refresh_from_db()
    assert query.status == QueryStatus.SUBMITTED
    message = json.loads(bytes(query.rounds.get(number=1).outbox_message.raw))
    assert message["type"] == "query.submit" and message["body"]["fin"] == world["person"].fin
    record = DisclosureRecord.objects.get()
    assert record.message_type == "query.submit" and record.reference == query.query_ref and record.agreement == world["aus"]
    assert Notification.objects.filter(user=world["officer"], message__contains="cleared").exists()


def test_the_privacy_officer_withholds_a_held_query_and_it_never_leaves(world):
    cis_record(world["person"], ProtectedClass.T)
    query = submit(world, "AUS")
    with pytest.raises(services.QueryError) as exc:
        services.query_referral_resolve(actor=world["privacy"], query=query, outcome="withhold", justification="")
    assert exc.value.field == "justification"
    services.query_referral_resolve(actor=world["privacy"], query=query, outcome="withhold", justification="T visa holder")
    query.refresh_from_db()
    assert query.status == QueryStatus.WITHHELD and nothing_sent()
    with pytest.raises(services.QueryError) as exc:  # a second click
        services.query_referral_resolve(actor=world["privacy"], query=query, outcome="share", justification="again")
    assert exc.value.code == "wrong_state" and nothing_sent()


def test_only_a_privacy_officer_decides_and_no_review_overrides_a_feared_country(world):
    cis_record(world["person"], ProtectedClass.U,
               {"protected_class": ProtectedClass.ASYLUM, "application_status": "pending", "feared_countries": []})
    query = submit(world, "AUS")
    with pytest.raises(services.QueryError) as exc:
        services.query_referral_resolve(actor=world["officer"], query=query, outcome="share", justification="mine")
    assert exc.value.code == "forbidden"
    cis_record(world["person"], ProtectedClass.U,  # CIS learns of the fear while the query waits
               {"protected_class": ProtectedClass.ASYLUM, "application_status": "pending", "feared_countries": ["AUS"]})
    with pytest.raises(services.QueryError) as exc:
        services.query_referral_resolve(actor=world["privacy"], query=query, outcome="share", justification="ok")
    assert exc.value.code == "floor" and nothing_sent()


def test_cis_unavailable_holds_the_query_and_the_sweep_sends_it_when_cis_answers(world, monkeypatch):
    class Down:
        def lookup(self, a_number):
            raise PcqsUnavailable("timeout")

    monkeypatch.setattr("cpms.disclosure.services.get_pcqs", lambda: Down())
    query = submit(world, "AUS")
    assert query.status == QueryStatus.HELD_CIS and nothing_sent()
    assert services.rescreen_due() == 1 and nothing_sent()  # still down: held, asked again later
    query.refresh_from_db()
    assert query.status == QueryStatus.HELD_CIS and query.next_screen_at > timezone.now()
    monkeypatch.undo()
    InternationalQuery.objects.filter(pk=query.pk).update(next_screen_at=timezone.now() - timedelta(seconds=1))
    assert services.rescreen_due() == 1
    query.refresh_from_db()
    assert query.status == QueryStatus.SUBMITTED and DisclosureRecord.objects.filter(message_type="query.submit").count() == 1
    assert services.query_rescreen(query.pk) == QueryStatus.SUBMITTED and OutboxMessage.objects.count() == 1  # idempotent


def test_round3_is_screened_again_and_a_refusal_sends_nothing(world):
    query = submit(world, "AUS")
    InternationalQuery.objects.filter(pk=query.pk).update(status=QueryStatus.RESPONDED)  # set-up: rounds 1 and 2 done
    QueryRound.objects.create(query=query, number=2, started_at=timezone.now(), answered_at=timezone.now())
    query.refresh_from_db()
    cis_record(world["person"], {"protected_class": ProtectedClass.ASYLUM, "application_status": "pending",
                                 "feared_countries": ["AUS"]})
    with pytest.raises(services.QueryNotPermitted) as exc:
        services.query_request_round3(actor=world["officer"], query=query, requested_items=["biographic"], justification="x")
    assert "Round 3 was not sent" in exc.value.message
    assert not OutboxMessage.objects.filter(type="query.followup").exists()
    assert query.decisions.filter(stage="followup", outcome="withhold").exists()
    cis_record(world["person"])
    services.query_request_round3(actor=world["officer"], query=query, requested_items=["biographic"], justification="x")
    record = DisclosureRecord.objects.get(message_type="query.followup")
    assert record.data_elements == ["justification", "requested_items"] and record.reference == query.query_ref


def test_round3_after_a_privacy_officers_clearance_needs_no_second_referral_while_cis_is_unchanged(world):
    cis_record(world["person"], ProtectedClass.U)
    query = submit(world, "AUS")
    services.query_referral_resolve(actor=world["privacy"], query=query, outcome="share", justification="consent on file")
    InternationalQuery.objects.filter(pk=query.pk).update(status=QueryStatus.RESPONDED)
    QueryRound.objects.create(query=query, number=2, started_at=timezone.now(), answered_at=timezone.now())
    query.refresh_from_db()
    services.query_request_round3(actor=world["officer"], query=query, requested_items=["biographic"], justification="x")
    assert OutboxMessage.objects.filter(type="query.followup").count() == 1


def test_partner_options_say_why_each_partner_cannot_be_used(world):
    AgreementFactory(partner__code="GBR", allows_uscis_queries=False,
                     allows_partner_requests=False, is_active=False, appendix_a_ref="10")
    from tests.factories import PartnerFactory

    PartnerFactory(code="NZL", name="New Zealand")
    cis_record(world["person"], {"protected_class": ProtectedClass.ASYLUM, "application_status": "pending",
                                 "feared_countries": ["AUS"]})
    options = {o.partner.code: o for o in disclosure.query_partner_options(world["person"])}
    assert not options["AUS"].may_query and "does not allow USCIS to ask Australia" in options["AUS"].why
    assert not options["CAN"].may_query  # asylum applicant, no FCC authorisation in this agreement
    assert options["GBR"].why == ("The agreement with United Kingdom (Appendix A item 10) is recorded but does not yet allow "
                                  "USCIS queries through CPMS.")
    assert options["NZL"].why == "USCIS has no information-sharing agreement with New Zealand."
    cis_record(world["person"])
    options = {o.partner.code: o for o in disclosure.query_partner_options(world["person"])}
    assert options["AUS"].may_query and options["CAN"].may_query and "version 1" in options["CAN"].why


def test_every_outbound_type_that_carries_a_person_is_accounted_for():
    """A new CPMS → IDENT type must say whether it carries a person's information (and so needs accounting)."""
    from ident_bridge import icd

    carries_no_person = set()  # none today: every CPMS → IDENT message names or answers about a person
    assert set(icd.CPMS_TO_IDENT) - carries_no_person == set(DisclosureRecord.Kind.values)


def test_the_held_query_page_shows_a_floor_refusal_and_records_nothing(world, client):
    from django.urls import reverse

    cis_record(world["person"], ProtectedClass.U)
    query = submit(world, "AUS")
    cis_record(world["person"], ProtectedClass.U,
               {"protected_class": ProtectedClass.ASYLUM, "application_status": "pending", "feared_countries": ["AUS"]})
    client.post(reverse("system-use"))
    client.force_login(world["privacy"])
    resp = client.post(reverse("privacy-held-query-resolve", args=[query.pk]), {"outcome": "share", "justification": "ok"})
    html = resp.content.decode()
    assert "The decision was not recorded" in html and "leave the query held" in html
    query.refresh_from_db()
    assert query.status == QueryStatus.HELD_PRIVACY and nothing_sent()


def test_the_privacy_officers_decision_on_a_held_query_is_on_the_decisions_list(world, client):
    """Issue 17: a decision on a held query appeared on no Decisions list afterwards."""
    from django.urls import reverse

    cis_record(world["person"], ProtectedClass.U)
    query = submit(world, "AUS")
    services.query_referral_resolve(actor=world["privacy"], query=query, outcome="withhold", justification="U visa holder")
    client.post(reverse("system-use"))
    client.force_login(world["privacy"])
    every = client.get(reverse("privacy-decisions")).content.decode()
    assert query.query_ref in every and "U visa holder" in every and "Our queries and round-3 follow-ups" in every
    assert reverse("privacy-held-query", args=[query.pk]) in every
    queries_only = client.get(reverse("privacy-decisions"), {"kind": "query", "outcome": "withhold"}).content.decode()
    assert query.query_ref in queries_only
    replies_only = client.get(reverse("privacy-decisions"), {"kind": "reply"}).content.decode()
    assert query.query_ref not in replies_only
    client.force_login(world["officer"])
    client.post(reverse("system-use"))
    assert client.get(reverse("privacy-decisions")).status_code == 404
