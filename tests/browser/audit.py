"""What every page a browser journey visits must pass, at 1280 px and at 390 px (issue 11, items 4, 6 and 9):

- an axe-core audit (the npm package `axe-core`, tests/browser/axe/package.json: make install-dev installs it, make demo
  never does) with the WCAG 2 A and AA rules:
  no violation of impact "serious" or "critical";
- at 390 px, no sideways scroll (document.documentElement.scrollWidth <= window.innerWidth + 1);
- no internal code in the visible text of <main> (`internal_codes` below: snake_case tokens such as `a_number`, model
  labels such as `queries.responseattachment`, ICD message types such as `request.reply`, CIS class codes such as
  `ASYLUM` standing bare), since no page shows an internal code to a person (issue 11, "Done when");
- no template syntax (`{#`, `{%`, `{{`) in the visible text of the page: Django prints a `{# #}` comment over several
  lines as text (issue 18, finding 1);
- at 1280 px no table is wider than its box (a cut column, "Actions" off-screen: issue 18, finding 3); at 390 px no
  table hides a column behind a sideways scroll: a table wider than its box must stack (issue 18, finding 5);
- at 390 px no two buttons touch (less than 4 px between them: a thumb hits the wrong one; issue 18, finding 11);
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
from functools import cache
from pathlib import Path

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "tests" / "browser" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
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


# The visible text of <main>, text node by text node: innerText would apply CSS `text-transform` (a USWDS tag shows
# "Refugee" in capitals) and turn a label into what looks like a class code. Visually hidden text (usa-sr-only) counts:
# a screen reader reads it to a person. An <option>'s text is checked when its <select> is visible. Text inside an
# element marked `data-verbatim` is what a partner sent, shown exactly as sent on purpose (the "As received" column of
# a partner's subject: the partner's own field names, beside the same fields in words).
MAIN_TEXT = """() => {
  const main = document.querySelector('main');
  if (!main) return '';
  const parts = [];
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    let el = node.parentElement;
    if (!el || ['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT'].includes(el.tagName)) continue;
    if (el.closest('[data-verbatim]')) continue;
    el = el.closest('select') || el;
    if (!el.checkVisibility({checkVisibilityCSS: true})) continue;
    parts.push(node.data);
  }
  return parts.join(' ');
}"""

# What looks like a code but is shown on purpose, removed from the text before it is searched (keep it short):
LEGITIMATE = [
    # A file name as the user or the partner gave it ("passport_scan.pdf"): the document's own name, shown so a person
    # recognises the file they uploaded or received.
    re.compile(r"[\w.-]+\.(?:pdf|png|jpe?g|gif|tiff?|txt|csv|json|docx?)\b", re.IGNORECASE),
    # An e-mail address: a person's contact, shown as entered ("first_last@uscis.dhs.gov").
    re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
]
# Single tokens a page shows on purpose, each with its reason. Reference numbers (ZAR2690000001, USCIS-Q-...) do not look
# like codes and need no entry. Usernames are allowed as well (`page_internal_codes`): a page shows one on purpose where
# two people may share a name ("Farah Nasser (fdns_analyst)" in the FDNS analyst select of a referral).
ALLOWED_CODES: frozenset[str] = frozenset()

SNAKE_CASE = re.compile(r"(?<![\w.@/-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w@/-])")
UPPER_SNAKE_CASE = re.compile(r"(?<![\w.@/-])[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+(?![\w@/-])")


@cache
def _code_patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern, re.Pattern]:
    """Built on first use, when Django is set up: the model labels, the ICD's message types and the CIS classes."""
    from django.apps import apps

    from cpms.cis.classes import GRANTED_STATUS, ProtectedClass
    from ident_bridge import icd

    def words(tokens) -> re.Pattern:
        alternatives = "|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True))
        return re.compile(rf"(?<![\w.])(?:{alternatives})(?![\w]|\.\w)")

    model_labels = {f"{m._meta.app_label}.{m._meta.model_name}" for m in apps.get_models()}
    # The classes' own labels ("VAWA self-petitioner", "Convention Against Torture protection") are plain language:
    # they are taken out of the text before a class code standing on its own is looked for.
    class_labels = re.compile("|".join(re.escape(str(text)) for text in
                                       sorted({*ProtectedClass.labels, *GRANTED_STATUS.values()}, key=len, reverse=True)))
    # Single letters (T, U) are left out: "U" is also the U of "U.S.". Their labels are checked through the others.
    class_codes = [c for c in ProtectedClass.values if len(c) > 1]
    return words(model_labels), words(icd.MESSAGE_TYPES), class_labels, words(class_codes)


def internal_codes(text: str, *, allowed: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The internal codes in a page's visible text, each once, in the order they appear (`allowed` and
    ALLOWED_CODES aside)."""
    for pattern in LEGITIMATE:
        text = pattern.sub(" ", text)
    model_labels, message_types, class_labels, class_codes = _code_patterns()
    found = [m.group(0) for pattern in (model_labels, message_types, SNAKE_CASE, UPPER_SNAKE_CASE)
             for m in pattern.finditer(text)]
    found += [m.group(0) for m in class_codes.finditer(class_labels.sub(" ", text))]
    return [code for code in dict.fromkeys(found) if code not in ALLOWED_CODES and code not in allowed]


def page_internal_codes(page: Page) -> list[str]:
    """The internal codes <main> shows now; the usernames of the test's users are not codes (see ALLOWED_CODES)."""
    from django.contrib.auth import get_user_model

    usernames = set(get_user_model().objects.values_list("username", flat=True))
    return internal_codes(page.evaluate(MAIN_TEXT), allowed=usernames)


TEMPLATE_SYNTAX = re.compile(r"\{[#%{]")

# The whole page's visible text, header and footer too (innerText skips what CSS hides).
BODY_TEXT = "() => document.body ? document.body.innerText : ''"


def template_syntax(page: Page) -> list[str]:
    """Each line of the page's visible text that shows template syntax: a `{# #}` comment over several lines, an
    unclosed tag, a variable left in a string the page prints."""
    return [line.strip() for line in page.evaluate(BODY_TEXT).splitlines() if TEMPLATE_SYNTAX.search(line)]


# Each visible table wider than the box it sits in. A stacked table at 390 px fits; a table in a scrollable container
# that is wider than the container hides columns behind a sideways scroll with no cue.
OVERWIDE_TABLES = """() => {
  const describe = t => {
    const caption = t.caption ? t.caption.innerText.trim() : '';
    const heads = [...t.querySelectorAll('thead th')].map(th => th.innerText.trim()).filter(Boolean).slice(0, 3);
    return caption || (heads.length ? 'columns ' + heads.join(', ') : 'table') ;
  };
  const found = [];
  for (const table of document.querySelectorAll('main table')) {
    if (!table.checkVisibility({checkVisibilityCSS: true})) continue;
    const box = table.parentElement;
    const width = table.getBoundingClientRect().width;
    const room = box.clientWidth;
    if (width > room + 1) found.push(`"${describe(table)}" is ${Math.round(width)} px wide in a ${room} px box`);
  }
  return found;
}"""


def overwide_tables(page: Page) -> list[str]:
    return page.evaluate(OVERWIDE_TABLES)


# Each pair of visible buttons (and links styled as buttons) in <main> closer than `gap` px to each other.
TOUCHING_BUTTONS = """(gap) => {
  const name = el => (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
  const buttons = [...document.querySelectorAll('main button, main .usa-button, main input[type=submit]')]
    .filter(el => el.checkVisibility({checkVisibilityCSS: true}))
    .filter((el, i, all) => !all.some(other => other !== el && other.contains(el)));
  const found = [];
  for (let i = 0; i < buttons.length; i++) {
    const a = buttons[i].getBoundingClientRect();
    if (!a.width || !a.height) continue;
    for (let j = i + 1; j < buttons.length; j++) {
      const b = buttons[j].getBoundingClientRect();
      if (!b.width || !b.height) continue;
      const apart = Math.max(b.left - a.right, a.left - b.right, b.top - a.bottom, a.top - b.bottom);
      if (apart < gap) found.push(`"${name(buttons[i])}" and "${name(buttons[j])}" (${Math.round(apart)} px apart)`);
    }
  }
  return found;
}"""
BUTTON_GAP_PX = 4


def touching_buttons(page: Page) -> list[str]:
    return page.evaluate(TOUCHING_BUTTONS, BUTTON_GAP_PX)


def axe_violations(page: Page, *, exclude_rules: tuple[str, ...] = ()) -> list[dict]:
    """Every WCAG 2 A/AA violation axe finds on the page as it is now (all impacts)."""
    if not AXE_JS.exists():
        raise AssertionError(f"{AXE_JS} is missing: run `make install-dev` (it installs axe-core from tests/browser/axe/package.json)")
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
              narrow_only: bool = False, codes: bool = True) -> None:
        """Audit the page as it is now at 1280 px, then at 390 px (then back to 1280 px), with a screenshot of each.

        `narrow_only`: only at 390 px, as the page is now (a state only a phone has: the open menu), left at 390 px.
        `axe=False` only for pages that are not CPMS's own; `exclude_rules` names a rule that is known not to apply,
        with the reason at the call. `codes=False` (no internal-code check) likewise, with the reason at the call."""
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
                if codes:  # at each width: a layout may show a phone something the desktop hides
                    for code in page_internal_codes(page):
                        problem = f"{stem} {url}: internal code shown in <main>: {code!r}"
                        if problem not in self.problems:
                            self.problems.append(problem)
                for line in template_syntax(page):
                    problem = f"{stem} {url}: template syntax shown: {line[:120]!r}"
                    if problem not in self.problems:
                        self.problems.append(problem)
                for table in overwide_tables(page):
                    self.problems.append(f"{stem} {url} at {label}: table {table}"
                                         + (" (it scrolls sideways: stack it)" if viewport is NARROW else ""))
                if viewport is NARROW:
                    for pair in touching_buttons(page):
                        self.problems.append(f"{stem} {url} at 390 px: buttons touch: {pair}")
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
        assert not self.problems, (f"accessibility, small-screen and plain-language problems on the {self.journey} journey "
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
