"""The Django admin as the administrator meets it (issue 18, finding 9): rule sets in words, not class codes; a partner
that agreements, queries or disclosures refer to keeps its code and offers no Delete. Personas: the administrator
(owner), an officer (no admin)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from cpms.disclosure.models import RuleSet
from cpms.disclosure.services import ruleset_ensure_default
from tests.factories import AgreementFactory, PartnerFactory, UserFactory


@pytest.fixture
def admin_client(db, client):
    client.post(reverse("system-use"))
    client.force_login(get_user_model().objects.create_superuser("site-admin", "a@example.gov", "x-long-password-1"))
    return client


def test_a_rule_set_names_the_classes_in_words(admin_client):
    ruleset = ruleset_ensure_default() or RuleSet.objects.get(is_active=True)  # the data migrations' defaults
    html = admin_client.get(reverse("admin:disclosure_ruleset_change", args=[ruleset.pk])).content.decode()
    assert "Asylum applicant or asylee" in html and "Credible fear determination" in html
    for code in ("ASYLUM", "CREDIBLE_FEAR", "VAWA_DERIVATIVE"):
        assert f": {code} " not in html and f">{code}<" not in html


def test_a_partner_with_an_agreement_keeps_its_code_and_offers_no_delete(admin_client):
    partner = AgreementFactory(partner__code="CAN").partner
    url = reverse("admin:core_partner_change", args=[partner.pk])
    html = admin_client.get(url).content.decode()
    assert 'name="code"' not in html and 'name="name"' in html
    assert reverse("admin:core_partner_delete", args=[partner.pk]) not in html
    assert admin_client.get(reverse("admin:core_partner_delete", args=[partner.pk])).status_code == 403
    listing = admin_client.get(reverse("admin:core_partner_changelist")).content.decode()
    assert 'value="delete_selected"' not in listing


def test_a_partner_nothing_refers_to_may_still_be_deleted(admin_client):
    partner = PartnerFactory(code="NZL")
    assert admin_client.get(reverse("admin:core_partner_delete", args=[partner.pk])).status_code == 200


def test_a_new_partner_is_given_its_code(admin_client):
    html = admin_client.get(reverse("admin:core_partner_add")).content.decode()
    assert 'name="code"' in html


def test_the_agreements_list_fits_its_columns(admin_client):
    AgreementFactory(partner__code="CAN")
    html = admin_client.get(reverse("admin:core_agreement_changelist")).content.decode()
    head = html[html.index("<thead>"):html.index("</thead>")]
    assert head.count('<th scope="col"') <= 8  # the tick column and seven


def test_an_officer_gets_no_partner_admin(client, db):
    client.post(reverse("system-use"))
    client.force_login(UserFactory(role="officer"))
    assert client.get(reverse("admin:core_partner_changelist")).status_code in (302, 403, 404)
