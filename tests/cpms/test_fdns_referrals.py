"""FDNS referrals: an officer or supervisor refers a query's results to one FDNS analyst, with a reason, for a
limited time; the analyst reads (every read logged) but cannot act; expiry and revocation end access at once."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cpms.audit.models import AccessLogEntry
from cpms.core.models import Notification
from cpms.queries import services
from cpms.queries.models import FdnsReferral, InternationalQueryUserObjectPermission
from cpms.queries.permissions import queries_visible_to
from tests.factories import AgreementFactory, CaseFactory, UserFactory, response_message, result_message, store_inbound


def browser(user) -> Client:
    client = Client()
    client.post(reverse("system-use"))
    client.force_login(user)
    return client


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    AgreementFactory(partner__code="CAN")
    owner, colleague = UserFactory(role="officer"), UserFactory(role="officer")
    fdns, fdns2 = UserFactory(role="fdns_analyst", first_name="Fay"), UserFactory(role="fdns_analyst")
    case = CaseFactory(officers=[owner])
    with django_capture_on_commit_callbacks(execute=False):
        query = services.query_submit(actor=owner, case=case, partner_code="CAN", reason="asylum_claimant", priority="high")
    return {"owner": owner, "colleague": colleague, "fdns": fdns, "fdns2": fdns2, "case": case, "query": query}


def answer(query):
    for message, record in ((result_message(query), services.round1_record_result),
                            (response_message(query), services.round_record_response)):
        record(message=message, inbound=store_inbound(message))
    query.refresh_from_db()
    return query


def refer(world, **overrides):
    kwargs = {"actor": world["owner"], "query": world["query"], "analyst": world["fdns"], "reason": "Documents disagree",
              "days": 30} | overrides
    return services.referral_create(**kwargs)


def test_referral_opens_the_query_to_that_analyst_only_and_tells_them(world):
    answer(world["query"])
    referral = refer(world)
    assert world["query"] in queries_visible_to(world["fdns"])
    assert not queries_visible_to(world["fdns2"]).exists()
    note = Notification.objects.get(user=world["fdns"])
    assert world["query"].query_ref in note.message and note.url == f"/queries/{world['query'].pk}/"
    assert referral.expires_at - timezone.now() > timedelta(days=29)


def test_nothing_to_refer_before_the_partner_answers(world):
    with pytest.raises(services.QueryError) as exc:
        refer(world)
    assert exc.value.code == "wrong_state" and not FdnsReferral.objects.exists()


@pytest.mark.parametrize("overrides,field", [
    ({"reason": "  "}, "reason"), ({"reason": "x" * 2001}, "reason"), ({"days": 0}, "days"), ({"days": 181}, "days"),
])
def test_bad_referrals_say_which_field_to_fix(world, overrides, field):
    answer(world["query"])
    with pytest.raises(services.QueryError) as exc:
        refer(world, **overrides)
    assert exc.value.field == field and not FdnsReferral.objects.exists()


def test_only_fdns_analysts_receive_and_only_the_cases_officers_refer(world):
    answer(world["query"])
    with pytest.raises(services.QueryError) as exc:
        refer(world, analyst=world["colleague"])
    assert exc.value.field == "analyst"
    with pytest.raises(services.QueryError) as exc:
        refer(world, actor=world["colleague"])
    assert exc.value.code == "forbidden" and not FdnsReferral.objects.exists()


def test_expiry_ends_access_at_once_and_the_sweep_removes_the_grant(world):
    answer(world["query"])
    referral = refer(world)
    FdnsReferral.objects.filter(pk=referral.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not queries_visible_to(world["fdns"]).exists()  # before the sweep
    assert browser(world["fdns"]).get(reverse("query-detail", args=[world["query"].pk])).status_code == 404
    assert services.referrals_expire() == 1
    referral.refresh_from_db()
    assert referral.revoked_at and referral.revoke_reason == "expired"
    assert not InternationalQueryUserObjectPermission.objects.exists()
    assert services.referrals_expire() == 0  # idempotent


def test_a_second_referral_to_the_same_analyst_is_refused_until_the_first_ends(world):
    answer(world["query"])
    first = refer(world)
    with pytest.raises(services.QueryError, match="already referred to .* Revoke that referral first") as refused:
        refer(world, reason="And another thing")
    assert refused.value.code == "wrong_state" and FdnsReferral.objects.count() == 1
    services.referral_revoke(actor=world["owner"], referral=first, reason="done")
    assert not queries_visible_to(world["fdns"]).exists()
    second = refer(world, reason="Looked again")
    assert world["query"] in queries_visible_to(world["fdns"])
    services.referral_revoke(actor=world["owner"], referral=second)
    assert not queries_visible_to(world["fdns"]).exists()
    assert not InternationalQueryUserObjectPermission.objects.exists()


# --- pages ------------------------------------------------------------------------------------------------------


def test_officer_refers_from_the_query_page_and_form_errors_say_what_to_fix(world):
    answer(world["query"])
    client = browser(world["owner"])
    page = client.get(reverse("query-detail", args=[world["query"].pk])).content.decode()
    assert "Not referred to FDNS." in page and reverse("query-refer", args=[world["query"].pk]) in page
    resp = client.post(reverse("query-refer", args=[world["query"].pk]), {"analyst": "", "reason": "", "days": "500"})
    html = resp.content.decode()
    assert resp.status_code == 200
    assert "Choose the FDNS analyst to refer the results to." in html and "Say why FDNS should look at these results." in html
    assert "A referral lasts at most 180 days." in html and not FdnsReferral.objects.exists()
    resp = client.post(reverse("query-refer", args=[world["query"].pk]),
                       {"analyst": world["fdns"].pk, "reason": "Passport numbers differ", "days": "14"})
    assert resp.status_code == 302
    page = client.get(reverse("query-detail", args=[world["query"].pk])).content.decode()
    assert "Passport numbers differ" in page and "Yes, revoke the referral" in page


def test_fdns_analyst_reads_but_cannot_act_and_every_read_is_logged(world):
    query = answer(world["query"])
    refer(world)
    client = browser(world["fdns"])
    listed = client.get(reverse("fdns-referrals")).content.decode()
    assert query.query_ref in listed and "Documents disagree" in listed
    page = client.get(reverse("query-detail", args=[query.pk])).content.decode()
    assert "Protected person" in page  # the partner's answer
    assert "Ask for a third round" not in page and "Close query" not in page and "Refer to FDNS" not in page
    att = query.responses.get().attachments.first()
    assert client.get(reverse("query-attachment", args=[query.pk, att.pk])).status_code == 200
    assert client.get(reverse("query-print", args=[query.pk])).status_code == 200
    for name in ("query-round3", "query-refer"):
        assert client.get(reverse(name, args=[query.pk])).status_code == 404
    assert client.post(reverse("query-close", args=[query.pk]), {"reason": "x"}).status_code == 404
    logged = list(AccessLogEntry.objects.filter(user=world["fdns"]).order_by("id").values_list("action", flat=True))
    assert logged == [AccessLogEntry.Action.VIEW, AccessLogEntry.Action.DOWNLOAD, AccessLogEntry.Action.PRINT]


def test_revoke_from_the_page_and_a_colleague_gets_404(world):
    answer(world["query"])
    referral = refer(world)
    assert browser(world["colleague"]).post(reverse("referral-revoke", args=[referral.pk])).status_code == 404
    resp = browser(world["owner"]).post(reverse("referral-revoke", args=[referral.pk]), {"reason": "closed"})
    assert resp.status_code == 302
    referral.refresh_from_db()
    assert referral.revoked_at and referral.revoked_by == world["owner"]
    assert browser(world["fdns"]).get(reverse("query-detail", args=[world["query"].pk])).status_code == 404


def test_other_roles_get_404_on_the_fdns_page(world):
    assert browser(world["owner"]).get(reverse("fdns-referrals")).status_code == 404


# --- API ----------------------------------------------------------------------------------------------------------


def api(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def test_api_refers_lists_and_revokes(world):
    query = answer(world["query"])
    url = f"/api/v1/queries/{query.pk}/referrals/"
    resp = api(world["owner"]).post(url, {"analyst": world["fdns"].username, "reason": "Documents disagree", "days": 7},
                                    format="json")
    assert resp.status_code == 201 and resp.json()["analyst"] == world["fdns"].username and resp.json()["is_active"]
    rid = resp.json()["id"]
    assert [r["id"] for r in api(world["owner"]).get(url).json()] == [rid]
    assert api(world["fdns"]).get(f"/api/v1/queries/{query.pk}/").status_code == 200
    resp = api(world["owner"]).post(f"{url}{rid}/revoke/", {"reason": "closed"}, format="json")
    assert resp.status_code == 200 and resp.json()["revoked_by"] == world["owner"].username and not resp.json()["is_active"]
    assert api(world["fdns"]).get(f"/api/v1/queries/{query.pk}/").status_code == 404


@pytest.mark.parametrize("payload,pointer,status", [
    ({"analyst": "nobody", "reason": "x"}, "/analyst", 422),  # well formed, but nobody is no FDNS analyst
    ({"analyst": "FDNS", "reason": "x", "days": 0}, "/days", 400),  # breaks the schema (minimum 1)
    ({"analyst": "FDNS"}, "/reason", 400),
])
def test_api_refusals_are_problem_documents_naming_the_field(world, payload, pointer, status):
    query = answer(world["query"])
    payload = {k: (world["fdns"].username if v == "FDNS" else v) for k, v in payload.items()}
    resp = api(world["owner"]).post(f"/api/v1/queries/{query.pk}/referrals/", payload, format="json")
    assert resp.status_code == status and resp["Content-Type"] == "application/problem+json"
    assert pointer in [e["pointer"] for e in resp.json()["errors"]]
    assert not FdnsReferral.objects.exists()


def test_api_referrals_of_someone_elses_query_are_404(world):
    query = answer(world["query"])
    referral = refer(world)
    for user in (world["colleague"], world["fdns"]):
        assert api(user).get(f"/api/v1/queries/{query.pk}/referrals/").status_code == 404
        assert api(user).post(f"/api/v1/queries/{query.pk}/referrals/{referral.pk}/revoke/").status_code == 404
