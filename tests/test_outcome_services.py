"""The newer dispositions (maternity triage, eye, 1-hour dental, routine GP) route to the LSC services that provide them."""
from __future__ import annotations

import pytest

from tests.conftest import make_app

WEEKDAY_11 = "2026-12-02T11:00:00+00:00"   # a Wednesday, in GP core hours
SUNDAY_03 = "2026-12-06T03:00:00+00:00"    # a Sunday night: day services are closed


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("outcomes"))
    app.testing = True
    return app.test_client()


def route(client, code: str, location: dict, *, at: str = WEEKDAY_11, **extra) -> dict:
    resp = client.post("/api/v1/route", json={"disposition": code, "location": location, "at": at, **extra})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


@pytest.mark.parametrize("location, unit", [
    ({"postcode": "PR1 8XJ"}, "rph-maternity-triage"),
    ({"place": "Blackburn"}, "bgh-maternity-triage"),   # ELHT's obstetric unit is at Burnley
    ({"place": "Blackpool"}, "bvh-maternity-triage"),
    ({"place": "Lancaster"}, "rli-maternity-triage"),
    ({"place": "Barrow-in-Furness"}, "fgh-maternity-triage"),
])
def test_maternity_disposition_offers_the_nearest_maternity_triage_first_then_an_ed(client, location, unit):
    data = route(client, "MATERNITY_1H", location, at=SUNDAY_03, age=30, sex="female")
    types = [s["type"] for s in data["services"]]
    assert data["services"][0]["id"] == unit, [s["id"] for s in data["services"]]
    assert "emergency_department" in types and not data["catch_all"]
    assert data["ranking"]["key"] == "MATERNITY_1H"


def test_maternity_triage_is_not_offered_to_a_man(client):
    data = route(client, "MATERNITY_1H", {"place": "Blackpool"}, sex="male", age=30)
    assert all(s["type"] != "maternity_triage" for s in data["services"])
    assert any(e["id"] == "bvh-maternity-triage" and e["rule"] == "sex" for e in data["excluded"])


def test_eye_disposition_goes_to_eye_casualty_in_hours_and_an_ed_at_night(client):
    day = route(client, "EYE_4H", {"place": "Burnley"}, age=40, sex="male")
    assert day["services"][0]["id"] == "bgh-eye-casualty"
    assert {"lsc-urgent-eyecare"} <= {s["id"] for s in day["services"]}
    night = route(client, "EYE_4H", {"place": "Burnley"}, at=SUNDAY_03, age=40, sex="male")
    assert all(s["type"] != "eye_casualty" for s in night["services"])
    assert night["services"] and night["services"][0]["type"] == "emergency_department"


def test_one_hour_dental_goes_to_the_dental_helpline_with_an_ed_beside_it(client):
    data = route(client, "DENTAL_1H", {"postcode": "PR1 8XJ"}, age=12, sex="female")
    ids = [s["id"] for s in data["services"]]
    assert ids[0] == "lsc-dental-helpline" and data["services"][0]["travel_direction"] == "phone"
    assert any(s["type"] == "emergency_department" for s in data["services"])


def test_routine_gp_is_the_own_practice_even_at_the_weekend(client):
    weekday = route(client, "PC_ROUTINE", {"place": "Lancaster"})
    assert [s["id"] for s in weekday["services"]] == ["own-gp-practice"]
    assert weekday["services"][0]["open_now"]
    weekend = route(client, "PC_ROUTINE", {"place": "Lancaster"}, at=SUNDAY_03)
    gp = weekend["services"][0]
    assert gp["id"] == "own-gp-practice" and not gp["open_now"] and "opens_later" in gp["flags"]
    assert not weekend["catch_all"]


def test_reduced_fetal_movements_through_triage_reach_maternity_triage(client):
    body = {"complaint": "pregnancy_problems", "age": 31, "sex": "female", "location": {"place": "Blackpool"},
            "at": SUNDAY_03, "answers": {}}
    answers = {"pg_stage": "weeks_24_36", "pg_reduced_movements": "yes"}
    for _ in range(40):
        data = client.post("/api/v1/triage", json=body).get_json()
        if data["status"] == "complete":
            break
        qid = data["question"]["id"]
        body["answers"][qid] = answers.get(qid, "no")
    assert data["outcome"]["disposition"]["code"] == "MATERNITY_1H"
    assert data["services"][0]["id"] == "bvh-maternity-triage"
