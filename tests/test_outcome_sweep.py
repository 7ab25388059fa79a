"""Every disposition's outcome page renders, for each LSC place, by day, by night and on a bank holiday.

For each disposition code a real triage path is found in the rule set (a rule test that reaches it,
or the yes-answers of a rule that gives it, with every other yes/no question answered "no"), played
once page by page through the handler form, then its final step is posted for every place and time
exactly as the browser posts it. Each page must be a 200 showing the disposition and either the
services the application service chose or its escalation.
"""
from __future__ import annotations

import csv
import json
import re
from typing import Any

import pytest

from geodata.areas import PLACE_OF_LAD, PLACES
from geodata.postcodes import DATA_DIR
from tests.conftest import make_app
from tests.test_web_handler import answer_all, forms, question_id, submit, text

#: UK local times (Europe/London): a Wednesday morning, the small hours, and Christmas Day.
TIMES = {"day": ("09/12/2026", "10:30"), "night": ("09/12/2026", "02:30"), "bank_holiday": ("25/12/2026", "11:00")}
TIMES_ISO = {"day": "2026-12-09T10:30", "night": "2026-12-09T02:30", "bank_holiday": "2026-12-25T11:00"}


def place_postcodes() -> dict[str, str]:
    """One real postcode in each of the four LSC places: the first in the embedded postcode list."""
    out: dict[str, str] = {}
    with open(DATA_DIR / "postcodes.csv", newline="") as f:
        for row in csv.DictReader(f):
            place = PLACE_OF_LAD.get(row["lad_code"])
            if place and row["terminated"] == "0":
                out.setdefault(place, row["postcode"])
    return out


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("sweep"))
    app.testing = True
    return app


@pytest.fixture(scope="module")
def care(app):
    return app.extensions["uec"]


def _yes_leaves(cond: Any) -> list[str]:
    """The question ids a rule condition needs answered 'yes'."""
    out: list[str] = []
    if isinstance(cond, dict):
        for key, value in cond.items():
            if key == "yes" and isinstance(value, str):
                out.append(value)
            elif key in ("all", "any") and isinstance(value, list):
                for c in (value if key == "all" else value[:1]):
                    out.extend(_yes_leaves(c))
    return out


def _form_answer(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def _candidates(rules, code: str):
    """(complaint id, age, sex, answers, vitals) that may reach `code`: rule tests first, then rules."""
    for t in rules.tests:
        if t.expect_disposition == code:
            yield t.complaint, t.age, t.sex, {k: _form_answer(v) for k, v in t.answers.items()}, dict(t.vitals)
    for c in rules.complaints.values():
        age = max(40.0, c.min_age or 0)
        if c.max_age is not None and age > c.max_age:
            age = c.max_age
        for r in c.rules:
            if r.disposition == code:
                yield c.id, age, c.sex or "female", {q: "yes" for q in _yes_leaves(r.condition)}, {}


def _walk(care, complaint: str, age: float, sex: str, answers: dict[str, str], vitals: dict[str, Any],
          location: str) -> tuple[list[dict[str, str]], dict[str, Any]] | None:
    """Play a case through the application service: given answers, other yes/no questions 'no'.
    Returns the trail (as the form carries it) and the outcome, or None if a question needs a value."""
    trail: list[dict[str, str]] = []
    for _ in range(60):
        body = {"age": age, "sex": sex, "complaint": complaint, "vitals": vitals,
                "answers": {t["q"]: t["a"] for t in trail}, "location": {"postcode": location},
                "at": TIMES_ISO["day"]}
        result = care.triage(body)
        if result["status"] == "complete":
            return trail, result
        q = result["question"]
        if q["id"] in answers:
            value = answers[q["id"]]
        elif q["type"] == "yes_no":
            value = "no"
        elif q["type"] == "number" and q.get("vital"):
            value = "unknown"  # a caller-reported observation: not measured
        else:
            return None
        trail.append({"q": q["id"], "a": value, "t": q["text"]})
    return None


def _vital_fields(vitals: dict[str, Any]) -> dict[str, str]:
    out = {}
    for k, v in vitals.items():
        if k == "on_oxygen":
            out[k] = "oxygen" if v else "air"
        elif k == "spo2_scale":
            if v == 2:
                out[k] = "2"
        else:
            out[k] = str(v)
    return out


@pytest.fixture(scope="module")
def paths(care):
    """A real path to each disposition code, found by searching the rule set."""
    rules = care.rules
    some_postcode = next(iter(place_postcodes().values()))
    found = {}
    for code in rules.dispositions:
        for complaint, age, sex, answers, vitals in _candidates(rules, code):
            walked = _walk(care, complaint, age, sex, answers, vitals, some_postcode)
            if walked and walked[1]["outcome"]["disposition"]["code"] == code:
                found[code] = {"complaint": complaint, "age": age, "sex": sex, "vitals": vitals, "trail": walked[0]}
                break
    return found


def test_every_place_has_a_postcode():
    assert sorted(place_postcodes()) == sorted(PLACES)


def test_a_real_path_reaches_every_disposition(care, paths):
    missing = [code for code in care.rules.dispositions if code not in paths]
    assert not missing, f"no triage path found in the rule set for {missing}"


def _fields(path: dict[str, Any], postcode: str, when: str) -> dict[str, str]:
    age = path["age"]
    fields = {"age": f"{age:g}" if age >= 2 or age == int(age) else "",
              "sex": path["sex"], "location": postcode, "complaint": path["complaint"],
              **_vital_fields(path["vitals"])}
    if age < 2 and age != int(age):
        fields["age"], fields["age_months"] = "", str(round(age * 12))
    fields["at_date"], fields["at_time"] = TIMES[when]
    return fields


def test_each_path_plays_through_the_pages(app, paths):
    """The path found reaches its disposition when answered one page at a time in the real form."""
    client = app.test_client()
    postcode = place_postcodes()["Lancashire"]
    for code, path in paths.items():
        page = client.get("/").get_data(as_text=True)
        fields = _fields(path, postcode, "day")
        resp = submit(client, page, "call-form", "continue", complaint_choice=path["complaint"], **fields)
        assert resp.status_code == 200, (code, text(resp.get_data(as_text=True))[:400])
        answers = {t["q"]: t["a"] for t in path["trail"]}
        resp, asked = answer_all(client, resp, answers)
        assert asked == [t["q"] for t in path["trail"]], code
        assert f"Disposition {code} " in text(resp.get_data(as_text=True)), code


def _service_ids(page: str) -> list[str]:
    return re.findall(r'data-service-id="([^"]+)"', page)


@pytest.mark.parametrize("when", list(TIMES))
@pytest.mark.parametrize("place", PLACES)
def test_every_outcome_renders(app, care, paths, place, when):
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    postcode = place_postcodes()[place]
    failures = []
    for code, path in paths.items():
        label = care.rules.dispositions[code].label
        fields = _fields(path, postcode, when)
        *before, last = path["trail"] or [None]
        data = {**fields, "csrf_token": token, "complaint_id": path["complaint"],
                "answers": json.dumps([t for t in before if t is not None])}
        if last is None:  # no question: the outcome comes straight from the call details
            data["action"] = "start"
            data["complaint_choice"] = path["complaint"]
        else:
            data.update(action="answer", question=last["q"], answer=last["a"], question_text=last["t"],
                        question_type="yes_no")
        resp = client.post("/", data=data)
        page = resp.get_data(as_text=True)
        words = text(page)
        if resp.status_code != 200:
            failures.append(f"{code}: HTTP {resp.status_code}: {words[:200]}")
            continue
        if f"Disposition {code} " not in words or label not in words:
            failures.append(f"{code}: the page does not show the disposition ({words[:200]})")
            continue
        if 'id="safety-netting"' not in page:
            failures.append(f"{code}: no worsening advice")
        if care.rules.dispositions[code].cls == "ambulance" and not words.split("Disposition", 1)[0].count("Transfer to 999 now"):
            failures.append(f"{code}: a 999 outcome without 'Transfer to 999 now' first")
        for row in page.split('class="nhsuk-table__row uec-service"')[1:]:
            cell = text(row.split("uec-contact", 1)[1].split("</td>", 1)[0])
            if "Public:" not in cell and "No public number listed" not in cell:
                failures.append(f"{code}: a service without its public phone (or a note that none is listed)")
        # What the application service chooses for the same call; the page must show exactly that.
        body = {"age": path["age"], "sex": path["sex"], "complaint": path["complaint"], "vitals": path["vitals"],
                "answers": {t["q"]: t["a"] for t in path["trail"]}, "location": {"postcode": postcode},
                "at": TIMES_ISO[when], "requester_role": "nhs111"}
        expected = care.triage(body)
        ids = [s["id"] for s in expected.get("services", [])]
        if ids:
            if _service_ids(page) != ids:
                failures.append(f"{code}: page services {_service_ids(page)} != chosen {ids}")
            names = [s["name"] for s in expected["services"]]
            missing = [n for n in names if n not in words]
            if missing:
                failures.append(f"{code}: services not named on the page: {missing}")
        else:
            escalation = expected.get("escalation") or (expected.get("notes") or [None])[0] or expected.get("note")
            if not escalation or escalation not in words:
                failures.append(f"{code}: no services and no escalation shown")
    assert not failures, "\n".join(failures)
