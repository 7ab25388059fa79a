"""The call flow through the Flask test client: UK date and time, answers kept on edit and Back,
the call timer, and complaint ties offered without a preselected answer."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from tests.conftest import make_app
from tests.test_web_handler import answer_all, forms, question_id, start, submit, text


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("flow"))
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def trail_of(page: str) -> list[dict]:
    return json.loads(unescape(re.search(r'name="answers" value="([^"]*)"', page).group(1)))


def test_uk_date_and_24_hour_time_are_read_day_first_and_shown_on_every_page(client):
    resp = start(client, at_date="06/12/2026", at_time="14:30")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and question_id(page)
    used = text(page.split('id="time-used"', 1)[1].split("</dd>", 1)[0])
    assert "Sun 6 Dec 2026, 14:30" in used and "as entered" in used  # 6 December, not 12 June
    resp, _ = answer_all(client, resp, {"fall_on_floor": "yes"})
    out = resp.get_data(as_text=True)
    assert "Sun 6 Dec 2026, 14:30" in text(out.split('id="time-used"', 1)[1].split("</dd>", 1)[0])


def test_empty_date_and_time_mean_now_and_say_so(client):
    page = start(client).get_data(as_text=True)
    assert "(now)" in text(page.split('id="time-used"', 1)[1].split("</dd>", 1)[0])
    assert 'id="time-used"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("date,time,field,message", [
    ("2026-12-06", "14:30", "at_date", "day/month/year"),
    ("31/02/2026", "10:00", "at_date", "not a real date"),
    ("06/12/2026", "2.30pm", "at_time", "24-hour"),
    ("06/12/2026", "25:00", "at_time", "24-hour"),
    ("06/12/2026", "", "at_time", "Enter the time"),
])
def test_bad_dates_and_times_name_their_field(client, date, time, field, message):
    resp = start(client, at_date=date, at_time=time)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert f'href="#{field}"' in page and message in text(page)
    assert f'value="{date}"' in page  # what was typed is kept to correct


def test_change_call_details_keeps_the_answers(client):
    page = start(client).get_data(as_text=True)
    page = submit(client, page, "question-form", "continue", answer="no").get_data(as_text=True)
    page = submit(client, page, "question-form", "continue", answer="no").get_data(as_text=True)
    third = question_id(page)
    edit = submit(client, page, "question-form", "edit").get_data(as_text=True)
    assert 'id="answers-kept"' in edit and "2 answers so far" in text(edit)
    back = submit(client, edit, "call-form", "continue", age="83").get_data(as_text=True)
    assert question_id(back) == third and len(trail_of(back)) == 2
    assert 'value="83"' in back


def test_a_changed_complaint_starts_its_own_questions(client):
    page = start(client).get_data(as_text=True)
    page = submit(client, page, "question-form", "continue", answer="no").get_data(as_text=True)
    edit = submit(client, page, "question-form", "edit").get_data(as_text=True)
    resp = submit(client, edit, "call-form", "continue", complaint="chest pain", age="60")
    out = resp.get_data(as_text=True)
    assert resp.status_code == 200 and trail_of(out) == [] and "Chest pain" in out


def test_back_shows_the_previous_answer_selected(client):
    first = start(client).get_data(as_text=True)
    second = submit(client, first, "question-form", "continue", answer="no").get_data(as_text=True)
    back = submit(client, second, "question-form", "back").get_data(as_text=True)
    assert question_id(back) == question_id(first)
    checked = dict(next(f for f in forms(back) if f["id"] == "question-form")["fields"])
    assert checked.get("answer") == "no"


def test_the_call_timer_runs_from_the_start_of_the_call(client):
    start_page = client.get("/").get_data(as_text=True)
    started = re.search(r'id="call-timer" data-started="(\d+)"', start_page).group(1)
    page = submit(client, start_page, "call-form", "continue", age="82", sex="female", location="PR1 8XJ",
                  complaint="fell over cant get up").get_data(as_text=True)
    assert f'data-started="{started}"' in page and re.search(r'role="timer">\d+:\d\d<', page)


def test_a_complaint_tie_is_offered_as_tick_boxes_with_nothing_preselected(client):
    resp = start(client, complaint="toothache swollen face", age="40")
    page = resp.get_data(as_text=True)
    form = next(f for f in forms(page) if f["id"] == "call-form")
    assert "complaint_choice" in form["checkboxes"], "expected a tie between complaints"
    assert "complaint_choice" not in dict(form["fields"])  # nothing ticked
    assert "Nothing is ticked for you" in text(page)
    resp = submit(client, page, "call-form", "continue")  # Enter without choosing: asked again, not accepted
    again = resp.get_data(as_text=True)
    assert resp.status_code == 400 and question_id(again) is None
    assert "complaint_choice" in next(f for f in forms(again) if f["id"] == "call-form")["checkboxes"]


def test_every_ticked_complaint_is_triaged(client):
    page = start(client, complaint="pain", age="60").get_data(as_text=True)
    choices = next(f for f in forms(page) if f["id"] == "call-form")["checkboxes"]["complaint_choice"]
    two = ["chest_pain", next(c for c in choices if c != "chest_pain")]
    resp = submit(client, page, "call-form", "continue", complaint_choice=two)
    out = resp.get_data(as_text=True)
    assert resp.status_code == 200 and question_id(out)
    assert re.search(r'name="complaint_id" value="chest_pain,%s"' % two[1], out)
    caption = text(out.split('nhsuk-caption-l">', 1)[1].split("</span>", 1)[0])
    assert "Chest pain" in caption and " and " in caption
    resp, asked = answer_all(client, resp, {})
    assert resp.status_code == 200 and "Disposition" in text(resp.get_data(as_text=True))


def test_not_sure_is_a_third_answer_with_the_u_key_and_what_it_means(client):
    page = start(client).get_data(as_text=True)
    form = next(f for f in forms(page) if f["id"] == "question-form")
    assert form["radios"]["answer"] == ["yes", "no", "unknown"]
    assert 'data-key="u"' in page and "<kbd>U</kbd> not sure" in page
    assert re.search(r"Press U\. Treated as (yes|no)", text(page))
    # "not sure" whether the person is breathing is treated as the cautious branch, and says so
    resp = submit(client, page, "question-form", "continue", answer="unknown")
    resp, _ = answer_all(client, resp, {})
    out = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Not sure" in text(out.split('id="trail"', 1)[1].split("</ol>", 1)[0])
    reasons = text(out.split('id="reasons"', 1)[1].split("</ul>", 1)[0])
    summary = text(out.split('id="summary-text"', 1)[1].split("</pre>", 1)[0])
    if 'from a "not sure" answer' in reasons:
        assert '[from a "not sure" answer]' in summary
    assert "Not sure" in summary
    # Back from the outcome asks the last question again with "not sure" selected
    while question_id(out) is None or trail_of(out):
        out = submit(client, out, None if question_id(out) is None else "question-form",
                     "back-link" if question_id(out) is None else "back").get_data(as_text=True)
        if question_id(out) == question_id(page):
            break
    assert question_id(out) == question_id(page)
    assert dict(next(f for f in forms(out) if f["id"] == "question-form")["fields"]).get("answer") == "unknown"
