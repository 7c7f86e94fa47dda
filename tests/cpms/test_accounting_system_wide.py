"""The accounting system-wide (issue 19): every entry in a period, filtered by partner, agreement version, exchange and
delivery outcome, one keyset page at a time, exported as CSV with the export on record. Personas: a privacy officer
(reads it), an officer and an ICTS analyst (404)."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cpms.audit.models import AccessLogEntry
from cpms.disclosure.models import DisclosureRecord
from cpms.privacy import selectors
from cpms.queries import services
from ident_bridge.models import OutboxMessage
from ident_bridge.outbox import outbox_deliver
from ident_bridge.transport import BridgeError
from tests.factories import AgreementFactory, CaseFactory, UserFactory
from tests.fakes import FakeTransport

D = DisclosureRecord.Delivery


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    officer = UserFactory(role="officer")
    can, aus = AgreementFactory(partner__code="CAN"), AgreementFactory(partner__code="AUS")
    refs = {}
    with django_capture_on_commit_callbacks(execute=False):
        for name, partner in (("can1", "CAN"), ("can2", "CAN"), ("aus1", "AUS"), ("can_refused", "CAN")):
            refs[name] = services.query_submit(actor=officer, case=CaseFactory(officers=[officer]), partner_code=partner,
                                               reason="asylum_claimant", priority="high")
    for name, query in refs.items():
        outbox = OutboxMessage.objects.get(ref=query.query_ref)
        answer = BridgeError("400: unknown FIN", permanent=True, status=400) if name == "can_refused" else None
        outbox_deliver(outbox.pk, transport=FakeTransport(*([answer] if answer else [])))
    # can1 left last month
    old = DisclosureRecord.objects.get(reference=refs["can1"].query_ref)
    DisclosureRecord.objects.filter(pk=old.pk).update(disclosed_at=timezone.now() - timedelta(days=40))
    return {"refs": refs, "can": can, "aus": aus, "privacy": UserFactory(role="privacy_officer"), "officer": officer,
            "analyst": UserFactory(role="icts_analyst")}


def signed_in(client, user):
    client.force_login(user)
    client.post(reverse("system-use"))
    return client


def refs_of(rows):
    return {r.reference for r in rows}


def test_filters_select_by_partner_agreement_period_and_outcome(world):
    r = world["refs"]
    everything = selectors.disclosures()
    assert refs_of(everything) == {q.query_ref for q in r.values()}
    assert refs_of(selectors.disclosures(partner="AUS")) == {r["aus1"].query_ref}
    assert refs_of(selectors.disclosures(agreement=world["can"].pk, outcome="disclosed")) == {r["can1"].query_ref,
                                                                                           r["can2"].query_ref}
    assert refs_of(selectors.disclosures(outcome="not_disclosed")) == {r["can_refused"].query_ref}
    assert refs_of(selectors.disclosures(outcome=D.REFUSED)) == {r["can_refused"].query_ref}
    today = timezone.now().date()
    assert r["can1"].query_ref not in refs_of(selectors.disclosures(date_from=today - timedelta(days=7), date_to=today))
    assert refs_of(selectors.disclosures(date_to=today - timedelta(days=30))) == {r["can1"].query_ref}
    assert refs_of(selectors.disclosures(kind="query.followup")) == set()


def test_keyset_pages_show_every_entry_once_newest_first(world):
    seen, before = [], ""
    while True:
        rows, before = selectors.disclosures_page(selectors.disclosures(), before=before or "", limit=1)
        seen += rows
        if before is None:
            break
    assert len(seen) == len({r.pk for r in seen}) == DisclosureRecord.objects.count()
    assert [r.disclosed_at for r in seen] == sorted((r.disclosed_at for r in seen), reverse=True)


def test_the_page_lists_filters_and_records_the_read(client, world):
    signed_in(client, world["privacy"])
    page = client.get(reverse("privacy-accounting-search"), {"partner": "CAN", "outcome": "not_disclosed"}).content.decode()
    assert world["refs"]["can_refused"].query_ref in page and world["refs"]["can2"].query_ref not in page
    assert "IDENT refused the message" in page
    entry = AccessLogEntry.objects.filter(user=world["privacy"]).latest("id")
    assert entry.object_type == "disclosure.disclosurerecord" and entry.context["filters"] == {"partner": "CAN",
                                                                                                 "outcome": "not_disclosed"}
    bad = client.get(reverse("privacy-accounting-search"), {"date_from": "2026-02-30"}).content.decode()
    assert "Enter the date as YYYY-MM-DD" in bad


def test_the_csv_exports_every_filtered_entry_and_the_export_is_on_record(client, world):
    signed_in(client, world["privacy"])
    resp = client.get(reverse("privacy-accounting-all-csv"), {"partner": "CAN"})
    rows = list(csv.DictReader(io.StringIO(b"".join(resp.streaming_content).decode())))
    assert {r["reference"] for r in rows} == {world["refs"][k].query_ref for k in ("can1", "can2", "can_refused")}
    assert {r["disclosed"] for r in rows} == {"yes", "no"} and all(r["a_number"] for r in rows)
    entry = AccessLogEntry.objects.filter(user=world["privacy"], action=AccessLogEntry.Action.EXPORT).get()
    assert entry.context["report"] == "accounting.csv" and entry.context["filters"] == {"partner": "CAN"}


@pytest.mark.parametrize("persona", ["officer", "analyst"])
def test_other_roles_get_404(client, world, persona):
    signed_in(client, world[persona])
    assert client.get(reverse("privacy-accounting-search")).status_code == 404
    assert client.get(reverse("privacy-accounting-all-csv")).status_code == 404
