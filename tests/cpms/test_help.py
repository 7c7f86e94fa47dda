"""Help (issue 18): a page per role with what each status it meets means, the glossary and whom to ask. Personas: one
user of each role, and anonymous."""

import pytest
from django.test import Client
from django.urls import reverse

from cpms.core.roles import Role
from icts.workflow import CaseStatus
from cpms.partner_requests.workflow import RequestStatus
from cpms.queries.workflow import QueryStatus
from tests.factories import UserFactory

SEES = {  # role -> the sections it is shown
    Role.OFFICER: {"A query's status"},
    Role.SUPERVISOR: {"A query's status"},
    Role.FDNS_ANALYST: {"A query's status"},
    Role.ICTS_ANALYST: {"A partner's request", "An ICTS case"},
    Role.ICTS_REVIEWER: {"A partner's request", "An ICTS case"},
    Role.OBIM_ANALYST: {"An ICTS case"},
    Role.PRIVACY_OFFICER: {"A partner's request", "Decisions and the accounting"},
}
ALL = {"A query's status", "A partner's request", "An ICTS case", "Decisions and the accounting"}


def page(user) -> str:
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(user)
    resp = client.get(reverse("help"))
    assert resp.status_code == 200
    return resp.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(SEES))
def test_each_role_reads_the_statuses_it_meets_and_no_others(role):
    html = page(UserFactory(role=role))
    for title in ALL:
        assert (f">{title.replace(chr(39), '&#x27;')}</h2>" in html) == (title in SEES[role]), title
    assert "Names you will meet" in html and "Fingerprint Identification Number" in html and "Whom to ask" in html


@pytest.mark.django_db
def test_every_status_of_every_workflow_is_explained():
    html = page(UserFactory(role=Role.ICTS_REVIEWER)) + page(UserFactory(role=Role.OFFICER))
    for choices in (QueryStatus, RequestStatus, CaseStatus):
        for label in choices.labels:
            assert f"<dt>{label.replace(chr(39), '&#x27;')}</dt>" in html, label


def test_anonymous_is_sent_to_sign_in(db):
    assert Client().get(reverse("help")).status_code == 302
