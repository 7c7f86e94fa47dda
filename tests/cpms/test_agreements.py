"""Versioned agreements: a published version is never edited; a new version is drafted, reviewed and published, ends
the one it supersedes, and every disclosure keeps the version it left under. Personas: an administrator in the admin
(owner), an officer (who may not reach the admin)."""

import json
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from cpms.core import services
from cpms.core.models import Agreement
from cpms.core.reference_data import load_reference_data
from cpms.disclosure.models import DisclosureRecord
from cpms.disclosure.services import active_query_agreement
from cpms.queries import services as query_services
from tests.factories import AgreementFactory, CaseFactory, UserFactory


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("agreements-admin", "a@example.gov", "x-long-password-1")


def test_a_new_version_is_drafted_reviewed_published_and_ends_the_one_it_supersedes(admin_user):
    v1 = AgreementFactory(partner__code="CAN", appendix_a_ref="6", effective_from=date(2015, 5, 1))
    draft = services.agreement_new_version(actor=admin_user, source=v1)
    assert (draft.version, draft.status, draft.supersedes) == (2, "draft", v1)
    with pytest.raises(services.AgreementError):  # one version in preparation at a time
        services.agreement_new_version(actor=admin_user, source=v1)
    with pytest.raises(services.AgreementError):  # publishing needs a review first
        services.agreement_publish(actor=admin_user, agreement=draft)
    draft.authorised_data_elements = ["family_name"]
    draft.effective_from = timezone.localdate() + timedelta(days=10)
    draft.save()
    services.agreement_submit_for_review(actor=admin_user, agreement=draft)
    published = services.agreement_publish(actor=admin_user, agreement=draft)
    v1.refresh_from_db()
    assert published.status == "published" and published.published_by == admin_user
    assert v1.effective_to == draft.effective_from - timedelta(days=1)
    assert active_query_agreement("CAN") == v1  # until version 2 takes effect
    assert Agreement.objects.active(on=draft.effective_from).get(partner_id="CAN") == published


def test_a_version_cannot_take_effect_before_the_one_it_supersedes(admin_user):
    v1 = AgreementFactory(partner__code="CAN", appendix_a_ref="6", effective_from=date(2015, 5, 1))
    draft = services.agreement_new_version(actor=admin_user, source=v1)
    Agreement.objects.filter(pk=draft.pk).update(effective_from=date(2015, 5, 1), status="in_review")
    with pytest.raises(services.AgreementError) as exc:
        services.agreement_publish(actor=admin_user, agreement=draft)
    assert exc.value.field == "effective_from"
    v1.refresh_from_db()
    assert v1.effective_to is None


def test_the_admin_cannot_edit_a_published_version_and_offers_the_version_actions(admin_user, client):
    v1 = AgreementFactory(partner__code="CAN", appendix_a_ref="6")
    client.force_login(admin_user)
    client.post(reverse("system-use"))
    url = reverse("admin:core_agreement_change", args=[v1.pk])
    page = client.get(url).content.decode()
    assert 'name="title"' not in page  # read-only
    resp = client.post(url, {"title": "Edited in place"})
    v1.refresh_from_db()
    assert resp.status_code == 403 and v1.title != "Edited in place"
    resp = client.post(reverse("admin:core_agreement_changelist"), {"action": "new_version", "_selected_action": [v1.pk]},
                       follow=True)
    assert "Draft version 2 created" in resp.content.decode()
    assert client.get(reverse("admin:core_agreement_change", args=[Agreement.objects.get(version=2).pk])).status_code == 200


def test_a_disclosure_keeps_the_version_it_left_under(admin_user, django_capture_on_commit_callbacks):
    officer = UserFactory(role="officer")
    v1 = AgreementFactory(partner__code="CAN", appendix_a_ref="6", effective_from=date(2015, 5, 1))
    case = CaseFactory(officers=[officer])
    query = query_services.query_submit(actor=officer, case=case, partner_code="CAN", reason="asylum_claimant", priority="low")
    draft = services.agreement_new_version(actor=admin_user, source=v1)
    draft.effective_from = timezone.localdate() - timedelta(days=1)
    draft.save()
    services.agreement_submit_for_review(actor=admin_user, agreement=draft)
    v2 = services.agreement_publish(actor=admin_user, agreement=draft)
    second = query_services.query_submit(actor=officer, case=case, partner_code="CAN", reason="asylum_claimant", priority="low")
    records = {r.reference: r.agreement for r in DisclosureRecord.objects.all()}
    assert records == {query.query_ref: v1, second.query_ref: v2}


def test_reference_data_loads_the_united_kingdom_not_in_force_and_new_zealand_without_one(db):
    load_reference_data()
    gbr = Agreement.objects.get(partner_id="GBR")
    assert gbr.status == "published" and gbr.appendix_a_ref == "10" and not gbr.is_active
    assert not Agreement.objects.active().filter(partner_id="GBR").exists()
    assert not Agreement.objects.filter(partner_id="NZL").exists()
    assert {a.partner_id for a in Agreement.objects.active().filter(allows_uscis_queries=True)} == {"AUS", "CAN"}
    assert json.dumps(sorted(Agreement.Status.values)) == '["draft", "in_review", "published"]'


def test_an_officer_cannot_reach_the_agreements_admin(client, db):
    client.force_login(UserFactory(role="officer"))
    assert client.get(reverse("admin:core_agreement_changelist")).status_code in (302, 403, 404)
