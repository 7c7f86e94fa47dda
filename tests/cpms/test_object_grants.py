"""Object grants (django-guardian) made and removed by the workflow, and guardian's defaults closed off:
a model-wide permission opens nothing, a superuser is not a back door, a deleted object's grants die with it,
and a grant counts only while its holder keeps the role."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.http import Http404
from guardian.shortcuts import get_objects_for_user

from cpms.core.models import BenefitCase, BenefitCaseUserObjectPermission
from cpms.core.permissions import CASE_VIEW, access_case_for_user, cases_visible_to
from cpms.core.services import CaseError, case_set_officers
from icts import services as icts_services
from icts.models import IctsCase
from icts.permissions import access_case_for_user as access_icts_case
from icts.permissions import cases_visible_to as icts_cases_visible_to
from icts.permissions import packages_visible_to_obim
from tests.factories import AgreementFactory, CaseFactory, PersonFactory, UserFactory, cis_record, request_message
from tests.worlds import receive_request


@pytest.fixture
def officers(db):
    return UserFactory(role="officer"), UserFactory(role="officer"), UserFactory(role="supervisor")


def test_assignment_grants_and_unassignment_revokes(officers):
    owner, colleague, supervisor = officers
    case = CaseFactory(officers=[owner])
    assert access_case_for_user(owner, case.pk) == case
    with pytest.raises(Http404):
        access_case_for_user(colleague, case.pk)
    assert access_case_for_user(supervisor, case.pk) == case  # the supervisors' group grant

    case_set_officers(actor=None, case=case, officers=[colleague])
    assert access_case_for_user(colleague, case.pk) == case
    with pytest.raises(Http404):
        access_case_for_user(owner, case.pk)
    assert list(BenefitCaseUserObjectPermission.objects.filter(content_object=case).values_list("user", flat=True)) == [colleague.pk]


def test_only_officers_can_be_assigned(officers):
    case = CaseFactory(officers=[officers[0]])
    with pytest.raises(CaseError) as exc:
        case_set_officers(actor=None, case=case, officers=[UserFactory(role="icts_analyst")])
    assert exc.value.field == "assigned_officers"
    assert list(case.assigned_officers.all()) == [officers[0]]


def test_a_model_wide_permission_opens_no_object(officers):
    """guardian's accept_global_perms would let `core.view_benefitcase` open every case; ours does not."""
    owner, colleague, _ = officers
    case = CaseFactory(officers=[owner])
    colleague.user_permissions.add(Permission.objects.get(codename="view_benefitcase"))
    colleague = type(colleague).objects.get(pk=colleague.pk)
    assert colleague.has_perm(CASE_VIEW)
    assert case not in cases_visible_to(colleague)
    with pytest.raises(Http404):
        access_case_for_user(colleague, case.pk)


def test_a_superuser_is_not_a_back_door(officers):
    case = CaseFactory(officers=[officers[0]])
    root = UserFactory(is_superuser=True, is_staff=True)
    assert case in get_objects_for_user(root, CASE_VIEW, BenefitCase)  # guardian's default would let them in
    assert not cases_visible_to(root).exists()
    with pytest.raises(Http404):
        access_case_for_user(root, case.pk)


def test_a_grant_counts_only_while_the_role_is_held(officers):
    owner = officers[0]
    case = CaseFactory(officers=[owner])
    owner.groups.clear()
    owner = type(owner).objects.get(pk=owner.pk)
    with pytest.raises(Http404):
        access_case_for_user(owner, case.pk)


def test_grants_die_with_their_object_and_never_pass_to_a_reused_key(officers):
    owner = officers[0]
    case = CaseFactory(officers=[owner])
    pk, person = case.pk, case.person
    case.delete()
    assert not BenefitCaseUserObjectPermission.objects.filter(content_object_id=pk).exists()
    reborn = BenefitCase.objects.create(pk=pk, receipt_number="ZAR2688888888", kind="asylum", person=person)
    with pytest.raises(Http404):
        access_case_for_user(owner, reborn.pk)


# --- ICTS cases -----------------------------------------------------------------------------------------------


@pytest.fixture
def icts_world(db, django_capture_on_commit_callbacks):
    AgreementFactory(partner__code="CAN")
    cis_record(PersonFactory(fin="FIN1000000001"))
    req = receive_request(request_message(request_ref="CAN-GRANT-1"), django_capture_on_commit_callbacks)
    users = {n: UserFactory(role=r) for n, r in (("a1", "icts_analyst"), ("a2", "icts_analyst"), ("rev", "icts_reviewer"),
                                                  ("obim", "obim_analyst"))}
    return req.icts_case, users


def test_an_open_case_is_in_every_analysts_pool_until_taken(icts_world):
    case, u = icts_world
    assert all(case in icts_cases_visible_to(u[n]) for n in ("a1", "a2", "rev"))
    icts_services.case_assign(actor=u["a1"], case=case, analyst=u["a1"])
    assert case in icts_cases_visible_to(u["a1"]) and case in icts_cases_visible_to(u["rev"])
    with pytest.raises(Http404):
        access_icts_case(u["a2"], case.pk)


def test_reassignment_moves_the_grant(icts_world):
    case, u = icts_world
    icts_services.case_assign(actor=u["a1"], case=case, analyst=u["a1"])
    icts_services.case_assign(actor=u["rev"], case=IctsCase.objects.get(pk=case.pk), analyst=u["a2"])
    assert access_icts_case(u["a2"], case.pk) == case
    with pytest.raises(Http404):
        access_icts_case(u["a1"], case.pk)


def test_obim_sees_nothing_before_transmission_and_other_roles_never(icts_world):
    case, u = icts_world
    assert not packages_visible_to_obim(u["obim"]).exists()
    IctsCase.objects.filter(pk=case.pk).update(status="transmitted")  # the status alone opens nothing: the grant does
    assert not packages_visible_to_obim(u["obim"]).exists()
    assert not packages_visible_to_obim(u["rev"]).exists()
    assert not icts_cases_visible_to(u["obim"]).exists()


def test_the_analysts_group_grant_is_for_members_only(icts_world):
    case, _ = icts_world
    outsider = UserFactory(role="officer")
    assert not icts_cases_visible_to(outsider).exists()
    outsider.groups.add(Group.objects.get(name="icts_analyst"))
    outsider = type(outsider).objects.get(pk=outsider.pk)
    assert case in icts_cases_visible_to(outsider)


def test_every_role_is_a_group_with_its_model_permissions(db):
    from cpms.core.roles import ROLE_PERMISSIONS, Role

    for role in Role:
        group = Group.objects.get(name=role)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        named = [e for e in ROLE_PERMISSIONS[role] if "_" in e.split(".", 1)[1]]
        assert set(named) <= held and held, role


def test_a_grant_without_the_roles_model_permission_opens_nothing(officers):
    owner = officers[0]
    case = CaseFactory(officers=[owner])
    Group.objects.get(name="officer").permissions.remove(Permission.objects.get(codename="view_benefitcase"))
    owner = type(owner).objects.get(pk=owner.pk)
    with pytest.raises(Http404):
        access_case_for_user(owner, case.pk)


def test_rebuild_grants_restores_what_the_workflow_made_and_removes_strays(db, django_capture_on_commit_callbacks, monkeypatch):
    from django.core.management import call_command

    from cpms.core.models import BenefitCaseGroupObjectPermission
    from cpms.queries.models import InternationalQueryUserObjectPermission
    from icts.models import IctsCaseGroupObjectPermission, IctsCaseUserObjectPermission
    from tests.worlds import build_world

    world = build_world(django_capture_on_commit_callbacks, monkeypatch)
    models = (BenefitCaseUserObjectPermission, BenefitCaseGroupObjectPermission, IctsCaseUserObjectPermission,
              IctsCaseGroupObjectPermission, InternationalQueryUserObjectPermission)

    def snapshot():
        return {m.__name__: sorted(m.objects.values_list(*[f.attname for f in m._meta.fields if f.name != "id"]))
                for m in models}

    before = snapshot()
    for m in models:
        m.objects.all().delete()
    stray = UserFactory(role="icts_analyst")
    IctsCaseUserObjectPermission.objects.create(user=stray, content_object=world["icts"],
                                                permission=Permission.objects.get(codename="view_ictscase"))
    call_command("rebuild_grants")
    assert snapshot() == before
    call_command("rebuild_grants")
    assert snapshot() == before
