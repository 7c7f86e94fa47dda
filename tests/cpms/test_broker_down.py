"""Redis down (defect 5): a committed write is answered as committed, and the sweeps finish the work once Redis is
back. Nothing is sent twice when the person (or IDENT) tries again."""

import time

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from cpms.celery import app
from cpms.queries.models import InternationalQuery
from ident_bridge import icd, tasks
from ident_bridge.models import InboundMessage, OutboxMessage
from tests.factories import AgreementFactory, CaseFactory, PersonFactory, UserFactory, cis_record, request_message
from tests.fakes import ident_accepts_everything
from tests.integration.harness import _reset_celery_connections

SECRET = "test-shared-secret"
NOBODY_LISTENS = "redis://127.0.0.1:1/0"  # port 1: connection refused at once, like a stopped Redis


@pytest.fixture
def redis_down(settings):
    saved = {"task_always_eager": app.conf.task_always_eager, "broker_url": app.conf.broker_url}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = NOBODY_LISTENS
    _reset_celery_connections(app)
    yield
    for key, value in saved.items():
        app.conf[key] = value
    _reset_celery_connections(app)


@pytest.fixture
def officer_case(db):
    AgreementFactory(partner__code="CAN")
    officer = UserFactory(role="officer")
    return officer, CaseFactory(officers=[officer], person=PersonFactory(fin="FIN1000000003"))


def browser(user) -> Client:
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(user)
    return client


def test_ident_message_is_202_when_redis_is_down_and_processed_by_the_sweep(client, db, redis_down, settings,
                                                                              django_capture_on_commit_callbacks):
    cis_record(PersonFactory(fin="FIN1000000001"))
    AgreementFactory(partner__code="CAN")
    raw = icd.canonical_bytes(request_message(request_ref="CAN-REDIS-1"))
    ts = int(time.time())
    with django_capture_on_commit_callbacks(execute=True):  # the publish runs, and fails, after the commit
        resp = client.generic("POST", "/ident/v1/messages", raw, content_type="application/json",
                              HTTP_X_IDENT_TIMESTAMP=str(ts), HTTP_X_IDENT_SIGNATURE=icd.sign(raw, SECRET, ts))
    assert resp.status_code == 202
    row = InboundMessage.objects.get()
    assert row.processed_at is None
    # Redis is back: the sweep (Celery beat) finds the message by its state in the database.
    settings.INBOUND_STALE_SECONDS = 0
    app.conf.task_always_eager = True
    assert tasks.inbound_sweep() == 1
    row.refresh_from_db()
    assert row.processed_at is not None


def test_officer_query_page_succeeds_with_redis_down_and_a_resubmit_makes_no_second_query(officer_case, redis_down,
                                                                                          django_capture_on_commit_callbacks):
    officer, case = officer_case
    client = browser(officer)
    form = {"partner": "CAN", "reason": "asylum_claimant", "priority": "high", "encounter_id": "", "submission_key": "a" * 32}
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(reverse("query-new", args=[case.pk]), form)
    assert first.status_code == 302, first.content[:300]
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(reverse("query-new", args=[case.pk]), form)  # the officer pressed the button again
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert InternationalQuery.objects.count() == 1
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.PENDING  # waiting for the relay sweep


def test_api_create_is_201_with_redis_down_and_a_retry_with_its_key_returns_the_same_query(officer_case, redis_down,
                                                                                           django_capture_on_commit_callbacks):
    officer, case = officer_case
    api = APIClient()
    api.force_authenticate(officer)
    body = {"case": case.pk, "partner": "CAN", "reason": "asylum_claimant", "priority": "high"}
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post("/api/v1/queries/", body, format="json", HTTP_IDEMPOTENCY_KEY="retry-me-1")
    assert first.status_code == 201, first.content
    with django_capture_on_commit_callbacks(execute=True):
        again = api.post("/api/v1/queries/", body, format="json", HTTP_IDEMPOTENCY_KEY="retry-me-1")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert InternationalQuery.objects.count() == 1 and OutboxMessage.objects.count() == 1
    other = api.post("/api/v1/queries/", body | {"priority": "low"}, format="json", HTTP_IDEMPOTENCY_KEY="retry-me-1")
    assert other.status_code == 422 and other["Content-Type"] == "application/problem+json"


def test_the_relay_sweep_sends_what_redis_lost(officer_case, redis_down, monkeypatch, django_capture_on_commit_callbacks):
    officer, case = officer_case
    fake = ident_accepts_everything(monkeypatch)
    api = APIClient()
    api.force_authenticate(officer)
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/v1/queries/", {"case": case.pk, "partner": "CAN", "reason": "asylum_claimant", "priority": "high"},
                 format="json")
    assert not fake.sent
    assert tasks.outbox_sweep() == 1
    assert len(fake.sent) == 1 and OutboxMessage.objects.get().status == OutboxMessage.Status.SENT
