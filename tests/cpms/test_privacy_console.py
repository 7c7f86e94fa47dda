"""Privacy officer's console: accounting (page, CSV, PDF; the person's copy omits 552a(c)(3)), access log, chain."""

import csv
import io

import pytest
from django.urls import reverse

from cpms.audit.models import AccessLogEntry
from cpms.disclosure.models import DisclosureRecord
from ident_bridge.inbound import inbound_process
from icts import services as icts
from icts.models import IctsCase
from tests.factories import AgreementFactory, PersonFactory, UserFactory, cis_record, jpeg_bytes, request_message, store_inbound
from tests.fakes import ident_accepts_everything


def disclose(person, reason, ref, analyst, reviewer, capture):
    with capture(execute=True):
        inbound_process(store_inbound(request_message(fin=person.fin, request_ref=ref, reason=reason)).pk)
    case = IctsCase.objects.get(partner_request__request_ref=ref)
    case = icts.case_assign(actor=analyst, case=case, analyst=analyst)
    icts.package_save(actor=analyst, case=case, reviewer_name="Rita Moreno", person={"family_name": person.family_name})
    icts.package_add_attachment(actor=analyst, case=case, filename="p.jpg", data=jpeg_bytes(color=(len(ref), 1, 2)), kind="passport")
    icts.package_submit(actor=analyst, case=case)
    with capture(execute=True):
        icts.package_review(actor=reviewer, case=case, verdict="approved")


@pytest.fixture
def world(db, django_capture_on_commit_callbacks, monkeypatch, client):
    ident_accepts_everything(monkeypatch)
    AgreementFactory(partner__code="CAN", legal_authority="Canada implementing arrangement, May 2015")
    person = PersonFactory(fin="FIN1000000001")
    cis_record(person)
    analyst, reviewer = UserFactory(role="icts_analyst"), UserFactory(role="icts_reviewer")
    disclose(person, "refugee_claimant", "CAN-1", analyst, reviewer, django_capture_on_commit_callbacks)
    disclose(person, "enforcement", "CAN-2", analyst, reviewer, django_capture_on_commit_callbacks)
    po = UserFactory(role="privacy_officer")
    return {"person": person, "po": po, "client": client, "officer": UserFactory(role="officer"), "analyst": analyst}


def login(client, user):
    client.force_login(user)
    s = client.session
    s["system_use_accepted_at"] = "2026-11-25T00:00:00Z"
    s.save()
    return client


def test_one_accounting_record_per_response(world):
    assert DisclosureRecord.objects.filter(person=world["person"]).count() == 2


def test_accounting_page_shows_every_disclosure_to_the_privacy_officer(world):
    c = login(world["client"], world["po"])
    page = c.get(reverse("privacy-accounting", args=[world["person"].pk])).content.decode()
    assert "2 disclosures" in page and "Law-enforcement request" in page and "Canada implementing arrangement" in page


def test_accounting_names_the_agreement_once_per_disclosure(world):
    records = DisclosureRecord.objects.filter(person=world["person"])
    title = records.first().agreement.title
    records.update(legal_authority=f"{title}; Authorisation of the Secretary (2010) — 8 CFR 208.6")
    c = login(world["client"], world["po"])
    page = c.get(reverse("privacy-accounting", args=[world["person"].pk])).content.decode()
    assert page.count(title) == 2 and page.count("Authorisation of the Secretary (2010) — 8 CFR 208.6") == 2
    records.update(legal_authority=title)  # the agreement is the whole authority: nothing under its label
    page = c.get(reverse("privacy-accounting", args=[world["person"].pk])).content.decode()
    assert page.count(title) == 2


def test_the_persons_copy_leaves_out_law_enforcement_requests(world):
    c = login(world["client"], world["po"])
    page = c.get(reverse("privacy-accounting", args=[world["person"].pk]) + "?copy=subject").content.decode()
    assert "1 disclosure" in page and "Law-enforcement request</span>" not in page


def test_csv_has_one_row_per_disclosure_with_elements_and_documents(world):
    c = login(world["client"], world["po"])
    resp = c.get(reverse("privacy-accounting-csv", args=[world["person"].pk]))
    rows = list(csv.DictReader(io.StringIO(resp.content.decode())))
    assert resp["Content-Type"].startswith("text/csv") and len(rows) == 2
    assert {r["law_enforcement_request"] for r in rows} == {"yes", "no"} and rows[0]["data_elements"] == "Family name"
    assert rows[0]["attachments"].startswith("Passport: p.jpg (SHA-256 ")
    assert rows[0]["exchange"] == "Our response to the partner's request" and rows[0]["agreement"].endswith("version 1)")
    subject = list(csv.DictReader(io.StringIO(c.get(reverse("privacy-accounting-csv", args=[world["person"].pk]) + "?copy=subject")
                                              .content.decode())))
    assert len(subject) == 1


def test_pdf_report(world):
    c = login(world["client"], world["po"])
    resp = c.get(reverse("privacy-accounting-pdf", args=[world["person"].pk]))
    assert resp["Content-Type"] == "application/pdf" and resp.content.startswith(b"%PDF")


def test_search_by_a_number_or_fin(world):
    c = login(world["client"], world["po"])
    assert c.get(reverse("privacy-accounting-search") + f"?q={world['person'].fin}")["Location"].endswith(f"/{world['person'].pk}/")
    assert "No person has" in c.get(reverse("privacy-accounting-search") + "?q=A999999999", follow=True).content.decode()


def test_reports_are_themselves_logged(world):
    c = login(world["client"], world["po"])
    c.get(reverse("privacy-accounting-csv", args=[world["person"].pk]))
    assert AccessLogEntry.objects.filter(user=world["po"], action="export", person=world["person"]).count() == 1


def test_access_log_search_by_user_person_and_date(world):
    c = login(world["client"], world["po"])
    c.get(reverse("privacy-accounting", args=[world["person"].pk]))
    page = c.get(reverse("privacy-access-log") + f"?user={world['po'].username}&person={world['person'].a_number}").content.decode()
    assert "A person&#x27;s accounting or timeline" in page and str(world["person"]) in page and "core.person" not in page
    bad = c.get(reverse("privacy-access-log") + "?from=yesterday").content.decode()
    assert "must be a date like" in bad


def test_audit_page_runs_and_shows_verification(world):
    from cpms.audit.anchor import anchor_write

    c = login(world["client"], world["po"])
    c.post(reverse("privacy-audit"))  # no anchor yet: the end of the chain cannot be vouched for
    page = c.get(reverse("privacy-audit")).content.decode()
    assert "Cannot be verified" in page and "no anchor of the chain&#x27;s head was found" in page
    anchor_write()  # what beat does every AUDIT_ANCHOR_SECONDS
    c.post(reverse("privacy-audit"))
    assert "Intact" in c.get(reverse("privacy-audit")).content.decode()


@pytest.mark.parametrize("persona", ["officer", "analyst"])
@pytest.mark.parametrize("name,args", [("privacy-accounting-search", []), ("privacy-access-log", []), ("privacy-audit", []),
                                       ("privacy-accounting", ["pk"]), ("privacy-accounting-csv", ["pk"]),
                                       ("privacy-accounting-pdf", ["pk"])])
def test_other_roles_get_404(world, persona, name, args):
    c = login(world["client"], world[persona])
    url = reverse(name, args=[world["person"].pk] if args else [])
    assert c.get(url).status_code == 404


def test_accounting_is_complete_across_a_mix_of_requests(world, django_capture_on_commit_callbacks):
    """One record per person per `response` sent, none for a `no_match`: compare the accounting with what
    actually left through the outbox."""
    import json

    from cpms.cis.classes import ProtectedClass
    from ident_bridge.models import OutboxMessage

    withheld = []
    for i, cls in enumerate((ProtectedClass.T, ProtectedClass.VAWA, ProtectedClass.ASYLUM, ProtectedClass.USC)):
        p = PersonFactory(fin=f"FIN20000000{i:02d}")
        cis_record(p, cls)
        withheld.append(p)
        with django_capture_on_commit_callbacks(execute=True):
            inbound_process(store_inbound(request_message(fin=p.fin, request_ref=f"CAN-W-{i}")).pk)
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(request_message(fin="FIN2999999999", request_ref="CAN-UNKNOWN")).pk)
    other = PersonFactory(fin="FIN3000000001")
    cis_record(other)
    disclose(other, "refugee_claimant", "CAN-3", world["analyst"], UserFactory(role="icts_reviewer"),
             django_capture_on_commit_callbacks)

    replies = [json.loads(bytes(m.raw)) for m in OutboxMessage.objects.filter(type="request.reply")]
    responses = [r for r in replies if r["body"]["outcome"] == "response"]
    assert len([r for r in replies if r["body"]["outcome"] == "no_match"]) == 5
    assert DisclosureRecord.objects.count() == len(responses) == 3
    assert sorted(DisclosureRecord.objects.values_list("person__fin", flat=True)) == ["FIN1000000001", "FIN1000000001",
                                                                                      "FIN3000000001"]
    assert not DisclosureRecord.objects.filter(person__in=withheld).exists()
    assert set(DisclosureRecord.objects.values_list("outbox_message__message_id", flat=True)) == \
        {OutboxMessage.objects.get(message_id=r["message_id"]).message_id for r in responses}
