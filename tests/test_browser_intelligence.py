"""Chromium drives the intelligence dashboard, the coverage map and a what-if; nothing loads from the internet."""
from __future__ import annotations

from datetime import date

import pytest

from tests.browser_support import SCREENSHOTS, needs_browser, open_page
from tests.conftest import make_app, serve

pytestmark = needs_browser
PASSWORD = "intelligence-pass-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("intel-browser"))
    care = app.extensions["uec"]
    care.accounts.create_user("comm", PASSWORD, "commissioner", areas=["Lancashire"])
    from uec.intelligence import volume
    volume.write(care.store.engine, volume.rows(care, count=2000, end=date.today(), days=28, per_district=1))
    with serve(app) as url:
        yield url


@pytest.fixture
def page(browser, server):
    context, pg = open_page(browser, server)
    external = pg.external
    pg.goto(server + "/admin/login")
    pg.fill("#username", "comm")
    pg.fill("#password", PASSWORD)
    with pg.expect_navigation():
        pg.keyboard.press("Enter")
    assert "/admin/login" not in pg.url, pg.content()[:500]
    yield pg
    assert external == []
    context.close()


def test_dashboard_filters_and_charts(page, server):
    page.goto(server + "/admin/intelligence")
    assert page.locator("#figure-places img").evaluate("i => i.complete && i.naturalWidth > 0")
    total = int(page.locator('#figure-places [data-total="calls"]').inner_text())
    assert total == 2000
    page.select_option("#place", "Blackpool")
    with page.expect_navigation(timeout=60_000):
        page.click("#apply-filters")
    assert "place=Blackpool" in page.url
    assert 0 < int(page.locator('#figure-places [data-total="calls"]').inner_text()) < total
    page.locator("#figure-places").screenshot(path=str(SCREENSHOTS / "intelligence-dashboard.png"))


def test_coverage_map_shows_lsoas_by_minutes(page, server):
    page.goto(server + "/admin/intelligence/map")
    page.select_option("#type", "falls_lifting")
    page.select_option("#day", "sat")
    page.fill("#time", "03:00")
    with page.expect_navigation(timeout=60_000):
        page.click("#show-map")
    assert page.locator("#coverage-map svg path[data-lsoa]").count() == 1049
    assert page.locator("#coverage-table tbody tr").count() == 5
    page.locator("#coverage-map").screenshot(path=str(SCREENSHOTS / "intelligence-map.png"))


def test_whatif_close_and_save(page, server):
    page.goto(server + "/admin/intelligence/whatif")
    page.select_option("#action", "close")
    page.select_option("#service", "rph-utc")
    page.fill("#weeks", "4")
    page.fill("#name", "Close Preston UTC (browser)")
    with page.expect_navigation(timeout=60_000):
        page.click("#run-whatif")
    assert page.locator("#whatif-result .whatif-access tbody tr").count() >= 10
    assert page.locator("#whatif-replay").is_visible()
    assert "Close Preston UTC (browser)" in page.locator("#saved-whatifs").inner_text()
    page.locator("#whatif-result").screenshot(path=str(SCREENSHOTS / "intelligence-whatif.png"))
