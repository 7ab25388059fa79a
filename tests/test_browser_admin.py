"""A commissioner, in a real browser, signs in, edits a UTC's opening hours, and routing follows."""
from __future__ import annotations

import time

import pytest

from accounts import Accounts
from directory.store import Store
from tests.conftest import make_app, serve
from tests.browser_support import launch, needs_browser

pytestmark = needs_browser

ROUTE = {"disposition": "UTC_4H", "location": {"postcode": "LA9 7RG"}, "age": 30, "sex": "female",
         "at": "2026-11-25T14:00:00+00:00"}  # a Wednesday afternoon in Kendal


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    var = tmp_path_factory.mktemp("browser-admin")
    store = Store(f"sqlite:///{var / 'directory.sqlite'}")
    accounts = Accounts(store.engine)
    accounts.migrate()
    store.initialise()
    accounts.create_user("commissioner1", "a long enough password", "commissioner", areas=["South Cumbria"])
    with serve(make_app(var)) as url:
        yield url


def _first_utc(page, server) -> tuple[str, dict]:
    data = page.request.post(f"{server}/api/v1/route", data=ROUTE).json()
    return data["services"][0]["id"], data


def test_commissioner_edits_opening_hours_and_the_next_answer_reflects_it(server):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(locale="en-GB", timezone_id="Europe/London").new_page()
        assert _first_utc(page, server)[0] == "wgh-utc"

        page.goto(f"{server}/admin/login")
        page.fill("#username", "commissioner1")
        page.fill("#password", "a long enough password")
        page.click("button[type=submit]")
        page.goto(f"{server}/admin/services/wgh-utc/edit")
        assert "Westmorland General" in page.content()
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            page.fill(f"#opening_{day}", "18:00-23:00")  # evenings only from now on
        page.click("button[value=save]")
        page.wait_for_load_state()
        assert "18:00" in page.content()

        deadline = time.time() + 5
        while True:
            first, excluded = _first_utc(page, server)
            if first != "wgh-utc" or time.time() > deadline:
                break
            time.sleep(0.3)
        assert first != "wgh-utc"
        # now closed at 14:00: offered only as opening at 18:00 (within the 4-hour timeframe), after open options
        wgh = next((s for s in excluded["services"] if s["id"] == "wgh-utc"), None)
        if wgh is not None:
            assert wgh["open_now"] is False and wgh["opens_at"].startswith("2026-11-25T18:00")
        else:  # fits only as opening later, and nearer open UTCs fill the two places for its type
            assert next(e for e in excluded["excluded"] if e["id"] == "wgh-utc")["rule"] in (
                "per_type_limit", "result_limit", "closed")
        page.goto(f"{server}/admin/services/wgh-utc")
        assert "commissioner1" in page.content()  # the change is in the service's audit history
        browser.close()


def test_error_summary_takes_focus_and_links_each_field_by_its_label(server):
    """NHS error summary: shown at the top, focused on load, a link per problem with the field's label."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(locale="en-GB", timezone_id="Europe/London").new_page()
        page.goto(f"{server}/admin/login")
        page.fill("#username", "commissioner1")
        page.fill("#password", "a long enough password")
        page.click("button[type=submit]")
        page.goto(f"{server}/admin/services/wgh-utc/edit")
        page.fill("#age_min", "nan")
        page.fill("#opening_tue", "8am-8pm")
        page.click("button[value=save]")
        page.wait_for_load_state()
        page.locator(".nhsuk-error-summary:focus").wait_for(timeout=5000)
        links = page.eval_on_selector_all(".nhsuk-error-summary__list a", "els => els.map(e => [e.getAttribute('href'), e.textContent])")
        assert ("#age_min", ) == tuple(h for h, _ in links if h == "#age_min")
        texts = " ".join(t for _, t in links)
        assert "Youngest age" in texts and "Tuesday opening times" in texts and "age_min" not in texts
        page.click(".nhsuk-error-summary__list a[href='#opening_tue']")
        assert page.evaluate("document.activeElement.id") == "opening_tue"
        browser.close()
