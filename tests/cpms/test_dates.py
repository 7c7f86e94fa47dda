"""One date format on every page (issue 18, finding 11): "6 Dec 2026" and "6 Dec 2026 05:06", whether a template
formats the date or prints it bare (the admin does); dates are typed in text boxes as YYYY-MM-DD, never a browser's
date picker on one page and a text box on the next. Personas on the access log: a privacy officer (owner), an officer
(gets 404)."""

from datetime import date, datetime, UTC

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

WHEN = datetime(2026, 12, 6, 5, 6, tzinfo=UTC)


def test_a_bare_date_and_datetime_print_in_the_house_format():
    html = Template("{{ d }}|{{ t }}|{{ d|date }}|{{ t|date:'SHORT_DATETIME_FORMAT' }}").render(
        Context({"d": date(2027, 1, 5), "t": WHEN}))
    assert html == "5 Jan 2027|6 Dec 2026 05:06|5 Jan 2027|6 Dec 2026 05:06"


def browser(user) -> Client:
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", ["privacy-access-log"])
def test_date_filters_are_text_boxes_with_their_format(db, url):
    html = browser(UserFactory(role="privacy_officer")).get(reverse(url)).content.decode()
    assert 'type="date"' not in html
    assert html.count(">YYYY-MM-DD</span>") == 2


def test_the_access_log_reads_a_typed_date(db):
    resp = browser(UserFactory(role="privacy_officer")).get(reverse("privacy-access-log"), {"from": "2026-12-01", "to": "2026-12-06"})
    assert resp.status_code == 200 and 'value="2026-12-01"' in resp.content.decode()


def test_an_officer_gets_no_access_log(db):
    assert browser(UserFactory(role="officer")).get(reverse("privacy-access-log")).status_code == 404
