"""A real browser (Debian's Chromium via Playwright) drives the call-handler pages with the keyboard."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser_support import SCREENSHOTS, needs_browser, open_page
from tests.conftest import make_app, serve

pytestmark = needs_browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app served by werkzeug on 127.0.0.1 on a free port, in a thread."""
    with serve(make_app(tmp_path_factory.mktemp("browser"))) as url:
        yield url


@pytest.fixture
def page(browser, server):
    context, pg = open_page(browser, server)
    yield pg
    context.close()


def _question_id(page) -> str | None:
    field = page.locator("#question-form input[name=question]")
    return field.get_attribute("value") if field.count() else None


def test_fall_journey_with_the_keyboard_only(page, server):
    page.goto(server + "/")
    assert page.title().startswith("New call")
    # Step 1: the call details, typed; the age field has focus on arrival.
    assert page.evaluate("document.activeElement.id") == "age"
    page.keyboard.type("82")
    page.keyboard.press("Tab")  # months
    page.keyboard.press("Tab")  # sex radios
    page.keyboard.press("Space")  # female (the first radio)
    page.locator("#location").focus()
    page.keyboard.type("PR1 8XJ")
    page.keyboard.press("Tab")
    page.keyboard.type("fell over cant get up")
    page.keyboard.press("Enter")
    page.wait_for_selector("#question-form")

    # Step 2: questions one at a time, Y/N keys then Enter.
    asked = []
    for _ in range(30):
        page.wait_for_load_state("load")  # the keyboard handler (a module script) is attached by then
        qid = _question_id(page)
        if qid is None:
            break
        assert qid not in asked, f"{qid} asked twice"
        asked.append(qid)
        if len(asked) == 3:
            page.screenshot(path=str(SCREENSHOTS / "uec-question.png"), full_page=True)
        key = "y" if qid == "fall_on_floor" else "n"
        page.keyboard.press(key)
        checked = page.locator("#question-form input[name=answer]:checked")
        assert checked.get_attribute("value") == ("yes" if key == "y" else "no")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    assert "fall_on_floor" in asked and len(asked) >= 8

    # Step 3: the outcome with services by road.
    page.wait_for_selector("#disposition")
    disposition = page.locator("#disposition").inner_text()
    assert "Falls lifting service" in disposition
    first = page.locator("#services tbody tr").first
    assert "Progress Lifeline" in first.inner_text()
    assert re.search(r"\d+ min", page.locator("#services .uec-travel").first.inner_text())
    assert page.locator("#trail li").count() == len(asked)
    page.screenshot(path=str(SCREENSHOTS / "uec-outcome.png"), full_page=True)
    assert page.external == [], page.external
    assert page.js_errors == [], page.js_errors


def test_back_key_undoes_the_last_answer(page, server):
    page.goto(server + "/")
    page.fill("#age", "70")
    page.check("#sex-2")
    page.fill("#location", "Lancaster")
    page.fill("#complaint", "fall")
    page.keyboard.press("Enter")
    page.wait_for_selector("#question-form")
    page.wait_for_load_state("load")  # the keyboard handler (a module script) is attached by then
    first = _question_id(page)
    page.keyboard.press("n")
    page.wait_for_selector("input[type=radio]:checked")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert _question_id(page) != first
    with page.expect_navigation():
        page.keyboard.press("Alt+b")
    assert _question_id(page) == first
    assert page.js_errors == [], page.js_errors


def test_error_summary_and_candidates_in_the_browser(page, server):
    page.goto(server + "/")
    page.fill("#location", "PR1 8XJ")
    page.fill("#complaint", "pain")
    page.keyboard.press("Enter")
    page.wait_for_selector(".nhsuk-error-summary")
    summary = page.locator(".nhsuk-error-summary").inner_text()
    assert "age" in summary.lower() and "female, male or not known" in summary
    # the NHS error summary script moves focus to the summary so a screen reader reads it first
    page.locator(".nhsuk-error-summary:focus").wait_for(timeout=5000)  # a selector: a JS string is eval, refused by the CSP
    page.screenshot(path=str(SCREENSHOTS / "uec-errors.png"), full_page=True)
    page.fill("#age", "55")
    page.check("#sex")
    page.keyboard.press("Enter")
    page.wait_for_selector("input[name=complaint_choice]")
    assert page.locator("input[name=complaint_choice]").count() >= 2
    page.check("input[name=complaint_choice][value=chest_pain]")
    page.click("#continue")
    page.wait_for_selector("#question-form")
    assert "Chest pain" in page.locator(".nhsuk-caption-l").inner_text()
    assert page.external == [], page.external
