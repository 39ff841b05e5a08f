"""Browser fixtures: Playwright driving Debian's Chromium (/usr/bin/chromium).

Playwright's own browser download cannot work here, so the suite launches the system
Chromium; without it the browser tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.accessibility import Auditor

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-results"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


class AuditedBrowser:
    """The Chromium browser, whose every new context has its pages checked by axe-core."""

    def __init__(self, browser: Any, auditor: Auditor) -> None:
        self._browser = browser
        self.auditor = auditor

    def new_context(self, **kwargs: Any) -> Any:
        context = self._browser.new_context(**kwargs)
        self.auditor.attach(context)
        return context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between page actions are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser(chromium: Any) -> Iterator[AuditedBrowser]:
    """Each test's browser: a serious or critical accessibility violation on any page the
    test reached fails it, with axe's description of each."""
    audited = AuditedBrowser(chromium, Auditor())
    yield audited
    problems = audited.auditor.problems
    assert not problems, "\n\n".join(dict.fromkeys(problems))


def watch(page: Any, who: str, errors: list[str]) -> Any:
    """Collect in ``errors`` what a user would see go wrong in ``page``: errors thrown by
    its scripts, console errors, and any asset or request that fails to load (a missing
    static file, a broken link). Documents are left out: a test may ask for a 404 page."""
    page.set_default_timeout(10_000)
    prefix = f"{who}: " if who else ""
    page.on("pageerror", lambda exc: errors.append(f"{prefix}{exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"{prefix}{msg.text}") if msg.type == "error" else None,
    )

    def failed_response(response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            errors.append(f"{prefix}{response.status} {response.url}")

    page.on("response", failed_response)
    return page


@pytest.fixture
def page(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    errors: list[str] = []
    page = watch(context.new_page(), "", errors)
    yield page
    context.close()
    assert not errors, f"the page reported errors: {errors}"


DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def screenshot(page: Any, name: str, *, docs: bool = False) -> None:
    """Save the page to test-results/<name>.png (the whole page). With ``docs=True`` and
    ``CBPORTAL_DOCS_SCREENSHOTS=1`` (``make screenshots``), also save what the window shows
    to docs/screenshots/<name>.png, the pictures the README shows."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    if docs and os.environ.get("CBPORTAL_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), animations="disabled")
