"""What every page a browser journey visits must pass, at 1280 px and at 390 px (issue 11, items 4, 6 and 9):

- an axe-core audit (the npm package `axe-core`, a dev dependency in package.json) with the WCAG 2 A and AA rules:
  no violation of impact "serious" or "critical";
- at 390 px, no sideways scroll (document.documentElement.scrollWidth <= window.innerWidth + 1);
- a full-page screenshot of each width under var/screenshots/<journey>/<NN>-<page>-<desktop|390>.png (var/ is not
  committed), for a person to look at.

axe is evaluated into the page through Playwright (CDP), which the page's Content-Security-Policy does not govern, so the
contexts keep the site's real CSP (no `bypass_csp`): a CSP violation of the app itself still shows in the page's log.

A journey collects what it finds and reports everything at the end, every page and every width, in one failure:

    def test_something(page, audit):
        ...
        audit.check(page, "case")      # 1280 px and 390 px: axe, sideways scroll, screenshots
        ...
        audit.assert_clean()           # also checked after the test if it forgot (see the `audit` fixture)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"

DESKTOP = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = ("serious", "critical")

# The outermost elements reaching past the right edge (those that make the page scroll sideways), widest first.
WIDEST_ELEMENTS = """(limit) => {
  const describe = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    if (typeof el.className === 'string' && el.className.trim()) s += '.' + el.className.trim().split(/\\s+/).join('.');
    return s;
  };
  const clipped = el => {  // inside a container that scrolls or clips: it does not widen the page
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  const found = [];
  for (const el of document.body.querySelectorAll('*')) {
    const right = el.getBoundingClientRect().right;
    const parent = el.parentElement;
    if (right > limit + 1 && !(parent && parent !== document.body && parent.getBoundingClientRect().right > limit + 1)
        && !clipped(el)) {
      found.push([right, `${parent ? describe(parent) + ' > ' : ''}${describe(el)} (right edge ${Math.round(right)} px)`]);
    }
  }
  found.sort((a, b) => b[0] - a[0]);
  return found.slice(0, 6).map(f => f[1]);
}"""

RUN_AXE = """async (tags) => {
  const result = await window.axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  const detail = n => [...n.any, ...n.all, ...n.none].map(c => c.message).filter(Boolean)[0] || '';
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, detail: detail(v.nodes[0]),
                                       targets: v.nodes.map(n => n.target.join(' '))}));
}"""


def axe_violations(page: Page, *, exclude_rules: tuple[str, ...] = ()) -> list[dict]:
    """Every WCAG 2 A/AA violation axe finds on the page as it is now (all impacts)."""
    if not AXE_JS.exists():
        raise AssertionError(f"{AXE_JS} is missing: run `make install` (npm ci installs axe-core, a dev dependency)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated, not a <script> tag: the site's CSP forbids inline scripts and CDP evaluation is outside it.
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    return [v for v in page.evaluate(RUN_AXE, AXE_TAGS) if v["id"] not in exclude_rules]


def serious_violations(page: Page, *, exclude_rules: tuple[str, ...] = ()) -> list[str]:
    """The serious and critical violations, one line each: rule id, impact, help, target selectors."""
    lines = []
    for v in axe_violations(page, exclude_rules=exclude_rules):
        if v["impact"] in FAILING_IMPACTS:
            targets = ", ".join(v["targets"][:8]) + (f" (+{len(v['targets']) - 8} more)" if len(v["targets"]) > 8 else "")
            detail = f" ({v['detail']})" if v["detail"] else ""
            lines.append(f"{v['id']} ({v['impact']}): {v['help']}; at {targets}{detail}")
    return lines


def sideways_scroll(page: Page) -> str | None:
    """None when the page does not scroll sideways; otherwise the widths and the widest offending elements."""
    scroll_width, inner_width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if scroll_width <= inner_width + 1:
        return None
    widest = page.evaluate(WIDEST_ELEMENTS, inner_width)
    return f"scrolls sideways: scrollWidth {scroll_width} > innerWidth {inner_width}; widest: " + "; ".join(widest)


def assert_no_sideways_scroll(page: Page) -> None:
    problem = sideways_scroll(page)
    assert problem is None, f"{page.url} {problem}"


def save_screenshot(page: Page, journey: str, name: str) -> Path:
    """A full-page screenshot at var/screenshots/<journey>/<name>.png."""
    path = SCREENSHOTS / journey / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


def _settle(page: Page, viewport: dict) -> None:
    if page.viewport_size != viewport:
        page.set_viewport_size(viewport)
    page.wait_for_load_state("load")
    page.wait_for_timeout(100)  # the layout and USWDS's resize handlers at the new width


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "page"


@dataclass
class Audit:
    """One journey's audit: numbers its pages, keeps its screenshots together, reports every problem at the end."""

    journey: str
    problems: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    pages_checked: int = 0
    reported: bool = False

    def __post_init__(self) -> None:
        directory = SCREENSHOTS / self.journey
        if directory.exists():  # only this run's pages: a renamed step leaves no stale picture behind
            for old in directory.glob("*.png"):
                old.unlink()

    def check(self, page: Page, name: str, *, axe: bool = True, exclude_rules: tuple[str, ...] = (),
              narrow_only: bool = False) -> None:
        """Audit the page as it is now at 1280 px, then at 390 px (then back to 1280 px), with a screenshot of each.

        `narrow_only`: only at 390 px, as the page is now (a state only a phone has: the open menu), left at 390 px.
        `axe=False` only for pages that are not CPMS's own; `exclude_rules` names a rule that is known not to apply,
        with the reason at the call."""
        self.pages_checked += 1
        stem = f"{self.pages_checked:02d}-{_slug(name)}"
        url = page.url
        widths = (("390", NARROW),) if narrow_only else (("desktop", DESKTOP), ("390", NARROW))
        try:
            for label, viewport in widths:
                _settle(page, viewport)
                if axe:
                    for line in serious_violations(page, exclude_rules=exclude_rules):
                        self.problems.append(f"{stem} {url} at {label}: axe {line}")
                if viewport is NARROW:
                    problem = sideways_scroll(page)
                    if problem:
                        self.problems.append(f"{stem} {url} at 390 px: {problem}")
                self.screenshots.append(save_screenshot(page, self.journey, f"{stem}-{label}"))
        finally:
            if not narrow_only:
                _settle(page, DESKTOP)

    def assert_clean(self) -> None:
        self.reported = True
        assert self.pages_checked, "the journey audited no page"
        assert not self.problems, (f"accessibility and small-screen problems on the {self.journey} journey "
                                   f"(screenshots in {SCREENSHOTS / self.journey}):\n  " + "\n  ".join(self.problems))


def assert_all_clean(*audits: Audit) -> None:
    """Several journeys of one test (one per role) reported in one failure."""
    failures = []
    for journey in audits:
        try:
            journey.assert_clean()
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n".join(failures)


def check_open_menu(page: Page, audit: Audit, name: str = "menu-open") -> None:
    """At 390 px the navigation is behind "Menu": open it, audit the open drawer, close it, back to 1280 px."""
    _settle(page, NARROW)
    page.get_by_role("button", name="Menu").click()
    nav = page.get_by_role("navigation", name="Primary navigation")
    expect(nav).to_be_visible()
    audit.check(page, name, narrow_only=True)
    nav.get_by_role("button", name="Close").click()
    expect(nav).to_be_hidden()
    _settle(page, DESKTOP)
