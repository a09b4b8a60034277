"""Browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium) against pytest-django's live server.

Never downloads a browser: without /usr/bin/chromium or the playwright package the tests are
skipped, unless REQUIRE_SERVICES=1 (CI), where they fail instead. Screenshots of every step go
to var/screenshots/ (CI artifacts).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "pw-Secret-123"  # tests.factories.staff's password


def services_required() -> bool:
    """As in tests/conftest.py: CI sets REQUIRE_SERVICES=1, and then nothing is skipped."""
    return os.environ.get("REQUIRE_SERVICES", "") == "1"


def browser_missing() -> list[str]:
    missing = []
    if not os.path.exists(CHROMIUM):
        missing.append(f"{CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -r requirements.txt)")
    return missing


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    browser_items = [item for item in items if item.get_closest_marker("browser")]
    if not browser_items:
        return
    # Late in the run, like the worker tests: a live-server test flushes the tables when it ends
    # (its own data comes back through serialized_rollback, a later test's would not).
    items[:] = [item for item in items if not item.get_closest_marker("browser")] + browser_items
    missing = browser_missing()
    if missing and not services_required():
        skip = pytest.mark.skip(reason=f"needs {', '.join(missing)}")
        for item in browser_items:
            item.add_marker(skip)


@pytest.fixture
def chromium(live_server, monkeypatch):
    """chromium(viewport): a new page, in a context of its own (Chinese, Beijing time), of one Chromium
    for the whole test, pointed at the live server; the browser and its contexts closed afterwards."""
    missing = browser_missing()
    if missing:
        pytest.fail(f"REQUIRE_SERVICES=1 but the browser is missing: {', '.join(missing)}", pytrace=False)
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

        def new_page(viewport: dict):
            context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport=viewport)
            page = context.new_page()
            page.set_default_timeout(20_000)
            return page

        try:
            yield new_page
        finally:
            browser.close()
            # With Playwright's loop running, Django keeps this test's connections per context, not per
            # thread: closed here, where they are visible, or the session outlives the test database.
            from django.db import connections

            connections.close_all()


@pytest.fixture
def page(chromium):
    """A Chromium page in Chinese (zh-CN), on a laptop-sized window, pointed at the live server."""
    return chromium({"width": 1280, "height": 860})


@pytest.fixture
def shot(page):
    """shot("flow1-02-list"): a screenshot of the current step into var/screenshots/ (the whole page
    unless full_page=False: the window as staff see it)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
