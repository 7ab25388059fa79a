"""Call-handler journeys in real Chromium, keyboard first, with axe-core run over every kind of page
(failing on any serious or critical violation), the offline map, the printed summary and the admin pages."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import make_app, serve
from tests.browser_support import REQUIRED, SCREENSHOTS, needs_browser, open_page
from tests.test_outcome_sweep import place_postcodes

pytestmark = needs_browser

AXE = Path(__file__).resolve().parents[1] / ".cache" / "npm" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        why = f"{AXE} not found: run scripts/test-deps.sh (installs axe-core from npm)"
        if REQUIRED:
            pytest.fail(why)
        pytest.skip(why)
    return AXE.read_text()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("journeys"))
    accounts = app.extensions["uec"].accounts
    accounts.create_user("admin1", PASSWORD, "administrator")
    with serve(app) as url:
        yield url


@pytest.fixture
def page(browser, server, axe_source):
    # en-US on purpose: the date must still be read day first; a form answered 400 (errors to correct)
    # is a page, not a script error; anything else counts
    context, pg = open_page(browser, server, locale="en-US", timezone_id="America/New_York",
                            console_filter=lambda text: "status of 400" not in text)
    external, errors = pg.external, pg.js_errors
    pg.axe_source = axe_source
    yield pg
    assert external == [], f"loaded from outside: {external}"
    assert errors == [], f"JavaScript errors: {errors}"
    context.close()


def axe(page, name: str) -> None:
    """Run axe-core on the page as it stands; fail on any serious or critical violation."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluated through the DevTools protocol: the pages' Content-Security-Policy (script-src 'self')
        # rightly refuses an injected inline script, and must stay on for everything else
        page.evaluate(page.axe_source)
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    assert not found, f"axe on {name}: " + json.dumps(found, indent=1)


def question_id(page) -> str | None:
    field = page.locator("#question-form input[name=question]")
    return field.get_attribute("value") if field.count() else None


def start_call(page, server, *, age: str, sex: str, location: str, complaint: str, date: str = "", time: str = "",
               check_axe: bool = True) -> None:
    page.goto(server + "/")
    page.wait_for_load_state("load")
    if check_axe:
        axe(page, "start page")
    page.fill("#age", age)
    page.check(f"input[name=sex][value={sex}]")
    page.fill("#location", location)
    page.fill("#complaint", complaint)
    if date:
        page.fill("#at_date", date)
        page.fill("#at_time", time)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def answer_all(page, answers: dict[str, str], *, limit: int = 40) -> list[str]:
    """Answer with the keyboard: Y, N or U for radios (U, not sure, by default for choices), Enter to go on."""
    asked: list[str] = []
    for _ in range(limit):
        page.wait_for_load_state("load")
        qid = question_id(page)
        if qid is None:
            return asked
        assert qid not in asked, f"{qid} asked twice"
        if not asked:
            axe(page, f"question {qid}")
        asked.append(qid)
        kind = page.locator("#question-form").get_attribute("data-question-type")
        want = answers.get(qid, "n" if kind == "yes_no" else "u")
        if kind == "number":
            if want == "u":
                page.check("#answer_unknown")
            else:
                page.fill("#answer", want)
        else:
            page.keyboard.press(want)
            assert page.locator("#question-form input[name=answer]:checked").count() == 1, qid
        with page.expect_navigation():
            page.keyboard.press("Enter")
    raise AssertionError(f"no outcome after {limit} questions: {asked}")


def outcome_checks(page, name: str) -> None:
    page.wait_for_selector("#disposition")
    if page.locator("#options-map").count():
        page.locator("#options-map[data-ready=true]").wait_for()  # a selector: polling a JS string is eval, which the CSP refuses
        assert page.locator("#options-map").get_attribute("data-boundaries-loaded") == "16"
    axe(page, f"outcome ({name})")
    page.screenshot(path=str(SCREENSHOTS / f"uec-journey-{name}.png"), full_page=True)


# -- journeys --------------------------------------------------------------------------------------
def test_fall_at_home_gets_the_lifting_team_a_map_and_a_printable_summary(page, server):
    pc = place_postcodes()["Lancashire"]
    start_call(page, server, age="82", sex="female", location=pc, complaint="fell over at home cant get up")
    answer_all(page, {"fall_on_floor": "y"})
    outcome_checks(page, "fall")
    assert "Falls lifting service" in page.locator("#disposition").inner_text()
    row = page.locator("#services tbody tr").first
    assert "Referral only" in row.inner_text() and "team comes to the patient" in row.inner_text()

    # The map: caller, each option and its road route drawn over the boundaries, with no network.
    n_options = page.locator("#services tbody tr").count()
    markers = page.locator("#options-map .leaflet-marker-icon")
    assert markers.count() == n_options + 1
    assert page.locator("#options-map path.leaflet-interactive, #options-map svg path").count() >= 16
    # Keyboard: Tab reaches a numbered option; Enter opens its name and travel time.
    option = page.locator("#options-map .uec-map__pin--option").first
    option.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#options-map .leaflet-popup-content")
    assert re.search(r"1\. .+\d+ min by road", page.locator("#options-map .leaflet-popup-content").inner_text(), re.S)

    # Choose the first option for the summary; the printed page is the summary alone.
    page.locator("#services input[name=chosen_service]").first.check()
    first_name = page.locator("#services .uec-service__name").first.inner_text()
    assert first_name in page.locator("#summary-chosen").inner_text()
    page.emulate_media(media="print")
    assert page.locator("#summary-text").is_visible()
    visibility = page.evaluate("getComputedStyle(document.querySelector('#services')).visibility")
    assert visibility == "hidden"
    page.emulate_media(media="screen")
    summary = page.locator("#summary-text").inner_text()
    assert re.search(r"Case reference: LSC-\d{6}-\d{4}-[0-9A-F]{4}", summary)
    assert "Disposition: FALLS_LIFT" in summary and "Is the person still on the floor" in summary


def test_chest_pain_puts_the_999_transfer_first(page, server):
    start_call(page, server, age="60", sex="male", location=place_postcodes()["Blackburn with Darwen"],
               complaint="chest pain")
    answer_all(page, {"cp_cardiac_features": "y"})
    outcome_checks(page, "chest-pain")
    h1 = page.locator("h1").first.inner_text()
    assert "Transfer to 999 now" in h1
    assert "Category 2" in page.locator("#ambulance-category").inner_text()
    assert page.locator("#tell-caller li").count() >= 4


def test_mental_health_crisis_renders_with_phone_services(page, server):
    start_call(page, server, age="30", sex="female", location=place_postcodes()["Blackpool"],
               complaint="feeling suicidal")
    answer_all(page, {"mh_plan_means": "y"})
    outcome_checks(page, "mental-health")
    assert "Mental Health" in page.locator("#disposition").inner_text()
    assert page.locator("#services tbody tr").count() >= 1
    assert "Something went wrong" not in page.content()


def test_feverish_child_at_night_uses_the_time_entered_day_first(page, server):
    start_call(page, server, age="3", sex="male", location=place_postcodes()["South Cumbria"],
               complaint="hot and feverish", date="09/12/2026", time="02:30")
    answer_all(page, {})
    outcome_checks(page, "feverish-child-night")
    used = page.locator("#time-used").inner_text()
    assert "Wed 9 Dec 2026, 02:30" in used and "as entered" in used


def test_sore_throat(page, server):
    start_call(page, server, age="25", sex="female", location="LA1 1RP", complaint="sore throat")
    answer_all(page, {})
    outcome_checks(page, "sore-throat")
    assert page.locator("#safety-netting").count() == 1


def test_misspelt_complaint_is_offered_as_tick_boxes(page, server):
    start_call(page, server, age="60", sex="male", location="PR2 9HT", complaint="cheast pian")
    boxes = page.locator("input[name=complaint_choice]")
    assert boxes.count() >= 2
    assert page.locator("input[name=complaint_choice]:checked").count() == 0  # nothing preselected
    axe(page, "start page with a complaint tie")
    page.check("input[name=complaint_choice][value=chest_pain]")
    with page.expect_navigation():
        page.click("#continue")
    assert question_id(page)
    assert "Chest pain" in page.locator(".nhsuk-caption-l").inner_text()


def test_unknown_postcode_is_an_error_with_a_link_then_corrected(page, server):
    start_call(page, server, age="45", sex="female", location="ZZ9 9ZZ", complaint="sore throat")
    summary = page.locator(".nhsuk-error-summary")
    assert summary.count() == 1 and page.locator(".nhsuk-error-summary a[href='#location']").count() == 1
    assert page.evaluate("document.activeElement.closest('.nhsuk-error-summary') !== null")
    axe(page, "start page with errors")
    page.fill("#location", "Preston")
    with page.expect_navigation():
        page.click("#continue")
    assert question_id(page)


def test_place_name_is_located_approximately_and_says_so(page, server):
    start_call(page, server, age="50", sex="male", location="Kendal", complaint="sore throat", check_axe=False)
    answer_all(page, {})
    outcome_checks(page, "place-name")
    assert "Approximate location" in page.locator("#precision-note").inner_text()


def test_back_key_keeps_the_previous_answer_selected(page, server):
    start_call(page, server, age="70", sex="female", location="Lancaster", complaint="fall", check_axe=False)
    page.wait_for_load_state("load")
    first = question_id(page)
    page.keyboard.press("n")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    with page.expect_navigation():
        page.keyboard.press("Alt+b")
    assert question_id(page) == first
    assert page.locator("#question-form input[name=answer]:checked").get_attribute("value") == "no"


# -- other pages -----------------------------------------------------------------------------------
def test_error_page_is_an_nhs_page_and_accessible(page, server):
    resp = page.goto(server + "/no-such-page")
    assert resp.status == 404 and page.locator("h1").inner_text() == "Page not found"
    page.js_errors[:] = [e for e in page.js_errors if "status of 404" not in e]  # the page itself, as intended
    axe(page, "404 page")


def test_admin_pages_are_accessible_and_the_capacity_page_fits_a_phone(page, server):
    page.goto(server + "/admin/login")
    axe(page, "admin sign-in")
    page.fill("#username", "admin1")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    for path in ("/admin/", "/admin/services/rph-ed", "/admin/capacity"):
        page.goto(server + path)
        page.wait_for_load_state("load")
        if path.startswith("/admin/services/"):
            page.locator("#service-map[data-ready=true]").wait_for()
        axe(page, path)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server + "/admin/capacity")
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the capacity page is {width} px wide at 390 px"
    page.screenshot(path=str(SCREENSHOTS / "uec-capacity-390.png"), full_page=True)
