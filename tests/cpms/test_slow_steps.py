"""The slow steps of issue 18, finding 13 (bench/steps.py measures them; no test asserts a time): the password pages say
why they take a second (the hasher's cost is deliberate), and the PDF renderer can be warmed before the first print."""

import sys

from django.test import Client
from django.urls import reverse

from cpms.core.pdf import warm_up
from tests.factories import UserFactory


def test_the_sign_in_page_says_why_it_takes_a_second(db):
    client = Client()
    client.post(reverse("system-use"))
    assert "CPMS checks a password slowly on purpose" in client.get(reverse("login")).content.decode()


def test_the_password_page_says_why_it_takes_a_second(db):
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(UserFactory(role="officer"))
    assert "stores the new one slowly on" in client.get(reverse("password-change")).content.decode()


def test_warm_up_loads_the_pdf_renderer(caplog):
    warm_up()
    assert "weasyprint" in sys.modules
    assert not [r for r in caplog.records if r.name == "cpms.core.pdf"]  # it rendered: nothing was logged
