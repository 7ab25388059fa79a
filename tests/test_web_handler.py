"""The call-handler pages through the Flask test client: form, one question at a time, outcome."""
from __future__ import annotations

import json
import re
from html import unescape
from html.parser import HTMLParser

import pytest

from tests.conftest import make_app

@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("handler"))
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()




class _Forms(HTMLParser):
    """Every form on a page: its fields (hidden, text, checked radios) and submit buttons."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"id": a.get("id"), "fields": [], "buttons": [], "radios": {}, "checkboxes": {}}
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind == "radio":
                self._form["radios"].setdefault(a["name"], []).append(a.get("value"))
                if "checked" in a:
                    self._form["fields"].append((a["name"], a.get("value", "")))
            elif kind == "checkbox":
                self._form["checkboxes"].setdefault(a["name"], []).append(a.get("value", "on"))
                if "checked" in a:
                    self._form["fields"].append((a["name"], a.get("value", "on")))
            elif a.get("name"):
                self._form["fields"].append((a["name"], a.get("value", "")))
        elif tag == "button" and a.get("name"):
            self._form["buttons"].append((a["name"], a.get("value", ""), a.get("id")))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self._form["fields"].append((self._select, a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms(page: str) -> list[dict]:
    p = _Forms()
    p.feed(page)
    return p.forms


def submit(client, page: str, form_id: str, button: str, **values):
    """Submit a form of `page` as a browser would: its fields, overridden by `values`, and the button."""
    form = next(f for f in forms(page) if f["id"] == form_id)
    data: dict[str, str] = {}
    for name, value in form["fields"]:
        data[name] = value
    data.update({k: v if isinstance(v, list) else str(v) for k, v in values.items()})
    name, value, _ = next(b for b in form["buttons"] if b[2] == button)
    data[name] = value
    return client.post("/", data=data)


def text(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body)))


def question_id(page: str) -> str | None:
    m = re.search(r'name="question" value="([^"]+)"', page)
    return m.group(1) if m else None


def start(client, **values):
    page = client.get("/").get_data(as_text=True)
    fields = {"age": "82", "sex": "female", "location": "PR1 8XJ", "complaint": "fell over cant get up"}
    fields.update(values)
    return submit(client, page, "call-form", "continue", **fields)


def answer_all(client, resp, answers: dict[str, str], default: str = "no", limit: int = 40):
    """Answer each question as it comes, one page at a time; returns the final response and the ids asked."""
    asked = []
    for _ in range(limit):
        page = resp.get_data(as_text=True)
        qid = question_id(page)
        if qid is None:
            return resp, asked
        asked.append(qid)
        # a number the test does not give (a caller-reported observation) is answered "not measured"
        number = 'name="question_type" value="number"' in page
        resp = submit(client, page, "question-form", "continue",
                      answer=answers.get(qid, "unknown" if number else default))
        assert resp.status_code == 200, text(resp.get_data(as_text=True))[:500]
    raise AssertionError(f"no outcome after {limit} questions: {asked}")


# -- the start page -------------------------------------------------------------------------
def test_start_page_is_an_nhs_form_with_every_field(client):
    resp = client.get("/")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "nhsuk-frontend.min.css" in page and 'class="nhsuk-header' in page
    for field in ("age", "age_months", "sex", "location", "complaint", "respiratory_rate", "spo2", "spo2_scale",
                  "on_oxygen", "systolic_bp", "heart_rate", "consciousness", "temperature", "at_date", "at_time"):
        assert f'name="{field}"' in page, field
    assert '<datalist id="complaint-titles" data-src="/complaints/suggestions.json">' in page
    assert len(page) < 40_000  # the complaint suggestions are one cached file, not inline in every page
    assert re.search(r'id="age"[^>]*autofocus', page)
    assert "assets.nhs.uk" not in page


def test_vendored_assets_are_served_and_load_nothing_from_the_internet(client):
    css = client.get("/static/nhsuk/nhsuk-frontend.min.css")
    assert css.status_code == 200 and b"--nhsuk-frontend-version:\"10.6.1\"" in css.data
    assert b"https://" not in css.data
    for path in ("nhsuk/nhsuk-frontend.min.js", "nhsuk/LICENSE", "nhsuk/assets/images/favicon.svg",
                 "nhsuk/assets/images/nhsuk-icon-arrow-down.svg", "uec/handler.js", "uec/init.js", "uec/uec.css"):
        resp = client.get(f"/static/{path}")
        assert resp.status_code == 200, path
        resp.close()
    page = client.get("/").get_data(as_text=True)
    for ref in re.findall(r'(?:href|src)="([^"]+)"', page):
        assert not ref.startswith(("http://", "https://", "//")), ref
        if ref.startswith("/static/"):
            r = client.get(ref)
            assert r.status_code == 200, ref
            r.close()


# -- errors -----------------------------------------------------------------------------------
def test_empty_form_names_each_required_field_in_the_error_summary(client):
    page = client.get("/").get_data(as_text=True)
    resp = submit(client, page, "call-form", "continue")
    out = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "nhsuk-error-summary" in out and "There is a problem" in out
    summary = out.split('nhsuk-error-summary__list', 1)[1].split("</ul>", 1)[0]
    for href in ("#age", "#sex", "#complaint"):
        assert f'href="{href}"' in summary, href
    assert "Enter the patient's age" in text(out)
    assert "Select female, male or not known" in text(out)
    assert "Error: " in text(out).split("New call")[0] or "<title>Error:" in out


def test_bad_values_are_shown_against_their_fields_and_kept(client):
    resp = start(client, age="two hundred", location="PR1 8XJ", spo2="", complaint="fall")
    out = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert 'href="#age"' in out and "Age must be a number of years" in text(out)
    assert 'value="two hundred"' in out  # what was typed is kept to correct


def test_bad_vital_sign_names_the_vital_field(client):
    resp = start(client, spo2="150", heart_rate="fast")
    out = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert 'href="#spo2"' in out and 'href="#heart_rate"' in out
    assert "<details class=\"nhsuk-details\" open" in out  # the vitals section is opened to show the errors
    assert "nhsuk-input--error" in out or "nhsuk-form-group--error" in out


def test_misspelt_place_is_matched(client):
    resp = start(client, location="Prestonn")
    assert resp.status_code == 200 and question_id(resp.get_data(as_text=True))


def test_unknown_place_offers_did_you_mean_choices(client):
    resp = start(client, location="Newton")
    out = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert 'href="#location"' in out and "Did you mean" in text(out)
    choices = next(f for f in forms(out) if f["id"] == "call-form")["radios"]["location_choice"]
    assert "Bowland, Newton and Slaidburn" in choices  # a name with a comma stays whole
    summary = out.split("nhsuk-error-summary__list", 1)[1].split("</ul>", 1)[0]
    assert "Location &#39;Newton&#39; is not a place" in summary or "Location 'Newton' is not a place" in summary
    resp = submit(client, out, "call-form", "continue", location_choice="Newton and Treales")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and question_id(page)
    assert 'name="location" value="Newton and Treales"' in page


def test_missing_location_is_an_error_naming_the_field(client):
    resp = start(client, location="")
    out = resp.get_data(as_text=True)
    assert resp.status_code == 400  # asked for before the questions, so no answers are lost
    assert 'href="#location"' in out and "Enter where the patient is" in text(out)
    resp = start(client, location="", sex="")
    out = resp.get_data(as_text=True)
    assert 'href="#location"' in out and 'href="#sex"' in out  # every problem at once


def test_damaged_state_is_a_clear_error_not_a_500(client):
    page = start(client).get_data(as_text=True)
    resp = submit(client, page, "question-form", "continue", answer="no", answers="{not json")
    assert resp.status_code == 400
    assert "could not be read" in text(resp.get_data(as_text=True))
    resp = submit(client, page, "question-form", "continue", answer="no",
                  answers=json.dumps([{"q": "no_such_question", "a": "yes", "t": "?"}]))
    assert resp.status_code in (200, 400)
    token = dict(forms(page)[1]["fields"]).get("csrf_token", "")
    resp = client.post("/", data={"action": "answer", "question": "gen_not_breathing", "answer": "maybe",
                                  "age": "80", "sex": "female", "complaint": "fall", "location": "PR1 8XJ",
                                  "csrf_token": token})
    assert resp.status_code == 400
    out = resp.get_data(as_text=True)
    assert question_id(out) == "gen_not_breathing" and "Answer must be yes, no or unknown" in text(out)


# -- the question flow ------------------------------------------------------------------------
def test_questions_come_one_at_a_time_with_the_trail(client):
    resp = start(client)
    out = resp.get_data(as_text=True)
    assert resp.status_code == 200
    first = question_id(out)
    assert first and out.count('name="question"') == 1
    assert "Fall (adult)" in out and "fell over cant get up" in out  # what matched, and from what
    assert 'data-key="y"' in out and 'data-key="n"' in out and "autofocus" in out
    resp = submit(client, out, "question-form", "continue", answer="no")
    out2 = resp.get_data(as_text=True)
    second = question_id(out2)
    assert second and second != first
    trail = out2.split('id="trail"', 1)[1].split("</ol>", 1)[0]
    assert "No" in trail and len(re.findall(r"<li>", trail)) == 1
    answers = json.loads(unescape(re.search(r'name="answers" value="([^"]*)"', out2).group(1)))
    assert [a["q"] for a in answers] == [first]


def test_back_undoes_the_last_answer(client):
    out1 = start(client).get_data(as_text=True)
    out2 = submit(client, out1, "question-form", "continue", answer="no").get_data(as_text=True)
    back = submit(client, out2, "question-form", "back").get_data(as_text=True)
    assert question_id(back) == question_id(out1)
    assert 'id="trail"' not in back
    # the top back link does the same from its own form
    form_ids = [f["id"] for f in forms(out2)]
    assert form_ids[0] is None and "question-form" in form_ids
    top = forms(out2)[0]
    data = dict(top["fields"]) | {"action": "back"}
    assert question_id(client.post("/", data=data).get_data(as_text=True)) == question_id(out1)
    # back from the first question returns to the call details, filled in
    first_back = submit(client, out1, "question-form", "back").get_data(as_text=True)
    assert 'id="call-form"' in first_back and 'value="PR1 8XJ"' in first_back


def test_a_missing_answer_asks_again_with_an_error(client):
    out = start(client).get_data(as_text=True)
    resp = submit(client, out, "question-form", "continue")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert question_id(page) == question_id(out) and "Select an answer" in text(page)
    assert 'href="#answer"' in page


def test_ambiguous_complaint_shows_ranked_candidates_to_pick(client):
    resp = start(client, complaint="pain")
    out = resp.get_data(as_text=True)
    assert resp.status_code == 400
    choices = next(f for f in forms(out) if f["id"] == "call-form")["checkboxes"]["complaint_choice"]
    assert len(choices) >= 2 and "chest_pain" in choices
    assert "Which complaints does the caller have?" in text(out)
    resp = submit(client, out, "call-form", "continue", complaint_choice="chest_pain", age="60")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and question_id(page)
    assert "Chest pain" in page


def test_complaint_for_the_wrong_age_names_the_complaint_field(client):
    resp = start(client, age="8", complaint="fall")
    out = resp.get_data(as_text=True)
    assert resp.status_code == 400 and 'href="#complaint"' in out


def test_baby_age_in_months_is_accepted(client):
    resp = start(client, age="", age_months="6", complaint="sore throat")
    out = resp.get_data(as_text=True)
    # a sore throat may be for older children only: either way the months are understood as an age
    assert "must be a number of years" not in text(out)
    assert "Enter the patient's age" not in text(out)


def test_change_call_details_keeps_what_was_entered(client):
    out = start(client, heart_rate="88").get_data(as_text=True)
    edit = submit(client, out, "question-form", "edit").get_data(as_text=True)
    assert 'id="call-form"' in edit and 'value="88"' in edit and 'value="fell over cant get up"' in edit


# -- outcomes -----------------------------------------------------------------------------------
FALL_YES = {"fall_on_floor": "yes"}


def test_outcome_without_services_still_shows_the_disposition(client, app, monkeypatch):
    """If the directory search fails the call handler still gets the triage outcome, and a warning."""
    care = app.extensions["uec"]

    def broken(*args, **kwargs):
        raise RuntimeError("routing down")
    monkeypatch.setattr(care, "_route", broken)
    resp, asked = answer_all(client, start(client), FALL_YES)
    out = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Falls lifting service" in text(out)
    assert 'id="services-error"' in out and 'id="new-call"' in out


def test_fall_journey_ends_with_the_falls_lifting_service_and_services(client):
    resp, asked = answer_all(client, start(client), FALL_YES)
    out = resp.get_data(as_text=True)
    assert resp.status_code == 200, text(out)[:800]
    assert "fall_on_floor" in asked
    t = text(out)
    assert "Falls lifting service" in t and "Acuity 3" in t
    assert 'id="reasons"' in out and "ISTUMBLE" in t
    rows = re.findall(r'<tr class="nhsuk-table__row uec-service" data-service-id="([^"]+)"', out)
    assert rows, "services must be listed"
    assert re.search(r"<strong>\d+ min</strong>", out)
    assert re.search(r"\d+(\.\d)? km", t)
    assert "falls" in rows[0] or "Falls" in out.split('data-service-id="' + rows[0])[1].split("</tr>")[0]
    assert 'id="new-call"' in out and 'href="/"' in out


def test_head_strike_on_anticoagulant_is_not_lifted(client):
    resp, _ = answer_all(client, start(client), {"fall_on_floor": "yes", "fall_head_strike": "yes", "ds_anticoagulant": "yes"})
    out = resp.get_data(as_text=True)
    t = text(out)
    assert "Falls lifting service" not in t.split("Why")[0]
    assert "Ambulance" in t and "nhsuk-card--care--emergency" in out


def test_outcome_back_undoes_the_last_answer(client):
    resp, asked = answer_all(client, start(client), FALL_YES)
    out = resp.get_data(as_text=True)
    back = submit(client, out, None, "back-link").get_data(as_text=True)
    assert question_id(back) == asked[-1]


def test_out_of_area_and_approximate_locations_are_flagged(client):
    resp, _ = answer_all(client, start(client, location="PR1"), FALL_YES)
    out = resp.get_data(as_text=True)
    assert 'id="precision-note"' in out and "Approximate location" in text(out)
    resp, _ = answer_all(client, start(client, location="53.4808, -2.2426"), FALL_YES)  # Manchester
    assert "Outside Lancashire and South Cumbria" in text(resp.get_data(as_text=True))
