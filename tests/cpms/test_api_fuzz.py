"""Schemathesis against the API's own OpenAPI schema (/api/schema/), with each role's token: generated requests, valid
and invalid, to every operation. No answer may be a server error, and every answer must be one the schema documents
(status, content type, body). The figures are printed: operations, requests, answers by status, failures."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from tests.worlds import build_world

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PERSONAS = ["officer", "fdns_analyst", "icts_analyst", "obim_analyst", "privacy_officer", "anonymous"]
EXAMPLES = 25
# Every other example names an object that exists (random ids alone would only ever meet 404s).
REAL = {"/api/v1/cases/": "case", "/api/v1/queries/": "query", "/api/v1/partner-requests/": "preq",
        "/api/v1/icts/cases/": "icts", "/api/v1/obim/packages/": "sent"}


def api_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    schema.app = get_wsgi_application()
    return schema


@pytest.fixture
def world(db, django_capture_on_commit_callbacks, monkeypatch):
    from django.core.cache import cache

    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    cache.clear()  # the throttles' counters: every persona starts fresh
    # As Django's test client does: the WSGI calls must not close the test's connection (and its transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield build_world(django_capture_on_commit_callbacks, monkeypatch)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("persona", PERSONAS)
def test_no_server_error_and_nothing_outside_the_schema(world, persona, capsys):
    headers = {} if persona == "anonymous" else {"Authorization": f"Token {Token.objects.create(user=world.users[persona]).key}"}
    statuses: Counter = Counter()
    failures: list[str] = []
    operations = 0
    for result in api_schema().get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/auth/token/":
            continue  # a password endpoint: its own tests (lockout, throttle, second factor), not fuzzed into lockouts
        operations += 1

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case):
            seen = statuses.total()
            prefix = next((p for p in REAL if operation.path.startswith(p)), None)  # noqa: B023 - called at once, below
            if prefix and seen % 2 == 0 and case.path_parameters:
                for name in case.path_parameters:
                    if name in ("id", "pk"):
                        case.path_parameters[name] = world[REAL[prefix]].pk
                    elif name == "referral":
                        case.path_parameters[name] = world["referral"].pk
            response = case.call(headers=headers)
            statuses[response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as exc:  # noqa: BLE001 - collected, reported together below
                failures.append(f"{operation.method.upper()} {operation.path} -> {response.status_code}: {str(exc)[:300]}")  # noqa: B023

        call()
    with capsys.disabled():
        print(f"\nschemathesis as {persona}: {operations} operations, {sum(statuses.values())} requests, "
              f"answers {dict(sorted(statuses.items()))}, {len(failures)} failures")
    assert not [s for s in statuses if s >= 500], failures
    assert failures == [], "\n".join(dict.fromkeys(failures))
