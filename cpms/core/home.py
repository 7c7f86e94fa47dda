"""Each role's home page: its work at a glance, as counts that link to the filtered lists where the work is done.

cpms.core knows no workflow, so each app registers the section of the page it owns (`register`, from its
AppConfig.ready); the home view asks every registered section whose roles the user has. Counts are capped
(`Tile.more`): a tile says "1,000+" instead of counting a hundred thousand rows on every sign-in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .roles import has_role

COUNT_CAP = 1000


@dataclass(frozen=True)
class Tile:
    label: str
    count: int
    url: str
    more: bool = False
    tone: str = ""  # "urgent" draws the eye (overdue, waiting for this person); "" is plain
    hint: str = ""

    @property
    def figure(self) -> str:
        return f"{self.count:,}+" if self.more else f"{self.count:,}"


@dataclass(frozen=True)
class Section:
    title: str
    tiles: list[Tile] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # (label, url): the role's other pages
    empty: str = ""  # said when every count is 0

    @property
    def nothing_to_do(self) -> bool:
        return all(t.count == 0 for t in self.tiles)


@dataclass(frozen=True)
class _Provider:
    order: int
    roles: tuple[str, ...]
    build: Callable[[object], Section | None]


_PROVIDERS: list[_Provider] = []


def register(*roles: str, order: int) -> Callable:
    """Decorator: `build(user) -> Section | None` is shown to users with one of `roles`, in `order`."""
    def decorate(build: Callable[[object], Section | None]) -> Callable:
        if not any(p.build is build for p in _PROVIDERS):
            _PROVIDERS.append(_Provider(order=order, roles=tuple(roles), build=build))
            _PROVIDERS.sort(key=lambda p: p.order)
        return build
    return decorate


def sections_for(user) -> list[Section]:
    sections = []
    for provider in _PROVIDERS:
        if has_role(user, *provider.roles):
            section = provider.build(user)
            if section is not None:
                sections.append(section)
    return sections


def capped_count(queryset, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """COUNT over at most cap + 1 rows: SELECT COUNT(*) FROM (... LIMIT cap + 1)."""
    n = queryset.order_by()[: cap + 1].count()
    return min(n, cap), n > cap


def tile(label: str, counted: tuple[int, bool], url: str, *, tone: str = "", hint: str = "") -> Tile:
    count, more = counted
    return Tile(label=label, count=count, more=more, url=url, tone=tone if count else "", hint=hint)
