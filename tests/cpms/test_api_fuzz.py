"""Schemathesis against the API's own OpenAPI schema (/api/schema/), with each role's token and anonymously: every
check schemathesis has, on valid and invalid requests to every operation, and no failure. The figures are printed:
operations, requests, answers by status, failures.

Each operation gets schemathesis' coverage phase (its deterministic cases, positive and negative: every enum value,
boundaries, a missing required field or header, a NUL, a blank string, a wrong type, an undeclared method) and then
EXAMPLES cases drawn by Hypothesis in both modes. Every answer goes through all of schemathesis' checks
(`case.validate_response` with none named runs every check the installed version registers), configured as follows:

- positive_data_acceptance also accepts 422. CPMS answers 400 when a request breaks the schema and 422 when it is well
  formed but a rule the schema cannot state refuses it: a partner code with no agreement, a username that is not an
  analyst's, a person whose data elements are not in the ICD's form, a file whose first bytes are no JPEG, PNG, TIFF
  or PDF. So the check still fails on any schema-valid request refused as malformed (the class of failure it exists
  for), while the business rules answer in their own status (cpms.core.errors).
- negative_data_rejection also counts 414 as a refusal: an invalid request can be refused for its URL's length
  before its parameters are read (a parameter repeated a hundred times); every positive request fits (every string
  parameter has a maxLength, every array a maxItems), so positive_data_acceptance never meets a 414.
- ignored_auth replays every 2xx without the persona's token and with a wrong one (a request each): both must be
  refused. (Tried: a view that skips its permission check fails this run with ST401.)
- use_after_free and ensure_resource_availability run but cannot fire: they follow a resource through the stateful
  phase's links from its creation to its deletion, and the API deletes nothing (it has no DELETE operation).
- object_level_authorization runs but cannot fire here: it replays an owner's read of an object whose id schemathesis
  learnt from that owner's earlier answers (its engine's value pool or stateful links) as each peer of a WFC auth
  document. These cases name objects themselves (REAL), so the object-level question, every persona against every
  object, is answered by tests/cpms/test_authorization_matrix.py.
- max_response_time is off (schemathesis' default: no limit configured); a shared 2-core machine is no place to time.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.config._checks import (NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES,
                                         NegativeDataRejectionConfig)
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.overrides import Override

from tests.worlds import build_world

PERSONAS = ["officer", "fdns_analyst", "icts_analyst", "obim_analyst", "privacy_officer", "anonymous"]
EXAMPLES = 8  # Hypothesis' cases per operation and persona, on top of the coverage phase's
# Every other case names an object that exists (random ids alone would only ever meet 404s).
REAL = {"/api/v1/cases/": "case", "/api/v1/queries/": "query", "/api/v1/partner-requests/": "preq",
        "/api/v1/icts/cases/": "icts", "/api/v1/obim/packages/": "sent"}


def api_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
    schema.app = get_wsgi_application()
    schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=[*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "422"])  # why: the module's docstring
    schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
        expected_statuses=[*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "414"])  # why: the module's docstring
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


def test_every_check_schemathesis_has_is_run():
    """The run below names no checks, so it gets all of them; this says which those are, so that a schemathesis
    upgrade that adds one shows up here (and in the run) rather than nowhere."""
    load_all_checks()
    assert set(CHECKS.get_all_names()) >= {
        "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
        "response_schema_conformance", "negative_data_rejection", "positive_data_acceptance", "missing_required_header",
        "unsupported_method", "allow_header_conformance", "use_after_free", "ensure_resource_availability", "ignored_auth",
        "object_level_authorization"}
    assert all(api_schema().config.checks.get_by_name(name=name).enabled for name in CHECKS.get_all_names())


def drawn_cases(schema, operation) -> list:
    """The operation's cases, drawn once and sent as every persona: the coverage phase's, then EXAMPLES by Hypothesis
    (positive and negative alike)."""
    cases = list(CoverageGenerator(operation=operation, generation_modes=list(GenerationMode),
                                   generation_config=schema.config.generation_for(operation=operation, phase="coverage"),
                                   auth_storage=None, override=Override(), feedback=FeedbackSources()))

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=st.one_of([operation.as_strategy(generation_mode=mode) for mode in GenerationMode]))
    def draw(case):
        cases.append(case)

    draw()
    return cases


def test_every_answer_is_what_the_schema_says(world, capsys):
    from django.core.cache import cache

    schema = api_schema()
    operations = [r.ok() for r in schema.get_all_operations()]
    # The token endpoint is a password door: its own tests (lockout, throttle, second factor), not fuzzed into lockouts.
    operations = [op for op in operations if op.path != "/api/v1/auth/token/"]
    started = time.monotonic()
    cases = {op.label: drawn_cases(schema, op) for op in operations}
    figures = [f"\nschemathesis: {len(operations)} operations, {sum(map(len, cases.values()))} cases each persona "
               f"(drawn in {time.monotonic() - started:.0f}s)"]
    failures: list[str] = []
    answered_2xx: set[str] = set()
    for persona in PERSONAS:
        user = world.users.get(persona)
        headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"} if user else {}
        statuses: Counter = Counter()
        modes: Counter = Counter()
        started = time.monotonic()
        for operation in operations:
            cache.clear()  # the throttle's counters: the run is many times a person's rate, and a 429 would hide the rest
            for case in cases[operation.label]:
                response = send(world, operation, case, headers, serial=statuses.total())
                statuses[response.status_code] += 1
                negative = case.meta is not None and case.meta.generation.mode.is_negative
                modes["negative" if negative else "positive"] += 1
                if 200 <= response.status_code < 300:
                    answered_2xx.add(operation.label)
        figures.append(f"  as {persona}: {statuses.total()} requests ({dict(modes)}) in {time.monotonic() - started:.0f}s, "
                       f"answers {dict(sorted(statuses.items()))}")
        failures += [f"[{persona}] {f}" for f in send.failures]
        send.failures.clear()
    never = sorted(op.label for op in operations if op.label not in answered_2xx)
    figures.append(f"  {len(operations) - len(never)} of {len(operations)} operations answered 2xx at least once "
                   f"(never: {', '.join(never) or 'none'}); {len(failures)} failures")
    with capsys.disabled():
        print("\n".join(figures))
    assert failures == [], "\n".join(dict.fromkeys(failures))


def send(world, operation, case, headers, *, serial: int):
    """One case as one persona, checked by every check; the case is left as drawn for the next persona."""
    path_parameters = case.path_parameters
    negative_path = case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
    prefix = next((p for p in REAL if operation.path.startswith(p)), None)
    if prefix and serial % 2 == 0 and path_parameters and not negative_path:
        case.path_parameters = dict(path_parameters)
        for name in path_parameters:
            if name in ("id", "pk"):
                case.path_parameters[name] = world[REAL[prefix]].pk
            elif name == "referral":
                case.path_parameters[name] = str(world["referral"].pk)
    try:
        response = case.call(headers=headers)
        try:
            case.validate_response(response, headers=headers)  # every check (none named)
        except BaseException as exc:  # noqa: BLE001 - schemathesis' FailureGroup; collected, reported together
            drawn = getattr(case.meta.phase.data, "description", None) if case.meta is not None else None
            send.failures.append(f"{operation.method.upper()} {operation.path} -> {response.status_code} "
                                 f"({drawn}; {case.path_parameters} {str(case.body)[:200]}): {str(exc)[:600]}")
        return response
    finally:
        # Only what was replaced is put back: a case's meta is revalidated for every container assigned, and
        # schemathesis cannot validate a body that holds a file (it would turn a positive upload negative).
        if case.path_parameters is not path_parameters:
            case.path_parameters = path_parameters


send.failures = []
