"""The response form in a working day (issue 18): documents and submission never throw away an unsaved edit
(finding 4); the reviewer on the response is not the analyst, and approving is not an edit (finding 8)."""

import re

import pytest
from django.urls import reverse

from icts.models import ResponsePackage
from icts.workflow import CaseStatus
from tests.factories import jpeg_bytes, png_bytes
from tests.icts.test_icts_views import _upload, browser, build_world, element_post, saved, submitted, take


@pytest.fixture
def world(db, django_capture_on_commit_callbacks):
    return build_world(django_capture_on_commit_callbacks)


def test_the_form_does_not_name_the_analyst_as_the_reviewer(world):
    analyst = world["users"]["icts_analyst"]
    analyst.first_name, analyst.last_name, analyst.email = "Ana", "Lyst", "ana.lyst@uscis.example.gov"
    analyst.save()
    case = take(world)
    html = browser(analyst).get(reverse("icts-package", args=[case.pk])).content.decode()
    field = re.search(r'<input[^>]*id="id_reviewer_name"[^>]*>', html).group(0)
    assert 'value=""' in field
    assert 'value="Ana Lyst"' not in html and 'value="ana.lyst@uscis.example.gov"' not in html
    # Required, and marked so.
    assert re.search(r'for="id_reviewer_name">Reviewer name <abbr title="required"', html)


def test_approving_does_not_change_when_the_response_was_last_saved(world, django_capture_on_commit_callbacks):
    case = submitted(world)
    saved_at = ResponsePackage.objects.get(case=case).updated_at
    with django_capture_on_commit_callbacks(execute=False):  # the transmission is not this test's business
        resp = browser(world["users"]["icts_reviewer"]).post(reverse("icts-review", args=[case.pk]), {"verdict": "approved"})
    assert resp.status_code == 302
    package = ResponsePackage.objects.get(case=case)
    assert package.approved_at is not None and package.updated_at == saved_at
    html = browser(world["users"]["icts_reviewer"]).get(reverse("icts-case", args=[case.pk])).content.decode()
    assert f"last saved {saved_at:%-d %b %Y %H:%M} UTC" in html


def test_the_document_buttons_belong_to_the_response_form(world):
    case = saved(world)
    client = browser(world["users"]["icts_analyst"])
    client.post(reverse("icts-upload", args=[case.pk]), {"kind": "photograph", "file": _upload("photo.png", png_bytes())})
    att = case.package.attachments.get()
    html = client.get(reverse("icts-package", args=[case.pk])).content.decode()
    assert 'id="package-form"' in html
    for action in (reverse("icts-upload", args=[case.pk]), reverse("icts-submit", args=[case.pk]),
                   reverse("icts-attachment-remove", args=[case.pk, att.pk])):
        assert re.search(rf'<button type="submit" form="package-form" formaction="{re.escape(action)}"', html), action
    assert re.search(r'<select[^>]*name="kind" form="package-form"', html)
    assert re.search(r'<input[^>]*name="file" type="file" form="package-form"', html)


def test_uploading_saves_the_edits_made_before(world):
    case = saved(world)
    resp = browser(world["users"]["icts_analyst"]).post(reverse("icts-upload", args=[case.pk]), element_post(
        given_names="Amal Noor", reviewer_name="Rita Moreno-Diaz", kind="passport", file=_upload("passport.jpg", jpeg_bytes())))
    assert resp.status_code == 302
    package = ResponsePackage.objects.get(case=case)
    assert package.person["given_names"] == "Amal Noor" and package.reviewer_name == "Rita Moreno-Diaz"
    assert package.attachments.get().filename == "passport.jpg"


def test_uploading_with_edits_that_cannot_be_saved_uploads_nothing_and_keeps_the_edits(world):
    case = saved(world)
    resp = browser(world["users"]["icts_analyst"]).post(reverse("icts-upload", args=[case.pk]), element_post(
        reviewer_name="", given_names="Amal Noor", kind="passport", file=_upload("passport.jpg", jpeg_bytes())))
    assert resp.status_code == 200
    assert resp.context["form"].errors["reviewer_name"] == ["Give the reviewer's name: the partner sees it on the response."]
    html = resp.content.decode()
    assert 'value="Amal Noor"' in html and "Nothing was uploaded" in html
    package = ResponsePackage.objects.get(case=case)
    assert not package.attachments.exists() and package.person["given_names"] == "Amal"


def test_removing_a_document_saves_the_edits_made_before(world):
    case = saved(world)
    client = browser(world["users"]["icts_analyst"])
    client.post(reverse("icts-upload", args=[case.pk]), {"kind": "photograph", "file": _upload("photo.png", png_bytes())})
    att = case.package.attachments.get()
    resp = client.post(reverse("icts-attachment-remove", args=[case.pk, att.pk]), element_post(given_names="Amal Noor"))
    assert resp.status_code == 302
    package = ResponsePackage.objects.get(case=case)
    assert not package.attachments.exists() and package.person["given_names"] == "Amal Noor"


def test_submitting_saves_the_edits_made_before(world):
    case = saved(world)
    resp = browser(world["users"]["icts_analyst"]).post(reverse("icts-submit", args=[case.pk]), element_post(given_names="Amal Noor"))
    assert resp.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW and case.package.person["given_names"] == "Amal Noor"


@pytest.mark.parametrize("persona", ["other_analyst", "officer"])
def test_an_upload_with_edits_from_someone_else_gets_404_and_changes_nothing(world, persona):
    case = saved(world)
    resp = browser(world["users"][persona]).post(reverse("icts-upload", args=[case.pk]), element_post(
        given_names="Mallory", kind="passport", file=_upload("passport.jpg", jpeg_bytes())))
    assert resp.status_code == 404
    package = ResponsePackage.objects.get(case=case)
    assert package.person["given_names"] == "Amal" and not package.attachments.exists()
