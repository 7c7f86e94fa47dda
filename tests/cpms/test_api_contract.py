"""The API answers what its schema says (issue 16): one focused test per class of failure schemathesis found, beside
the fuzz run (test_api_fuzz.py). Each failed on the code before the fix.

- an unmatched /api/ path answered an HTML page (also before authentication);
- null where the schema said string or object (assigned_analyst, package);
- schema-valid requests refused: a NUL, blank text, filter values outside undeclared enums, an upload whose `file`
  was declared a URI string;
- invalid requests accepted: `?priority=`, `?status=AAA`, an integer where a string belongs;
- undocumented statuses: 414, and 429/503 without Retry-After.
"""

from __future__ import annotations

import io
import re

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from icts.models import IctsCase
from icts.workflow import CaseStatus
from ident_bridge.inbound import inbound_process
from tests.factories import AgreementFactory, PersonFactory, UserFactory, cis_record, jpeg_bytes, request_message, store_inbound
from tests.fakes import ident_accepts_everything

PROBLEM = "application/problem+json"


@pytest.fixture
def world(db, django_capture_on_commit_callbacks, monkeypatch):
    from django.core.cache import cache

    cache.clear()
    ident_accepts_everything(monkeypatch)
    AgreementFactory(partner__code="CAN")
    cis_record(PersonFactory(fin="FIN1000000001"))
    with django_capture_on_commit_callbacks(execute=True):
        inbound_process(store_inbound(request_message()).pk)
    users = {r: UserFactory(role=r) for r in ("icts_analyst", "officer", "privacy_officer", "fdns_analyst")}
    return {"case": IctsCase.objects.get(), "users": users}


@pytest.fixture(scope="module")
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def assert_problem(resp, status: int, pointer: str | None = None):
    assert resp.status_code == status, (resp.status_code, resp.content[:300])
    assert resp["Content-Type"] == PROBLEM, resp["Content-Type"]
    body = resp.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if pointer is not None:
        assert pointer in [e["pointer"] for e in body.get("errors", [])], body


def request_schema(schema, path: str, method: str) -> dict:
    content = schema["paths"][path][method]["requestBody"]["content"]
    ref = next(iter(content.values()))["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def parameter(schema, path: str, name: str, method: str = "get") -> dict:
    return next(p for p in schema["paths"][path][method]["parameters"] if p["name"] == name)["schema"]


# --- 404s: a problem document for any /api/ path, before authentication too ------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/cases/0.5/", "/api/v1/icts/cases/1/attachments/0.5/", "/api/v1/no-such-thing/",
                                  "/api/nothing"])
@pytest.mark.parametrize("who", ["anonymous", "officer"])
def test_an_unmatched_api_path_is_a_404_problem_document(world, path, who):
    client = api(None if who == "anonymous" else world["users"]["officer"])
    assert_problem(client.get(path), 404)
    assert_problem(client.post(path, {"x": 1}, format="json"), 404)


def test_the_404_problem_document_holds_with_debug_on_and_without_a_csrf_token(world, settings):
    from django.test import Client

    settings.DEBUG = True  # `make demo`: Django would answer its HTML debug page, not handler404
    client = Client(enforce_csrf_checks=True)
    assert_problem(client.get("/api/v1/cases/0.5/"), 404)
    assert_problem(client.post("/api/v1/cases/0.5/", "{}", content_type="application/json"), 404)
    assert_problem(client.delete("/api/v1/no-such-thing/"), 404)


def test_a_get_without_the_trailing_slash_is_redirected_to_the_route(world):
    resp = api(world["users"]["officer"]).get("/api/v1/cases?search=x")
    assert resp.status_code == 301 and resp["Location"] == "/api/v1/cases/?search=x"


def test_a_missing_page_outside_the_api_keeps_its_html_404(world):
    from django.test import Client

    resp = Client().get("/no-such-page/")
    assert resp.status_code in (302, 404)  # the system-use notice comes first for a browser
    client = Client()
    session = client.session
    session["system_use_accepted_at"] = "2026-01-01T00:00:00"
    session.save()
    resp = client.get("/no-such-page/")
    assert resp.status_code == 404 and resp["Content-Type"].startswith("text/html")


# --- nullable fields are documented so --------------------------------------------------------------------------

def test_assigned_analyst_and_package_are_null_until_set_and_the_schema_says_so(world, schema):
    import jsonschema

    components = schema["components"]["schemas"]
    for name in ("CaseList", "CaseDetail"):
        assert components[name]["properties"]["assigned_analyst"].get("nullable") is True
    assert components["CaseDetail"]["properties"]["package"].get("nullable") is True
    resp = api(world["users"]["icts_analyst"]).get(f"/api/v1/icts/cases/{world['case'].pk}/")
    assert resp.status_code == 200 and resp.json()["assigned_analyst"] is None and resp.json()["package"] is None

    def openapi_to_jsonschema(node):  # OpenAPI 3.0's `nullable` as JSON Schema, enough for this check
        if isinstance(node, list):
            return [openapi_to_jsonschema(n) for n in node]
        if not isinstance(node, dict):
            return node
        node = {k: openapi_to_jsonschema(v) for k, v in node.items()}
        if node.pop("nullable", False):
            node = {"anyOf": [node, {"type": "null"}]}
        return node

    defs = openapi_to_jsonschema(components)
    detail = dict(defs["CaseDetail"], components={"schemas": defs})
    jsonschema.validate(resp.json(), detail)


# --- what the schema allows is accepted, what it refuses is refused ----------------------------------------------

def text_schemas(schema):
    """Every string that a request carries (query parameters and JSON body fields) with no enum or format of its own."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for p in operation.get("parameters", []):
                if p["in"] == "query" and p["schema"].get("type") == "string" and "enum" not in p["schema"]:
                    yield f"{method} {path} ?{p['name']}", p["schema"]
            for body in operation.get("requestBody", {}).get("content", {}).values():
                ref = body["schema"]["$ref"].rsplit("/", 1)[1]
                for name, prop in schema["components"]["schemas"][ref].get("properties", {}).items():
                    for variant in prop.get("oneOf", [prop]):
                        if variant.get("type") == "string" and not {"enum", "format"} & set(variant) \
                                and variant.get("maxLength") != 0:  # the empty string: nothing to refuse
                            yield f"{method} {path} {name}", variant


def test_every_text_parameter_and_field_documents_that_nul_is_refused(schema):
    found = list(text_schemas(schema))
    assert len(found) >= 15
    for where, s in found:
        assert "pattern" in s, where
        pattern = re.compile(s["pattern"])
        assert not pattern.search("a\x00b"), where
        if s.get("minLength", 0) >= 1 and not where.endswith(" password"):  # a password's spaces are characters
            assert not pattern.search(" \t\u3000"), f"{where}: blank text must break the pattern"
            assert pattern.search("  Amal  "), where


@pytest.mark.parametrize("path", ["/api/v1/queries/?partner=CA%00N", "/api/v1/cases/?search=%00",
                                  "/api/v1/partner-requests/?partner=%00"])
def test_a_nul_in_a_query_parameter_is_a_400_problem_document(world, path):
    assert_problem(api(world["users"]["officer"]).get(path), 400)


def test_blank_text_is_refused_where_the_schema_says_minlength_1(world, schema):
    for component, field in (("QueryCreateRequest", "partner"), ("AssignRequest", "analyst"),
                             ("ReferralCreateRequest", "analyst"), ("ResolveRequest", "justification"),
                             ("AugmentRequest", "justification"), ("Round3Request", "justification")):
        assert schema["components"]["schemas"][component]["properties"][field]["minLength"] == 1, (component, field)
    analyst = world["users"]["icts_analyst"]
    resp = api(analyst).post(f"/api/v1/icts/cases/{world['case'].pk}/assign/", {"analyst": "   "}, format="json")
    assert_problem(resp, 400, "/analyst")
    assert IctsCase.objects.get().assigned_analyst_id is None
    req = world["case"].partner_request
    resp = api(world["users"]["privacy_officer"]).post(f"/api/v1/partner-requests/{req.pk}/resolve/",
                                                       {"outcome": "share", "justification": " \n "}, format="json")
    assert_problem(resp, 400, "/justification")


def test_every_filter_declares_its_enum_and_refuses_other_values(world, schema):
    status = parameter(schema, "/api/v1/icts/cases/", "status")
    assert status["enum"] == list(CaseStatus.values)
    assert set(parameter(schema, "/api/v1/icts/cases/", "priority")["enum"]) == {"high", "medium", "low"}
    assert parameter(schema, "/api/v1/obim/packages/", "delivery")["enum"] == ["delivered", "rejected"]
    assert parameter(schema, "/api/v1/icts/cases/", "mine")["type"] == "boolean"
    assert parameter(schema, "/api/v1/queries/", "status__in")["items"]["enum"]
    analyst = api(world["users"]["icts_analyst"])
    assert_problem(analyst.get("/api/v1/icts/cases/?status=AAA"), 400, "/status")
    assert_problem(analyst.get("/api/v1/icts/cases/?mine=yes"), 400, "/mine")
    assert_problem(analyst.get("/api/v1/obim/packages/?delivery=lost"), 400, "/delivery")
    assert analyst.get("/api/v1/icts/cases/?status=open&mine=false").json()["results"][0]["id"] == world["case"].pk


@pytest.mark.parametrize("path,pointer", [("/api/v1/queries/?priority=", "/priority"),
                                          ("/api/v1/partner-requests/?status=", "/status"),
                                          ("/api/v1/icts/cases/?priority=", "/priority"),
                                          ("/api/v1/queries/?status__in=", "/status__in/0")])
def test_an_empty_filter_is_refused_not_read_as_no_filter(world, path, pointer):
    assert_problem(api(world["users"]["officer"]).get(path), 400, pointer)


def test_the_upload_is_multipart_with_a_binary_file_and_a_schema_valid_upload_succeeds(world, schema):
    path = "/api/v1/icts/cases/{id}/attachments/"
    content = schema["paths"][path]["post"]["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    assert request_schema(schema, path, "post")["properties"]["file"] == {
        **request_schema(schema, path, "post")["properties"]["file"], "type": "string", "format": "binary"}
    case = world["case"]
    analyst = api(world["users"]["icts_analyst"])
    analyst.post(f"/api/v1/icts/cases/{case.pk}/assign/", {}, format="json")
    assert analyst.put(f"/api/v1/icts/cases/{case.pk}/package/", {"reviewer_name": "R", "person": {"family_name": "H"}},
                       format="json").status_code == 200
    resp = analyst.post(f"/api/v1/icts/cases/{case.pk}/attachments/", {"file": io.BytesIO(jpeg_bytes()), "kind": "passport"},
                        format="multipart")
    assert resp.status_code == 200, resp.content[:300]
    assert [a["kind"] for a in resp.json()["package"]["attachments"]] == ["passport"]


def test_an_empty_file_part_is_outside_the_schema_and_refused_as_such(world, schema):
    """Django's multipart parser drops an empty file part (it arrives as no file at all): the schema says a file has at
    least one byte, so schemathesis never sends an empty one as valid (it did, and was refused with 400)."""
    path = "/api/v1/icts/cases/{id}/attachments/"
    assert request_schema(schema, path, "post")["properties"]["file"]["minLength"] == 1
    case = world["case"]
    analyst = api(world["users"]["icts_analyst"])
    analyst.post(f"/api/v1/icts/cases/{case.pk}/assign/", {}, format="json")
    empty = io.BytesIO(b"")
    empty.name = "empty.jpg"
    resp = analyst.post(f"/api/v1/icts/cases/{case.pk}/attachments/", {"file": empty, "kind": "passport"}, format="multipart")
    assert resp.status_code == 400 and resp.json()["errors"][0]["pointer"] == "/file"


def test_an_integer_where_a_string_belongs_is_a_400_not_coerced(world):
    reviewer = UserFactory(role="icts_reviewer")
    UserFactory(role="icts_analyst", username="12")  # 12 would have been read as "12", and the case assigned to them
    resp = api(reviewer).post(f"/api/v1/icts/cases/{world['case'].pk}/assign/", {"analyst": 12}, format="json")
    assert_problem(resp, 400, "/analyst")
    assert IctsCase.objects.get().assigned_analyst_id is None


def test_no_json_type_is_coerced(world):
    from cpms.partner_requests.models import PartnerRequest

    req = world["case"].partner_request
    officer = api(world["users"]["privacy_officer"])
    url = f"/api/v1/partner-requests/{req.pk}/resolve/"
    assert_problem(officer.post(url, {"outcome": "share", "justification": 12345}, format="json"), 400, "/justification")
    assert_problem(officer.post(url, {"outcome": ["share"], "justification": "ok"}, format="json"), 400, "/outcome")
    assert PartnerRequest.objects.get(pk=req.pk).status == req.status
    create = api(world["users"]["officer"])
    for payload, pointer in (({"case": "1"}, "/case"), ({"case": 1.0}, "/case"), ({"case": True}, "/case"),
                             ({"reason": 1}, "/reason")):
        body = {"case": 1, "partner": "CAN", "reason": "other", "priority": "low"} | payload
        assert_problem(create.post("/api/v1/queries/", body, format="json"), 400, pointer)


def test_a_form_encoded_body_is_a_415_the_schema_documents_json_only(world, schema):
    assert list(schema["paths"]["/api/v1/queries/"]["post"]["requestBody"]["content"]) == ["application/json"]
    resp = api(world["users"]["officer"]).post("/api/v1/queries/", {"case": "1", "partner": "CAN", "reason": "other",
                                                                     "priority": "low"})
    assert_problem(resp, 415)


# --- the statuses outside the views: 414, 429 and 503 with Retry-After --------------------------------------------

def test_an_overlong_api_url_is_a_documented_414_problem(world, schema):
    assert_problem(api().get("/api/v1/cases/?search=" + "a" * 3000), 414)
    assert "414" in schema["paths"]["/api/v1/cases/"]["get"]["responses"]


def test_429_and_503_are_documented_with_retry_after(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code in ("429", "503"):
                assert operation["responses"][code]["headers"]["Retry-After"]["required"] is True, (method, path, code)


def test_a_throttled_request_says_when_to_retry(world, monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "rate", "1/min", raising=False)
    client = api(world["users"]["officer"])
    assert client.get("/api/v1/cases/").status_code == 200
    resp = client.get("/api/v1/cases/")
    assert_problem(resp, 429)
    assert int(resp["Retry-After"]) > 0


def test_a_locked_out_token_request_says_when_to_retry(rf, settings):
    from cpms.accounts.views import locked_out

    resp = locked_out(rf.post("/api/v1/auth/token/"))
    assert resp.status_code == 429 and int(resp["Retry-After"]) == int(settings.AXES_COOLOFF_TIME.total_seconds())


def test_a_database_outage_on_the_api_is_a_503_problem_with_retry_after(rf):
    import sys

    from django.db import OperationalError

    from cpms.core.errorpages import server_error

    try:
        raise OperationalError("the database is gone")
    except OperationalError:
        assert sys.exc_info()[0] is OperationalError
        resp = server_error(rf.get("/api/v1/cases/"))
    assert resp.status_code == 503 and resp["Content-Type"] == PROBLEM and int(resp["Retry-After"]) > 0


@pytest.mark.parametrize("filename,kind,pointer", [("pass\x00port.jpg", "passport", None), ("passport.jpg", "pass\x00port", "/kind")])
def test_a_nul_in_the_upload_is_refused_or_dropped_never_stored(world, filename, kind, pointer):
    from icts.models import PackageAttachment

    case = world["case"]
    analyst = api(world["users"]["icts_analyst"])
    analyst.post(f"/api/v1/icts/cases/{case.pk}/assign/", {}, format="json")
    analyst.put(f"/api/v1/icts/cases/{case.pk}/package/", {"reviewer_name": "R", "person": {"family_name": "H"}}, format="json")
    upload = io.BytesIO(jpeg_bytes())
    upload.name = filename
    resp = analyst.post(f"/api/v1/icts/cases/{case.pk}/attachments/", {"file": upload, "kind": kind}, format="multipart")
    if pointer:
        assert_problem(resp, 400, pointer)
        assert not PackageAttachment.objects.exists()
    else:
        assert resp.status_code in (200, 400, 422), resp.content[:300]
        assert all("\x00" not in a.filename for a in PackageAttachment.objects.all())


def test_a_nul_inside_the_package_person_is_refused_not_a_500(world):
    case = world["case"]
    analyst = api(world["users"]["icts_analyst"])
    analyst.post(f"/api/v1/icts/cases/{case.pk}/assign/", {}, format="json")
    resp = analyst.put(f"/api/v1/icts/cases/{case.pk}/package/",
                       {"reviewer_name": "R", "person": {"family_name": "Ha\x00ddad"}}, format="json")
    assert resp.status_code in (400, 422) and resp["Content-Type"] == PROBLEM, resp.content[:300]
