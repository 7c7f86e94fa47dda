"""Every read of partner data leaves exactly one access-log entry; a refused read leaves none."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from cpms.audit.chain import verify
from cpms.audit.models import AccessLogEntry
from cpms.queries import services
from ident_bridge.inbound import inbound_process
from tests.factories import AgreementFactory, CaseFactory, UserFactory, response_message, result_message, store_inbound


@pytest.fixture
def world(db, django_capture_on_commit_callbacks, client):
    AgreementFactory(partner__code="CAN")
    owner, colleague = UserFactory(role="officer"), UserFactory(role="officer")
    case = CaseFactory(officers=[owner])
    with django_capture_on_commit_callbacks(execute=False):
        query = services.query_submit(actor=owner, case=case, partner_code="CAN", reason="other", priority="low")
    for message in (result_message(query), response_message(query)):
        inbound_process(store_inbound(message).pk)
    client.force_login(owner)
    session = client.session
    session["system_use_accepted_at"] = "2026-11-25T00:00:00Z"
    session.save()
    api = APIClient()
    api.force_authenticate(owner)
    att = query.responses.get().attachments.first()
    return {"query": query, "owner": owner, "colleague": colleague, "client": client, "api": api, "att": att}


def reads(world):
    q, att = world["query"], world["att"]
    return {
        "page": (world["client"], reverse("query-detail", args=[q.pk]), "view"),
        "download": (world["client"], reverse("query-attachment", args=[q.pk, att.pk]), "download"),
        "pdf": (world["client"], reverse("query-print", args=[q.pk]), "print"),
        "api": (world["api"], f"/api/v1/queries/{q.pk}/", "api_read"),
        "api-download": (world["api"], f"/api/v1/queries/{q.pk}/attachments/{att.pk}/", "download"),
    }


@pytest.mark.parametrize("name", ["page", "download", "pdf", "api", "api-download"])
def test_each_read_leaves_exactly_one_entry(world, name):
    client, url, action = reads(world)[name]
    before = AccessLogEntry.objects.count()
    resp = client.get(url)
    assert resp.status_code == 200
    entries = AccessLogEntry.objects.order_by("-id")[: AccessLogEntry.objects.count() - before]
    assert len(entries) == 1
    entry = entries[0]
    assert entry.user == world["owner"] and entry.action == action and entry.person_id == world["query"].person_id
    assert entry.path == url
    assert verify(allow_unanchored=True).intact


def test_refused_read_leaves_no_entry(world):
    world["client"].force_login(world["colleague"])
    assert world["client"].get(reverse("query-detail", args=[world["query"].pk])).status_code in (302, 404)
    assert not AccessLogEntry.objects.exists()
