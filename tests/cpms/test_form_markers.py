"""Every field a person must fill in carries the required marker (issue 18, finding 11), also those the service checks
in its own words rather than the form (justifications, what to ask a partner for, the reviewer on a response)."""

import pytest
from django.template import Context, Template

from cpms.partner_requests.forms import AugmentForm, ReferralResolveForm
from cpms.privacy.forms import HeldQueryForm
from cpms.queries.forms import Round3Form
from icts.forms import PackageForm

FIELD = Template('{% include "core/_field.html" with field=field %}')
MARKER = '<abbr title="required" class="usa-hint usa-hint--required">*</abbr>'


@pytest.mark.parametrize(("form", "name"), [
    (Round3Form(), "requested_items"), (Round3Form(), "justification"),
    (AugmentForm(), "requested_items"), (AugmentForm(), "justification"),
    (ReferralResolveForm(), "justification"), (HeldQueryForm(), "justification"),
    (PackageForm(), "reviewer_name"),
], ids=lambda v: v if isinstance(v, str) else type(v).__name__)
def test_a_field_the_service_requires_is_marked_required(form, name):
    assert MARKER in FIELD.render(Context({"field": form[name]}))


@pytest.mark.parametrize(("form", "name"), [(PackageForm(), "reviewer_email"), (PackageForm(), "reviewer_phone")],
                         ids=lambda v: v if isinstance(v, str) else type(v).__name__)
def test_an_optional_field_is_not_marked(form, name):
    assert MARKER not in FIELD.render(Context({"field": form[name]}))
