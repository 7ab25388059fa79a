"""One place for the real-browser tests: Debian's Chromium via Playwright, launched the same way
everywhere, and the rule that CI (UEC_REQUIRE_BROWSER=1) fails rather than skips without it.

Browser test modules set `pytestmark = needs_browser` and use the `browser` fixture (tests/conftest.py)
and `open_page` for a context that refuses anything from outside the app and records script errors."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"]
SCREENSHOTS = Path(os.environ.get("UEC_SCREENSHOT_DIR", "/tmp"))
REQUIRED = os.environ.get("UEC_REQUIRE_BROWSER") == "1"


def why_not() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} not found (apt-get install chromium); the browser tests need Debian's Chromium"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed in this environment"
    return None


WHY = why_not()
if WHY and REQUIRED:  # at import: every browser module's collection fails, so CI cannot go green without them
    raise RuntimeError(WHY + " (UEC_REQUIRE_BROWSER=1 requires the browser tests)")
needs_browser = pytest.mark.skipif(WHY is not None, reason=WHY or "")


def launch(playwright, **kw):
    """Chromium as every browser test runs it."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **kw)


def open_page(browser, server: str, *, locale: str = "en-GB", timezone_id: str = "Europe/London",
              console_filter: Callable[[str], bool] = lambda text: True):
    """(context, page) for `server`: anything from elsewhere is aborted and listed in `page.external`;
    page errors and console errors (those `console_filter` keeps) are listed in `page.js_errors`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale, timezone_id=timezone_id)
    pg = context.new_page()
    external: list[str] = []
    errors: list[str] = []

    def check(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:  # no network: nothing may load from the internet
            external.append(route.request.url)
            route.abort()
    pg.route("**/*", check)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and console_filter(msg.text)
          else None)
    pg.external, pg.js_errors = external, errors
    return context, pg
