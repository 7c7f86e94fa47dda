"""Who may see which case, and the object grants behind every access decision in CPMS.

Deny by default: a user sees an object only through an object grant (django-guardian, stored in the direct
foreign-key grant tables of each model) *and* while holding the role that the grant is for. "Does not
exist" and "not yours" are the same 404.

Guardian's defaults are not used for checks: a model-wide permission never opens every object (we never
pass `accept_global_perms`) and a superuser has no implicit access (no `with_superuser` short cut): both
come from filtering the grant tables in SQL here. Grants are made and removed only with guardian's
`assign_perm`/`remove_perm`, by the workflow services, through `grant` and `revoke` below.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Exists, OuterRef, Q
from django.http import Http404
from guardian.shortcuts import assign_perm, remove_perm

from .models import BenefitCase, BenefitCaseGroupObjectPermission, BenefitCaseUserObjectPermission
from .roles import Role, has_role

CASE_VIEW = "core.view_benefitcase"

_PERMISSION_IDS: dict[str, int] = {}


def permission_id(perm: str) -> int:
    """The id of 'app_label.codename' (cached: permissions are created by migrate and never change)."""
    if perm not in _PERMISSION_IDS:
        app_label, codename = perm.split(".", 1)
        _PERMISSION_IDS[perm] = Permission.objects.values_list("pk", flat=True).get(
            content_type__app_label=app_label, codename=codename)
    return _PERMISSION_IDS[perm]


def forget_permission_ids() -> None:
    _PERMISSION_IDS.clear()


def role_group(role: str) -> Group:
    group, _ = Group.objects.get_or_create(name=role)
    return group


def grant(perm: str, who, obj) -> None:
    """Give a user or a group (a role) `perm` on `obj`. Idempotent."""
    assign_perm(perm, who, obj)


def revoke(perm: str, who, obj) -> None:
    remove_perm(perm, who, obj)


def granted_filter(user, perm: str, *, user_model, group_model=None, field: str = "pk") -> Q:
    """A Q on the granted model: `field` has a grant of `perm` for `user`, directly or through a group.

    Two shapes, chosen by where the user's grants come from (bench/queues.py measured both):
    - only their own grants (an officer's twenty cases, an analyst's referrals): `field IN (their grants)`,
      so PostgreSQL starts from the grants' index and never walks every object;
    - a group's grants too (supervisors, reviewers, the analysts' pool: role-wide, so broad):
      `EXISTS (own grant) OR EXISTS (group grant)` per object, so a list walks its own order index and stops
      at the page's end instead of hashing a hundred thousand grants first.
    Each probe is one lookup in the unique index (user|group, permission, object). Anonymous users get nothing.
    """
    if not user.is_authenticated or not user.has_perm(perm):  # the role's model permission, then the object grant
        return Q(pk__in=[])
    pid = permission_id(perm)
    own = user_model.objects.filter(user_id=user.pk, permission_id=pid)
    group_grants = None
    if group_model is not None:
        group_grants = group_model.objects.filter(group_id__in=user.groups.values("pk"), permission_id=pid)
        if not group_grants.exists():
            group_grants = None
    if group_grants is None:
        return Q(**{f"{field}__in": own.values("content_object_id")})
    return Q(Exists(own.filter(content_object_id=OuterRef(field)))) | Q(Exists(group_grants.filter(content_object_id=OuterRef(field))))


# --- benefit cases -----------------------------------------------------------------------------------------


def case_grant_filter(user, field: str = "pk") -> Q:
    return granted_filter(user, CASE_VIEW, user_model=BenefitCaseUserObjectPermission,
                          group_model=BenefitCaseGroupObjectPermission, field=field)


def cases_visible_to(user):
    """Officers see the cases assigned to them; supervisors the cases their group is granted."""
    if not has_role(user, Role.OFFICER, Role.SUPERVISOR):
        return BenefitCase.objects.none()
    return BenefitCase.objects.filter(case_grant_filter(user))


def can_act_on_case(user, case: BenefitCase) -> bool:
    """May query partners from this case: an officer or supervisor with the case's grant."""
    return cases_visible_to(user).filter(pk=case.pk).exists()


def access_case_for_user(user, pk) -> BenefitCase:
    try:
        return cases_visible_to(user).select_related("person").get(pk=pk)
    except (BenefitCase.DoesNotExist, ValueError, TypeError):
        raise Http404("No such case.") from None


def case_grants_sync(case: BenefitCase) -> None:
    """Make the case's grants follow its assignment: each assigned officer, and the supervisors' group.

    Called by the services that open a case or change its officers (and by the admin after it saves the
    assignment), in their transaction.
    """
    grant(CASE_VIEW, role_group(Role.SUPERVISOR), case)
    assigned = set(case.assigned_officers.values_list("pk", flat=True))
    pid = permission_id(CASE_VIEW)
    granted = set(BenefitCaseUserObjectPermission.objects.filter(content_object=case, permission_id=pid)
                  .values_list("user_id", flat=True))
    users = get_user_model().objects.in_bulk(assigned ^ granted)
    for uid in assigned - granted:
        grant(CASE_VIEW, users[uid], case)
    for uid in granted - assigned:
        revoke(CASE_VIEW, users[uid], case)
    # The case may have been closed or reopened: its place in the officers' lists follows.
    grants_refresh_sort_key(case, BenefitCaseUserObjectPermission, BenefitCaseGroupObjectPermission)


def grants_refresh_sort_key(obj, *grant_models) -> None:
    """After a change of what orders `obj` in its work queue: its grant rows follow (saved one by one, audited)."""
    for model in grant_models:
        for row in model.objects.filter(content_object=obj).select_related("permission"):
            if row.sort_key != obj.grant_sort_key(row.permission.codename):
                row.save(update_fields=["sort_key"])


# --- work-queue pages, driven by the grant tables -------------------------------------------------------------


def _grant_sources(user, pid: int, *, user_model, group_model, where: Q | None, user_grants_only: bool) -> list:
    """The user's own grants of permission `pid`, and (unless only their own count) their groups', each filtered by
    `where` on the granted object: the lists granted_page and granted_count read, one range scan each."""
    condition = _prefixed(where, "content_object__") if where else Q()
    sources = [user_model.objects.filter(condition, user_id=user.pk, permission_id=pid)]
    if not user_grants_only:
        group_ids = list(user.groups.values_list("pk", flat=True))
        if group_ids:
            sources.append(group_model.objects.filter(condition, group_id__in=group_ids, permission_id=pid))
    return sources


def granted_count(user, perm: str, *, user_model, group_model, where: Q | None = None, cap: int = 1000,
                  user_grants_only: bool = False) -> tuple[int, bool]:
    """How many objects `user` holds `perm` on (matching `where`), counted up to `cap`: (count, more_than_cap).

    The same range scans as granted_page, stopped after cap + 1 grants per source: a list's "1,000+" costs a
    thousand index entries, never a COUNT(*) of everything a reviewer may see."""
    if not user.is_authenticated or not user.has_perm(perm):
        return 0, False
    pid = permission_id(perm)
    sources = _grant_sources(user, pid, user_model=user_model, group_model=group_model, where=where,
                             user_grants_only=user_grants_only)
    ids: set[int] = set()
    for source in sources:
        ids.update(source.order_by().values_list("content_object_id", flat=True)[: cap + 1])
    return min(len(ids), cap), len(ids) > cap


def granted_walk(user, perm: str, *, ordered, queryset, user_model, group_model, number: int, per_page: int,
                 chunk: int = 250, max_rows: int = 2500) -> GrantPage | None:
    """Page `number` of `ordered` (a queryset of the objects, filtered and in any order an index gives) keeping only
    those `user` holds `perm` on: the ids are read a chunk at a time in that order, and each chunk's grants are
    looked up in one query per source (`content_object_id IN (chunk)`), until the page is full.

    For a list sorted by a column the grants do not carry (received date, due date): the planner cannot turn
    `EXISTS (own grant) OR EXISTS (group grant)` into a join, and hashes every group grant first (100,000 for a
    reviewer) before the first row. Walking costs a chunk or two when most objects are visible; when few are
    (max_rows read without filling the page) it answers None and the caller uses the EXISTS query instead."""
    if not user.is_authenticated or not user.has_perm(perm):
        return GrantPage([], number=1, has_next=False)
    pid = permission_id(perm)
    group_ids = list(user.groups.values_list("pk", flat=True))
    need = number * per_page + 1
    found: list[int] = []
    offset = 0
    while len(found) < need:
        if offset >= max_rows:
            return None
        ids = list(ordered.values_list("pk", flat=True)[offset:offset + chunk])
        granted = set(user_model.objects.filter(user_id=user.pk, permission_id=pid, content_object_id__in=ids)
                      .values_list("content_object_id", flat=True)) if ids else set()
        if ids and group_ids:
            granted |= set(group_model.objects.filter(group_id__in=group_ids, permission_id=pid, content_object_id__in=ids)
                           .values_list("content_object_id", flat=True))
        found += [i for i in ids if i in granted]
        offset += chunk
        if len(ids) < chunk:  # the end of the list
            break
    window = found[(number - 1) * per_page: number * per_page + 1]
    page_ids = window[:per_page]
    objects = queryset.in_bulk(page_ids)
    return GrantPage([objects[i] for i in page_ids if i in objects], number=number,
                     has_next=len(window) > per_page)


def _prefixed(q: Q, prefix: str) -> Q:
    """The same condition on a related model: Q(status="open") becomes Q(content_object__status="open")."""
    out = Q(_connector=q.connector, _negated=q.negated)
    for child in q.children:
        out.children.append(_prefixed(child, prefix) if isinstance(child, Q) else (f"{prefix}{child[0]}", child[1]))
    return out


class GrantPage:
    """One page of a work queue, without a COUNT(*) of everything the user may see (it can be 100,000 rows)."""

    def __init__(self, object_list: list, *, number: int, has_next: bool):
        self.object_list, self.number, self._has_next = object_list, number, has_next

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


def page_number(raw) -> int:
    try:
        return max(int(raw), 1)
    except (TypeError, ValueError):
        return 1


def granted_page(user, perm: str, *, queryset, user_model, group_model, where: Q | None = None, descending: bool,
                 number: int, per_page: int, user_grants_only: bool = False,
                 key_ranges: list[tuple[int, int]] | None = None) -> GrantPage:
    """Page `number` of the objects `user` holds `perm` on, in the order of the grants' sort_key.

    Each source of grants (the user's own, the user's groups') is read as one range scan of its index
    (holder, permission, sort_key, object) joined to the object and filtered by `where` (conditions on the
    object), stopping after the rows this page needs; the two short lists are merged here. `queryset` then
    loads the page's objects (with its select_related and annotations) in that order.
    """
    if not user.is_authenticated or not user.has_perm(perm):
        return GrantPage([], number=1, has_next=False)
    pid = permission_id(perm)
    need = number * per_page + 1
    order = ("-sort_key", "-content_object_id") if descending else ("sort_key", "content_object_id")
    sources = _grant_sources(user, pid, user_model=user_model, group_model=group_model, where=where,
                             user_grants_only=user_grants_only)
    # key_ranges: the only sort_key intervals [lo, hi) that can match (a due-date filter on a queue ordered by priority
    # then due date is one interval per priority); each is its own range scan, instead of one scan that walks past
    # every grant outside them.
    ranges = [Q(sort_key__gte=lo, sort_key__lt=hi) for lo, hi in key_ranges] if key_ranges else [Q()]
    keyed: dict[int, int] = {}
    for source in sources:
        for in_range in ranges:
            for object_id, sort_key in source.filter(in_range).order_by(*order).values_list("content_object_id", "sort_key")[:need]:
                keyed.setdefault(object_id, sort_key)
    ordered = sorted(keyed.items(), key=lambda kv: (kv[1], kv[0]), reverse=descending)
    window = ordered[(number - 1) * per_page: number * per_page + 1]
    ids = [object_id for object_id, _ in window[:per_page]]
    objects = queryset.in_bulk(ids)
    return GrantPage([objects[i] for i in ids if i in objects], number=number, has_next=len(window) > per_page)
