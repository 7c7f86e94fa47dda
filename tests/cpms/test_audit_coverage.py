"""django-auditlog sees every change of personal or partner data: every such model is registered, no service
changes one with QuerySet.update() (which bypasses auditlog), and the object grants are audited too."""

import ast
from pathlib import Path

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.contrib.contenttypes.models import ContentType

from cpms.audit.services import audited_update
from cpms.queries.models import InternationalQuery
from tests.factories import AgreementFactory, CaseFactory, UserFactory

ROOT = Path(__file__).resolve().parents[2]

# Models holding personal data, partner data, what was decided or disclosed about a person, or who may see it.
MUST_BE_AUDITED = [
    "core.Person", "core.BenefitCase", "core.Partner", "core.Agreement",
    "core.BenefitCaseUserObjectPermission", "core.BenefitCaseGroupObjectPermission",
    "queries.InternationalQuery", "queries.QueryRound", "queries.Match", "queries.PartnerResponse",
    "queries.ResponseAttachment", "queries.FdnsReferral", "queries.InternationalQueryUserObjectPermission",
    "partner_requests.PartnerRequest", "partner_requests.Augmentation", "cis.CisRecord", "cis.CisClassEntry",
    "disclosure.RuleSet", "disclosure.Rule", "disclosure.Decision", "disclosure.DisclosureRecord",
    "icts.IctsCase", "icts.ResponsePackage", "icts.PackageAttachment", "icts.Review",
    "icts.IctsCaseUserObjectPermission", "icts.IctsCaseGroupObjectPermission",
]


def test_every_model_with_personal_or_partner_data_is_audited():
    missing = [label for label in MUST_BE_AUDITED if not auditlog.contains(apps.get_model(label))]
    assert missing == []


def _bulk_updates_of_audited_models(root: Path = ROOT) -> list[str]:
    audited = {apps.get_model(label).__name__ for label in MUST_BE_AUDITED}
    found = []
    for package in ("cpms", "icts", "ident_bridge"):
        for path in (root / package).rglob("*.py"):
            if "migrations" in path.parts or "simulator" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "update"):
                    continue
                base = node.func.value
                while isinstance(base, (ast.Call, ast.Attribute)):  # Model.objects.filter(...).update(...)
                    base = base.func if isinstance(base, ast.Call) else base.value
                if isinstance(base, ast.Name) and base.id in audited:
                    found.append(f"{path.relative_to(root)}:{node.lineno} {base.id}")
    return found


def test_no_service_bulk_updates_an_audited_model():
    assert _bulk_updates_of_audited_models() == []


def test_the_scan_finds_a_bulk_update(tmp_path):
    """The scan above is not vacuous: a bulk update in a module is reported."""
    (tmp_path / "cpms").mkdir()
    (tmp_path / "cpms" / "bad.py").write_text("def f():\n    InternationalQuery.objects.filter(pk=1).update(status='x')\n")
    assert _bulk_updates_of_audited_models(tmp_path) == ["cpms/bad.py:2 InternationalQuery"]


@pytest.mark.django_db
def test_audited_update_leaves_a_log_entry_with_before_and_after():
    AgreementFactory(partner__code="CAN")
    owner = UserFactory(role="officer")
    case = CaseFactory(officers=[owner])
    from cpms.queries import services

    query = services.query_submit(actor=owner, case=case, partner_code="CAN", reason="asylum_claimant", priority="high")
    audited_update(InternationalQuery, query.pk, overdue_since=query.created_at)
    entry = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(InternationalQuery),
                                    object_pk=str(query.pk), action=LogEntry.Action.UPDATE).latest("timestamp")
    assert "overdue_since" in entry.changes_dict


@pytest.mark.django_db
def test_grants_and_their_removal_are_audited():
    from cpms.core.models import BenefitCaseUserObjectPermission
    from cpms.core.services import case_set_officers

    owner, other = UserFactory(role="officer"), UserFactory(role="officer")
    case = CaseFactory(officers=[owner])
    ct = ContentType.objects.get_for_model(BenefitCaseUserObjectPermission)
    assert LogEntry.objects.filter(content_type=ct, action=LogEntry.Action.CREATE).count() == 1
    case_set_officers(actor=None, case=case, officers=[other])
    assert LogEntry.objects.filter(content_type=ct, action=LogEntry.Action.DELETE).count() == 1
    assert LogEntry.objects.filter(content_type=ct, action=LogEntry.Action.CREATE).count() == 2
