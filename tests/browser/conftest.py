"""Browser tests: Chromium driven through Playwright's sync API, against the `cpms_stack` of
tests/integration/harness.py (live server + real Celery worker + IDENT simulator).

- `browser`: the one Chromium of the session (Debian's /usr/bin/chromium; a Playwright browser download is not
  used). It is started on first use and stopped as soon as the last browser test of a run of them has finished,
  see `pytest_runtest_teardown` below for why.
- `page`: a fresh browser context (no cookies, no session) per test, 15 s default timeout; `new_page()` opens
  another fresh context in the same test, e.g. a second user.
- On failure every page the test opened is saved as a screenshot and its HTML in the test's tmp_path (next to
  the worker's and the simulator's logs), and the failure report names the files.

- `audit`: `audit("officer")` starts a journey's accessibility and small-screen audit with screenshots
  (tests/browser/audit.py).

Helpers for the tests themselves (signing in, ...) are in tests/browser/pages.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from playwright.sync_api import Browser, Error as PlaywrightError, Page, expect, sync_playwright

from tests.browser.audit import Audit

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DEFAULT_TIMEOUT_MS = 15_000
BROWSER_DIR = Path(__file__).resolve().parent

expect.set_options(timeout=DEFAULT_TIMEOUT_MS)


def _is_browser_test(item: pytest.Item | None) -> bool:
    if item is None:
        return False
    try:
        Path(str(item.path)).resolve().relative_to(BROWSER_DIR)
    except ValueError:
        return False
    return True


class ChromiumRuntime:
    """Playwright and one Chromium, started on demand, stoppable and restartable.

    While Playwright's sync API is running it marks its asyncio loop as the running loop of the main thread
    between calls, and Django then refuses ORM calls from that thread (SynchronousOnlyOperation): the tests'
    factories, `Stack.wait_until` and pytest-django's database flush all run there. So while Chromium runs,
    DJANGO_ALLOW_ASYNC_UNSAFE is set (the ORM is not used from async code here, only from this thread), and
    both are undone as soon as the browser tests are over, before any other test of the session runs.
    """

    def __init__(self) -> None:
        self._playwright = None
        self._browser: Browser | None = None
        self._saved_env: str | None = None

    def browser(self) -> Browser:
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        self.stop()
        if not CHROMIUM.exists():
            if os.environ.get("CI"):  # CI must run them: a missing browser is a failure there, not a skip
                pytest.fail(f"{CHROMIUM} is missing on CI: browser tests cannot be skipped there", pytrace=False)
            pytest.skip(f"{CHROMIUM} is missing: browser tests need Debian's chromium "
                        "(bash scripts/ensure_system_packages.sh, which `make test` runs, installs it)")
        self._saved_env = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                             args=CHROMIUM_ARGS)
        except BaseException:
            self.stop()
            raise
        return self._browser

    def stop(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            except PlaywrightError:
                pass
            self._browser = None
        if self._playwright is not None:
            self._playwright.stop()  # also clears the main thread's running loop
            self._playwright = None
            if self._saved_env is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = self._saved_env


_RUNTIME = pytest.StashKey[ChromiumRuntime]()


@pytest.fixture(scope="session")
def chromium_runtime(pytestconfig: pytest.Config) -> Iterator[ChromiumRuntime]:
    runtime = ChromiumRuntime()
    pytestconfig.stash[_RUNTIME] = runtime
    try:
        yield runtime
    finally:
        runtime.stop()
        del pytestconfig.stash[_RUNTIME]


@pytest.fixture
def browser(chromium_runtime: ChromiumRuntime) -> Browser:
    """The session's Chromium (the same process for every browser test of a run)."""
    return chromium_runtime.browser()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """After the last browser test of a run of them (its fixtures, database flush included, are torn down),
    stop Chromium and Playwright: the tests that follow must find the main thread without an event loop."""
    try:
        return (yield)
    finally:
        if not _is_browser_test(nextitem):
            runtime = item.config.stash.get(_RUNTIME, None)
            if runtime is not None:
                runtime.stop()


class PageLog:
    """What went wrong inside the page: uncaught script errors, console errors, failed or 4xx/5xx requests."""

    def __init__(self) -> None:
        self.entries: list[str] = []

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda exc: self.entries.append(f"page error: {exc}"))
        page.on("console", lambda msg: msg.type == "error" and self.entries.append(f"console error: {msg.text}"))
        page.on("requestfailed", lambda req: self.entries.append(
            f"request failed: {req.method} {req.url} ({req.failure})"))
        page.on("response", lambda resp: resp.status >= 400 and self.entries.append(
            f"HTTP {resp.status}: {resp.request.method} {resp.url}"))


def _context_pages(request: pytest.FixtureRequest) -> list[tuple[Page, PageLog]]:
    pages = getattr(request.node, "_cpms_pages", None)
    if pages is None:
        pages = request.node._cpms_pages = []
    return pages


@pytest.fixture
def new_page(browser: Browser, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Page]]:
    """Opens a page in a fresh browser context (a separate user: no cookies shared), closed after the test."""
    contexts = []
    request.node._cpms_artifacts_dir = tmp_path

    def open_page() -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True,
                                      locale="en-US", timezone_id="UTC")
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        log = PageLog()
        log.attach(page)
        page.cpms_log = log  # read by tests.browser.pages.assert_page_healthy
        _context_pages(request).append((page, log))
        return page

    yield open_page
    for context in contexts:
        try:
            context.close()
        except PlaywrightError:
            pass


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()


@pytest.fixture
def audit(request: pytest.FixtureRequest) -> Iterator[Callable[[str], Audit]]:
    """`audit("officer")`: the journey's Audit (tests/browser/audit.py), screenshots in var/screenshots/officer/.
    A journey that passed but never called `assert_clean()` on an Audit that found problems fails here."""
    audits: list[Audit] = []

    def start(journey: str) -> Audit:
        audits.append(Audit(journey))
        return audits[-1]

    yield start
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.passed:
        for journey_audit in audits:
            if not journey_audit.reported:
                journey_audit.assert_clean()


def _save_artifacts(item: pytest.Item) -> list[str]:
    directory: Path | None = getattr(item, "_cpms_artifacts_dir", None)
    pages = getattr(item, "_cpms_pages", [])
    if directory is None or not pages:
        return []
    lines = []
    for index, (page, log) in enumerate(pages, start=1):
        stem = directory / f"page{index}"
        try:
            if page.is_closed():
                lines.append(f"page {index}: closed before the failure")
                continue
            url = page.url
            page.screenshot(path=str(stem.with_suffix(".png")), full_page=True, timeout=5_000)
            stem.with_suffix(".html").write_text(page.content())
            lines.append(f"page {index} at {url}:\n  screenshot {stem.with_suffix('.png')}\n  html       "
                         f"{stem.with_suffix('.html')}")
        except Exception as exc:  # noqa: BLE001 - a broken page must not hide the test's own failure
            lines.append(f"page {index}: could not be saved ({exc})")
        if log.entries:
            lines.append("  in the page: " + "\n  in the page: ".join(log.entries[-20:]))
    others = sorted(p.name for p in directory.iterdir() if p.suffix in (".log",))
    if others:
        lines.append(f"logs in {directory}: {', '.join(others)}")
    return lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    if report.failed and report.when in ("setup", "call"):
        lines = _save_artifacts(item)
        if lines:
            note = "Browser state at the failure (tests/browser/conftest.py):\n" + "\n".join(lines)
            longrepr = report.longrepr
            if hasattr(longrepr, "addsection"):
                longrepr.addsection("browser state at the failure", note)
            elif isinstance(longrepr, str):
                report.longrepr = f"{longrepr}\n\n{note}"
            else:
                report.sections.append(("browser state at the failure", note))
    return report
