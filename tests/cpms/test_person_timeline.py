"""The privacy officer's person timeline and people search. Personas: a privacy officer (owner of the console), an
officer (gets 404), and the officer whose query makes the events."""

import csv
import re
import io

import pytest
from django.urls import reverse

from cpms.audit.models import AccessLogEntry
from cpms.audit.services import access_record
from cpms.cis.classes import ProtectedClass
from cpms.privacy import timeline
from cpms.queries import services as query_services
from tests.factories import AgreementFactory, CaseFactory, PersonFactory, UserFactory, cis_record


@pytest.fixture
def world(db):
    AgreementFactory(partner__code="CAN")
    AgreementFactory(partner__code="AUS", asylum_disclosure_authorised=True)
    officer = UserFactory(role="officer", username="olivia", last_name="Ortiz")
    privacy = UserFactory(role="privacy_officer")
    person = PersonFactory(family_name="Петренко", given_names="Олег", aliases=[{"family_name": "Petrenko", "given_names": "Oleg"}],
                           dob_year=1979, dob_month=5, dob_day=None)
    case = CaseFactory(officers=[officer], person=person)
    sent = query_services.query_submit(actor=officer, case=case, partner_code="CAN", reason="asylum_claimant", priority="high")
    cis_record(person, ProtectedClass.T)
    held = query_services.query_submit(actor=officer, case=case, partner_code="AUS", reason="asylum_claimant", priority="low")
    access_record(user=officer, obj=sent, action=AccessLogEntry.Action.VIEW, person_id=person.pk,
                  context={"purpose": "case_adjudication", "reference": sent.query_ref})
    return {"officer": officer, "privacy": privacy, "person": person, "sent": sent, "held": held}


def test_the_timeline_has_every_kind_newest_first(world):
    events, cursor = timeline.person_timeline(world["person"])
    assert cursor is None
    assert {e.kind for e in events} == {"disclosure", "decision", "query", "read"}
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)
    disclosure = next(e for e in events if e.kind == "disclosure")
    # the world's messages never reach IDENT: the accounting says so (issue 17)
    assert disclosure.title == "Our fingerprint query to Canada (not disclosed yet: waiting for IDENT to accept it)"
    assert disclosure.reference == world["sent"].query_ref
    assert "FIN" in disclosure.detail and "version 1" in disclosure.detail  # labels and the agreement version
    read = next(e for e in events if e.kind == "read")
    assert read.detail == "Purpose: Case adjudication" and read.user.startswith(world["officer"].first_name)
    assert read.title == "A query and the partner's answers: viewed a page" and read.reference == world["sent"].query_ref
    held = [e for e in events if e.kind == "decision" and e.reference == world["held"].query_ref]
    assert held and held[0].title.startswith("Refer to a privacy officer") and "8 U.S.C. 1367" in held[0].detail


def test_pages_follow_one_another_without_gaps_or_repeats(world):
    everything, _ = timeline.person_timeline(world["person"], limit=1000)
    seen, cursor = [], None
    while True:
        page, cursor = timeline.person_timeline(world["person"], cursor=cursor, limit=2)
        seen += page
        if cursor is None:
            break
    assert [(e.kind, e.id) for e in seen] == [(e.kind, e.id) for e in everything]
    assert timeline.Cursor.parse(seen[1].cursor.token()) == seen[1].cursor
    assert timeline.Cursor.parse("junk|read|x") is None and timeline.Cursor.parse("2026-01-01T00:00:00|read|1") is None


def test_filters_by_kind_partner_user_and_dates(world):
    f = timeline.Filters
    only = timeline.person_timeline(world["person"], filters=f(kinds=frozenset({"disclosure"})))[0]
    assert {e.kind for e in only} == {"disclosure"}
    aus = timeline.person_timeline(world["person"], filters=f(partner="AUS"))[0]
    assert aus and all(e.partner == "Australia" for e in aus) and not any(e.kind == "read" for e in aus)
    by_officer = timeline.person_timeline(world["person"], filters=f(user="Ortiz"))[0]
    assert by_officer and all(e.user.endswith("Ortiz") for e in by_officer)
    assert timeline.person_timeline(world["person"], filters=f(user="nobody-like-this"))[0] == []
    from datetime import date

    assert timeline.person_timeline(world["person"], filters=f(date_to=date(2000, 1, 1)))[0] == []


@pytest.mark.parametrize("term", ["Petrenko", "petrenko oleg", "Oleg Petrenko", "ПЕТРЕНКО", "1979-05", "1979"])
def test_people_are_found_by_any_name_form_and_date_of_birth(world, term):
    assert world["person"] in timeline.find_people(term)


def test_people_are_found_by_folded_diacritics_a_number_and_fin(db):
    nguyen = PersonFactory(family_name="Nguyễn", given_names="Thị Minh")
    assert timeline.find_people("Nguyen") == [nguyen] and timeline.find_people("nguyen thi") == [nguyen]
    assert timeline.find_people(nguyen.a_number) == [nguyen] and timeline.find_people(nguyen.fin.lower()) == [nguyen]
    assert timeline.find_people("Smith") == [] and timeline.find_people("  ") == []
    nguyen.family_name = "Tran"
    nguyen.save()  # the name keys follow the record
    assert timeline.find_people("Nguyen") == [] and timeline.find_people("Tran") == [nguyen]


def test_the_pages_csv_and_pdf_for_a_privacy_officer_and_404_for_others(world, client):
    client.force_login(world["privacy"])
    client.post(reverse("system-use"))
    found = client.get(reverse("privacy-people"), {"q": "Petrenko"})
    assert found.status_code == 302 and found["Location"] == reverse("privacy-person", args=[world["person"].pk])
    page = client.get(reverse("privacy-person", args=[world["person"].pk]), {"kind": ["disclosure", "decision"]})
    html = page.content.decode()
    assert page.status_code == 200 and "Our fingerprint query to Canada" in html and "Read of partner data" not in html.split("Timeline")[-1]
    assert client.get(reverse("privacy-person", args=[world["person"].pk]), {"date_from": "soon"}).status_code == 200  # a message
    rows = list(csv.DictReader(io.StringIO(client.get(reverse("privacy-person-csv", args=[world["person"].pk])).content.decode())))
    assert {r["kind"] for r in rows} >= {"Disclosure", "Protected-status decision", "Our query", "Read of partner data"}
    pdf = client.get(reverse("privacy-person-pdf", args=[world["person"].pk]))
    assert pdf.content.startswith(b"%PDF") and pdf["Cache-Control"] == "private, no-store"
    assert AccessLogEntry.objects.filter(user=world["privacy"], person=world["person"], context__report="timeline").exists()
    client.force_login(world["officer"])
    client.post(reverse("system-use"))
    assert client.get(reverse("privacy-person", args=[world["person"].pk])).status_code == 404
    assert client.get(reverse("privacy-people"), {"q": "Petrenko"}).status_code == 404


def test_the_live_region_is_the_result_line_and_dates_are_plain_text_with_their_format(world, client):
    client.force_login(world["privacy"])
    client.post(reverse("system-use"))
    html = client.get(reverse("privacy-person", args=[world["person"].pk])).content.decode()
    content = html.split("<h1>", 1)[1].split("</ol>", 1)[0]  # the page's own content, to the end of the timeline
    live = re.findall(r"<[^>]*(?:aria-live|role=\"status\")[^>]*>", content)
    assert live == ['<p id="timeline-status" class="cpms-result-count" role="status" aria-live="polite">']
    status = re.search(r'id="timeline-status"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert re.fullmatch(r"Showing the \d+ events\.", status)  # only the count: the timeline is outside it
    assert "cpms-timeline" in html.split('id="timeline-status"')[1] and "cpms-timeline" not in status
    for name in ("date_from", "date_to"):
        assert re.search(rf'id="id_{name}" name="{name}"\s+type="text"', html)
        assert f'<div class="usa-hint" id="id_{name}-hint">Write the date as YYYY-MM-DD, for example 2026-11-25.</div>' in html
    assert 'type="date"' not in html
    none = client.get(reverse("privacy-person", args=[world["person"].pk]), {"partner": "AUS", "user": "nobody"}).content.decode()
    assert '<p id="timeline-status" class="cpms-result-count" role="status" aria-live="polite">No events match the filters.</p>' in none


def test_a_privacy_officers_own_reads_are_kept_but_shown_apart(world):
    """Issue 17: the timeline filled up with the privacy officer's own 'viewed' reads, burying the disclosures."""
    from cpms.privacy.timeline import Filters

    person = world["person"]
    for _ in range(3):
        access_record(user=world["privacy"], obj=person, action=AccessLogEntry.Action.VIEW, person_id=person.pk,
                      context={"purpose": "privacy_oversight", "reference": "timeline"})
    events, _ = timeline.person_timeline(person)
    assert not any(e.kind == "oversight" for e in events) and any(e.kind == "disclosure" for e in events)
    shown, _ = timeline.person_timeline(person, filters=Filters(kinds=frozenset({"oversight"})))
    assert [e.kind for e in shown] == ["oversight"] * 3
    assert AccessLogEntry.objects.filter(person=person, context__purpose="privacy_oversight").count() == 3
