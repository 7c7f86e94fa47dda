"""The header's search box: one term (a receipt number, an A-Number, a FIN, a name in any script, a query, ICTS or
partner reference), every kind of thing the user may see.

cpms.core knows no workflow, so each app registers what it finds (`register`, from its AppConfig.ready), as the home
page's sections are registered (cpms.core.home); the search page asks every finder whose roles the user has. Each
finder filters in SQL by what the user may see (the same access rules as its lists) and returns at most LIMIT hits,
with a link to its full list when there may be more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .models import PersonNameKey, fold_for_search
from .roles import has_role

LIMIT = 10
MAX_TERM = 100


@dataclass(frozen=True)
class Hit:
    label: str
    url: str
    detail: str = ""


@dataclass(frozen=True)
class Group:
    title: str
    hits: list[Hit] = field(default_factory=list)
    more_url: str = ""  # the full list, filtered by the term, when there may be more than LIMIT


@dataclass(frozen=True)
class _Finder:
    order: int
    roles: tuple[str, ...]
    find: Callable[[object, str], Group | None]


_FINDERS: list[_Finder] = []


def register(*roles: str, order: int) -> Callable:
    """Decorator: `find(user, term) -> Group | None` answers users with one of `roles`, in `order`."""
    def decorate(find: Callable[[object, str], Group | None]) -> Callable:
        if not any(f.find is find for f in _FINDERS):
            _FINDERS.append(_Finder(order=order, roles=tuple(roles), find=find))
            _FINDERS.sort(key=lambda f: f.order)
        return find
    return decorate


def search(user, term: str) -> list[Group]:
    """The groups with at least one hit, for what `user` may see."""
    term = " ".join((term or "").split())[:MAX_TERM]
    if not term:
        return []
    groups = []
    for finder in _FINDERS:
        if has_role(user, *finder.roles):
            group = finder.find(user, term)
            if group is not None and group.hits:
                groups.append(group)
    return groups


def people_named(term: str):
    """The ids of the people any of whose name forms (aliases too) starts with the folded term, as a subquery:
    `petrenko` finds Петренко, `nguyen thi` finds Nguyễn Thị Minh. Empty when the term has no letter or digit."""
    key = fold_for_search(term)
    if not key:
        return PersonNameKey.objects.none().values("person_id")
    return PersonNameKey.objects.filter(key__startswith=key).values("person_id")
