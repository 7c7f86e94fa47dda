"""The authorization matrix: every URL the project has (pages, API, downloads, PDF, admin), as every persona, against
each object in every state that changes who may see it.

Each role's owner of the object (holding its grant), a colleague of the same role without the grant, every
other role, an administrator, a superuser without any role, and an anonymous visitor. The table below says
who is allowed; everyone else must get exactly 404 (no existence leak), and a list must not show the object.
A URL added to the project without a row here fails `test_every_url_is_in_the_matrix`.

A row's "who may" is a set (the same in every state) or a table by state (tests/worlds.py, `World.states`): an ICTS
case open (the analysts' pool), being prepared, in review, transmitted and delivered; a query before an FDNS
referral, while referred, and after the referral was revoked. A state missing from such a table is not walked (an
open case has no documents yet).

The world is built once for the module, in a transaction rolled back at its end; each request runs in a savepoint
that is rolled back too, so an allowed POST (a close, a revoke) does not change the world the next persona sees.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client, TestCase
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.worlds import PERSONAS, build_world

# Every test runs in its own savepoint inside the module's world (and the marker makes pytest-django set up the database).
pytestmark = pytest.mark.django_db

OFFICERS = {"officer", "supervisor"}
FDNS = {"fdns_analyst"}
ICTS = {"icts_analyst", "icts_reviewer"}
OBIM = {"obim_analyst"}
PRIVACY = {"privacy_officer"}
AUTHENTICATED = set(PERSONAS) - {"anonymous"}

ICTS_STATES = ("open", "preparing", "in_review", "transmitted", "delivered")
# An ICTS case: the ICTS roles in every state (an open case is the pool: every analyst has it), never OBIM.
ICTS_CASE = {state: ICTS | {"icts_analyst_colleague"} if state == "open" else ICTS for state in ICTS_STATES}
ICTS_DOCUMENT = {state: who for state, who in ICTS_CASE.items() if state != "open"}  # documents come with the response
# The package as sent: OBIM, through its own routes, once transmitted; nobody else (ICTS reads it on ICTS's routes).
OBIM_PACKAGE = {state: OBIM if state in ("transmitted", "delivered") else set() for state in ICTS_STATES}
OBIM_DOCUMENT = {state: who for state, who in OBIM_PACKAGE.items() if state != "open"}
# A query: its officers always; the FDNS analyst only while the referral lasts.
QUERY_STATES = ("unreferred", "referred", "revoked")
QUERY_READ = {state: OFFICERS | FDNS if state == "referred" else OFFICERS for state in QUERY_STATES}
QUERY_ACT = {state: OFFICERS for state in QUERY_STATES}  # an action on the query: officers, referred or not
REFERRAL = {state: OFFICERS for state in ("referred", "revoked")}

# name: (method, object keys for the URL's arguments, who may: a set, or a table by state)
OBJECT_URLS = {
    "case-detail": ("get", ["case"], OFFICERS),
    "query-new": ("get", ["case"], OFFICERS),
    "query-detail": ("get", ["query"], QUERY_READ),
    "query-timeline-partial": ("get", ["query"], QUERY_READ),
    "query-attachment": ("get", ["query", "attachment"], QUERY_READ),
    "query-print": ("get", ["query"], QUERY_READ),
    "query-round3": ("get", ["query"], QUERY_ACT),
    "query-close": ("post", ["query"], QUERY_ACT),
    "query-refer": ("get", ["query"], QUERY_ACT),
    "referral-revoke": ("post", ["referral"], REFERRAL),
    "notification-open": ("get", ["notification"], {"officer"}),  # one's own notifications only
    "icts-case": ("get", ["icts"], ICTS_CASE),
    "icts-assign": ("post", ["icts"], ICTS_CASE),
    "icts-bulk-assign": ("post", [], {"icts_reviewer"}),  # the cases ticked on the queue (none here): reviewers only
    "icts-package": ("get", ["icts"], ICTS_CASE),
    "icts-upload": ("post", ["icts"], ICTS_CASE),
    "icts-attachment": ("get", ["icts", "icts_att"], ICTS_DOCUMENT),
    "icts-attachment-remove": ("post", ["icts", "icts_att"], ICTS_DOCUMENT),
    "icts-submit": ("post", ["icts"], ICTS_CASE),
    "icts-review": ("post", ["icts"], ICTS_CASE),
    "obim-package": ("get", ["icts"], OBIM_PACKAGE),
    "obim-package-download": ("get", ["icts"], OBIM_PACKAGE),
    "obim-attachment": ("get", ["icts", "icts_att"], OBIM_DOCUMENT),
    "partner-request": ("get", ["preq"], ICTS | PRIVACY),
    "partner-request-augment": ("get", ["preq"], ICTS | PRIVACY),
    "privacy-referral": ("get", ["referred"], PRIVACY),
    "privacy-referral-resolve": ("post", ["referred"], PRIVACY),
    "privacy-held-query": ("get", ["held"], PRIVACY),
    "privacy-held-query-resolve": ("post", ["held"], PRIVACY),
    "privacy-accounting": ("get", ["subject"], PRIVACY),
    "privacy-person": ("get", ["subject"], PRIVACY),
    "privacy-person-csv": ("get", ["subject"], PRIVACY),
    "privacy-person-pdf": ("get", ["subject"], PRIVACY),
    "privacy-accounting-csv": ("get", ["subject"], PRIVACY),
    "privacy-accounting-pdf": ("get", ["subject"], PRIVACY),
    "api-case-detail": ("get", ["case"], OFFICERS),
    "api-query-detail": ("get", ["query"], QUERY_READ),
    "api-query-attachment": ("get", ["query", "attachment"], QUERY_READ),
    "api-query-round3": ("post", ["query"], QUERY_ACT),
    "api-query-referrals": ("get", ["query"], QUERY_ACT),
    "api-query-referral-revoke": ("post", ["query", "referral"], REFERRAL),
    "api-partner-request-detail": ("get", ["preq"], ICTS | PRIVACY),
    "api-partner-request-augment": ("post", ["preq"], ICTS | PRIVACY),
    "api-partner-request-resolve": ("post", ["referred"], PRIVACY),
    "api-icts-case-detail": ("get", ["icts"], ICTS_CASE),
    "api-icts-case-assign": ("post", ["icts"], ICTS_CASE),
    "api-icts-case-attachment": ("get", ["icts", "icts_att"], ICTS_DOCUMENT),
    "api-icts-case-attachments": ("post", ["icts"], ICTS_CASE),
    "api-icts-case-package": ("put", ["icts"], ICTS_CASE),
    "api-icts-case-review": ("post", ["icts"], ICTS_CASE),
    "api-icts-case-submit": ("post", ["icts"], ICTS_CASE),
    "api-obim-package-detail": ("get", ["icts"], OBIM_PACKAGE),
    "api-obim-package-download": ("get", ["icts"], OBIM_PACKAGE),
}


def _walked(table: dict) -> list[tuple[str, str | None]]:
    """(name, state) for every row and every state its "who may" names (None for a row that is the same in all)."""
    return [(name, state) for name, row in sorted(table.items())
            for state in (sorted(row[2]) if isinstance(row[2], dict) else [None])]


def _who_may(row, state: str | None) -> set:
    return row[2][state] if isinstance(row[2], dict) else row[2]


# Lists and role pages: who sees the world's object in it (others get 404, or the list without it); a table by state
# as above. ICTS's work queue (page and API) lists a case while there is work on it (a transmitted case is reached
# from its own page); OBIM's list, the packages as sent.
ICTS_QUEUE = {state: who for state, who in ICTS_CASE.items() if state not in ("transmitted", "delivered")}
LIST_URLS = {
    "my-cases": ("case", lambda o: o.receipt_number, OFFICERS),
    "fdns-referrals": ("query", lambda o: o.query_ref, {state: FDNS if state == "referred" else set() for state in QUERY_STATES}),
    "icts-queue": ("icts", lambda o: o.case_number, ICTS_QUEUE),
    "obim-queue": ("icts", lambda o: o.case_number, OBIM_PACKAGE),
    "privacy-decisions": ("preq", lambda o: o.request_ref, PRIVACY),
    "privacy-referrals": ("referred", lambda o: o.request_ref, PRIVACY),
    "privacy-accounting-search": (None, None, PRIVACY),
    "privacy-accounting-all-csv": (None, None, PRIVACY),
    "privacy-people": (None, None, PRIVACY),
    "privacy-access-log": (None, None, PRIVACY),
    "privacy-audit": (None, None, PRIVACY),
    # The header's search for the world's case: the link to it (the term itself is echoed back to everyone).
    "search": ("case", lambda o: f'href="{reverse("case-detail", args=[o.pk])}"', OFFICERS),
    "api-case-list": ("case", lambda o: o.receipt_number, OFFICERS),
    "api-query-list": ("query", lambda o: o.query_ref, QUERY_READ),
    "api-partner-request-list": ("preq", lambda o: o.request_ref, ICTS | PRIVACY),
    "api-icts-case-list": ("icts", lambda o: o.case_number, ICTS_QUEUE),
    "api-obim-package-list": ("icts", lambda o: o.case_number, OBIM_PACKAGE),
}

# A list opened with these parameters (a reviewer's bare /icts/ opens on "In review": a redirect).
LIST_QUERY = {"icts-queue": "?status=", "search": "?q=ZAR2699999901"}

# Not about any user's object: the expected status for everyone (anonymous included, unless said).
OPEN_URLS = {
    "healthz": ("get", 200, 200),
    "system-use": ("get", 200, 200),
    "login": ("get", 200, 200),
    "logout": ("post", 302, 302),
    "signed-out": ("get", 200, 200),
    "keepalive": ("post", 204, 302),
    "password-change": ("get", 200, 302),
    "account": ("get", 200, 302),
    "token-revoke": ("post", 302, 302),
    "mfa": ("get", 302, 302),  # a verified session goes on to its page; anonymous to sign-in
    "mfa-backup-codes": ("get", 302, 302),  # shown once, right after enrolment: otherwise home

    "api-token": ("post", 415, 415),  # credentials, not a session; as JSON (a form body is refused, like everyone's)
    "ident_bridge:messages": ("post", 401, 401),  # IDENT's HMAC signature, not a user
    "home": ("get", 200, 302),  # each role's own work (a user with no role is told whom to ask)
    "notifications": ("get", 200, 302),
    "help": ("get", 200, 302),
    "notifications-read": ("post", 302, 302),
    "api-schema": ("get", 200, 401),
    "api-docs": ("get", 200, 401),
}


def _walk(patterns, namespace=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.app_name == "admin":
                continue
            yield from _walk(p.url_patterns, p.namespace or namespace)
        elif isinstance(p, URLPattern) and p.name:
            yield f"{namespace}:{p.name}" if namespace else p.name


def test_every_url_is_in_the_matrix():
    names = set(_walk(get_resolver().url_patterns))
    tabled = set(OBJECT_URLS) | set(LIST_URLS) | set(OPEN_URLS)
    assert names - tabled == set(), "URLs without a row in the authorization matrix"
    assert tabled - names == set(), "rows for URLs the project no longer has"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module (about 20 s) in a transaction that is rolled back after its last test."""
    with django_db_blocker.unblock(), pytest.MonkeyPatch.context() as monkeypatch:
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world(TestCase.captureOnCommitCallbacks, monkeypatch, every_state=True)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _request(world, persona: str, method: str, url: str):
    """One request as `persona`, inside a savepoint that is rolled back afterwards."""
    with transaction.atomic():
        client = Client()
        client.post(reverse("system-use"))
        if persona != "anonymous":
            client.force_login(world.users[persona])
        resp = getattr(client, method)(url)
        body = b"".join(resp.streaming_content) if resp.streaming else resp.content
        transaction.set_rollback(True)
    return resp, body


def _anonymous_denied(url: str, resp) -> bool:
    if url.startswith("/api/"):
        return resp.status_code in (401, 403)
    return resp.status_code == 302 and ("/accounts/login/" in resp["Location"] or "/system-use/" in resp["Location"])


@pytest.mark.parametrize("name,state", _walked(OBJECT_URLS))
def test_object_url_allows_exactly_its_table(world, name, state):
    method, keys, _ = row = OBJECT_URLS[name]
    allowed = _who_may(row, state)
    objects = world.in_state(state)
    url = reverse(name, args=[objects[k].pk for k in keys])
    wrong = {}
    for persona in PERSONAS:
        resp, _ = _request(world, persona, method, url)
        if persona == "anonymous":
            ok = _anonymous_denied(url, resp)
        elif persona in allowed:
            ok = resp.status_code not in (404, 500)
        else:
            ok = resp.status_code == 404
        if not ok:
            wrong[persona] = resp.status_code
    assert wrong == {}, f"{method.upper()} {url} ({state or 'any state'}): allowed {sorted(allowed)}; unexpected answers {wrong}"


@pytest.mark.parametrize("name,state", _walked(LIST_URLS))
def test_list_shows_the_object_to_exactly_its_table(world, name, state):
    key, marker_of, _ = row = LIST_URLS[name]
    allowed = _who_may(row, state)
    url = reverse(name) + LIST_QUERY.get(name, "")
    marker = marker_of(world.in_state(state)[key]).encode() if key else None
    wrong = {}
    for persona in PERSONAS:
        resp, body = _request(world, persona, "get", url)
        if persona == "anonymous":
            ok = _anonymous_denied(url, resp)
        elif persona in allowed:
            ok = resp.status_code == 200 and (marker is None or marker in body)
        else:
            ok = resp.status_code == 404 or (resp.status_code == 200 and marker is not None and marker not in body)
        if not ok:
            wrong[persona] = resp.status_code
    assert wrong == {}, f"GET {url} ({state or 'any state'}): allowed {sorted(allowed)}; unexpected answers {wrong}"


@pytest.mark.parametrize("name", sorted(OPEN_URLS))
def test_open_url_answers_everyone_alike(world, name):
    method, signed_in, anonymous = OPEN_URLS[name]
    url = reverse(name)
    got = {p: _request(world, p, method, url)[0].status_code for p in PERSONAS}
    expected = {p: anonymous if p == "anonymous" else signed_in for p in PERSONAS}
    assert got == expected


# --- the admin ------------------------------------------------------------------------------------------------

# Partner data never appears in the admin, for anyone: these models are not registered at all.
SEQUESTERED = ["queries.Match", "queries.PartnerResponse", "queries.ResponseAttachment", "queries.FdnsReferral",
               "icts.IctsCase", "icts.ResponsePackage", "icts.PackageAttachment", "partner_requests.PartnerRequest",
               "partner_requests.Augmentation", "audit.AccessLogEntry"]


def test_partner_data_has_no_admin():
    from django.apps import apps

    registered = {f"{m._meta.app_label}.{m.__name__}" for m in admin.site._registry}
    missing = [label for label in SEQUESTERED if apps.get_model(label) is None]
    assert missing == [] and registered & set(SEQUESTERED) == set()


def _admin_urls(world):
    """Every admin page of every registered model: list, add, and for one existing row change, history, delete."""
    urls = [reverse("admin:index")]
    for model, _model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls.append(reverse(f"{prefix}_changelist"))
        urls.append(reverse(f"{prefix}_add"))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            for view in ("change", "history", "delete"):
                urls.append(reverse(f"{prefix}_{view}", args=[obj.pk]))
    return urls


def test_admin_is_closed_to_everyone_but_staff(world):
    urls = _admin_urls(world)
    assert len(urls) > 30
    wrong = []
    for persona in set(PERSONAS) - {"admin", "superuser"}:
        for url in urls:
            resp, _ = _request(world, persona, "get", url)
            if not (resp.status_code == 302 and "/admin/login/" in resp["Location"]):
                wrong.append((persona, url, resp.status_code))
    assert wrong == []


def test_admin_pages_never_show_partner_data(world):
    """The admin role and a superuser administer messages and queries without reading what partners sent."""
    query = world["query"]
    # What the partner sent in its answer (response_message's person and immigration status).
    secrets_of_partner = [b"Protected person", b"IRCC analyst"]
    wrong = []
    for persona in ("admin", "superuser"):
        for url in _admin_urls(world) + [reverse("admin:queries_internationalquery_change", args=[query.pk])]:
            resp, body = _request(world, persona, "get", url)
            if resp.status_code >= 500 or any(s in body for s in secrets_of_partner):
                wrong.append((persona, url, resp.status_code))
    assert wrong == []


# --- reads on record ------------------------------------------------------------------------------------------

# Every GET route about one object says whether it shows partner data (or personal data a privacy officer reports on).
# Those record exactly one access-log entry per object shown, written by the access helper that fetched it; a new
# route missing from both tables fails test_every_object_route_says_whether_it_records_reads.
RECORDS_READS = {
    "query-detail", "query-timeline-partial", "query-attachment", "query-print", "api-query-detail", "api-query-attachment",
    "icts-case", "icts-package", "icts-attachment", "api-icts-case-detail", "api-icts-case-attachment",
    "obim-package", "obim-package-download", "obim-attachment", "api-obim-package-detail", "api-obim-package-download",
    "partner-request", "api-partner-request-detail",
    "privacy-accounting", "privacy-accounting-csv", "privacy-accounting-pdf", "privacy-person", "privacy-person-csv",
    "privacy-person-pdf", "privacy-held-query",
}
NO_PARTNER_DATA = {
    "case-detail": "the USCIS case and person, and the queries' status",
    "notification-open": "a redirect to what the notification is about (which records its read)",
    "query-new": "a form",
    "query-round3": "a form about our own query",
    "query-refer": "a form about our own query",
    "partner-request-augment": "a form: the request's reference and the matched USCIS person",
    "privacy-referral": "a redirect to the request's page (which records its read)",
    "api-case-detail": "the USCIS case and person",
    "api-query-referrals": "who the results were referred to",
}
# The state a read is tried in, first that the reader may see (a case's response form is a page only while prepared).
READ_IN = ["preparing", "referred", "transmitted", "delivered", "in_review", "open", "unreferred", "revoked"]
READER = {"query": "officer", "icts": "icts_analyst", "obim": "obim_analyst", "preq": "icts_analyst",
          "subject": "privacy_officer", "held": "privacy_officer"}


def test_every_object_route_says_whether_it_records_reads():
    gets = {name for name, (method, _, _) in OBJECT_URLS.items() if method == "get"}
    assert gets - RECORDS_READS - set(NO_PARTNER_DATA) == set(), "GET routes that do not say whether they show partner data"
    assert RECORDS_READS & set(NO_PARTNER_DATA) == set() and (RECORDS_READS | set(NO_PARTNER_DATA)) - gets == set()


@pytest.mark.parametrize("name", sorted(RECORDS_READS))
def test_a_route_that_shows_partner_data_records_exactly_one_read(world, name):
    from cpms.audit.models import AccessLogEntry

    _, keys, _ = row = OBJECT_URLS[name]
    persona = READER[name.removeprefix("api-").split("-")[0]] if name.startswith(("obim-", "api-obim-")) else READER[keys[0]]
    states = [s for s in (sorted(row[2], key=READ_IN.index) if isinstance(row[2], dict) else [None]) if persona in _who_may(row, s)]
    assert states, (name, persona)
    objects = world.in_state(states[0])
    url = reverse(name, args=[objects[k].pk for k in keys])
    with transaction.atomic():
        client = Client()
        client.post(reverse("system-use"))
        client.force_login(world.users[persona])
        before = AccessLogEntry.objects.count()
        resp = client.get(url)
        entries = list(AccessLogEntry.objects.order_by("id")[before:])
        transaction.set_rollback(True)
    assert resp.status_code == 200, (url, resp.status_code)
    assert len(entries) == 1, (url, [(e.object_type, e.action) for e in entries])
    entry = entries[0]
    assert entry.user == world.users[persona] and entry.person_id is not None
    assert entry.context["purpose"] in {"case_adjudication", "icts_response", "obim_retrieval", "fdns_review",
                                        "privacy_oversight"}
    assert entry.context["reference"] and not entry.context["reference"].isdigit()  # a reference people know, not an id


def test_no_read_is_recorded_for_an_action(world):
    """A POST changes something (audited as a change); it is not a read of partner data."""
    from cpms.audit.models import AccessLogEntry

    with transaction.atomic():
        client = Client()
        client.post(reverse("system-use"))
        client.force_login(world.users["icts_analyst"])
        before = AccessLogEntry.objects.count()
        client.post(reverse("icts-submit", args=[world["icts"].pk]))
        after = AccessLogEntry.objects.count()
        transaction.set_rollback(True)
    assert after == before
