"""The JSON API v1 contract: triage question flow and outcomes, routing, catalogues, and bad input."""
from __future__ import annotations

import pytest

from tests.conftest import make_app

FALL_FLOOR_AT = {"postcode": "PR1 8XJ"}
LANCS_FALLS_LIFT = "progress-falls-lifting"




@pytest.fixture(scope="session")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("api"))
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def post(client, path, body):
    return client.post(f"/api/v1/{path}", json=body)


def run_triage(client, body: dict, answers: dict[str, str], *, default: str = "no", limit: int = 40):
    """Answer each question the API asks (stateless: all answers so far each time) until complete."""
    given = dict(body.get("answers") or {})
    asked = []
    for _ in range(limit):
        resp = post(client, "triage", {**body, "answers": given})
        assert resp.status_code == 200, resp.get_json()
        data = resp.get_json()
        if data["status"] == "complete":
            return data, asked
        q = data["question"]
        assert q["id"] not in given, f"question {q['id']} asked again"
        asked.append(q["id"])
        # a number the test does not give (a caller-reported observation such as a temperature) is "not measured"
        given[q["id"]] = answers.get(q["id"], "unknown" if q["type"] == "number" else default)
    raise AssertionError(f"no outcome after {limit} answers: {asked}")


# -- catalogues -----------------------------------------------------------------------------------
def test_complaints_catalogue(client):
    resp = client.get("/api/v1/complaints")
    assert resp.status_code == 200
    items = resp.get_json()["complaints"]
    ids = {c["id"] for c in items}
    assert {"fall", "chest_pain", "sore_throat"} <= ids
    fall = next(c for c in items if c["id"] == "fall")
    assert fall["title"] == "Fall (adult)" and "fell over" in fall["synonyms"] and fall["sources"]


def test_dispositions_catalogue_is_in_urgency_order(client):
    items = client.get("/api/v1/dispositions").get_json()["dispositions"]
    codes = [d["code"] for d in items]
    assert codes[0] == "AMB_CAT1"
    assert codes.index("AMB_CAT2") < codes.index("FALLS_LIFT")
    falls = next(d for d in items if d["code"] == "FALLS_LIFT")
    assert falls["class"] == "falls_response" and falls["label"].startswith("Falls lifting service")
    assert {"code", "label", "class", "within_minutes", "acuity"} <= set(falls)


def test_services_catalogue_and_type_filter(client):
    data = client.get("/api/v1/services").get_json()
    assert data["count"] == len(data["services"]) > 20
    assert "falls_lifting" in data["types"]
    only = client.get("/api/v1/services?type=falls_lifting").get_json()
    assert only["count"] >= 1 and {s["type"] for s in only["services"]} == {"falls_lifting"}
    assert LANCS_FALLS_LIFT in {s["id"] for s in only["services"]}


def test_health(client):
    data = client.get("/api/v1/health").get_json()
    assert data["status"] == "ok" and data["services"] > 0


# -- triage: the question flow ------------------------------------------------------------------
def test_triage_asks_one_question_at_a_time(client):
    resp = post(client, "triage", {"age": 67, "sex": "female", "complaint": "fall"})
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["api_version"] == "1" and data["status"] == "question" and data["answered"] == 0
    q = data["question"]
    assert q["type"] == "yes_no" and [o["id"] for o in q["options"]] == ["yes", "no", "unknown"]
    assert q["id"].startswith("gen_")  # life threats first
    nxt = post(client, "triage", {"age": 67, "sex": "female", "complaint": "fall",
                                  "answers": {q["id"]: "no"}}).get_json()
    assert nxt["status"] == "question" and nxt["question"]["id"] != q["id"] and nxt["answered"] == 1


def test_triage_is_stateless_and_deterministic(client):
    body = {"age": 80, "sex": "male", "complaint": "fall", "answers": {"gen_not_breathing": "no"}}
    a, b = post(client, "triage", body).get_json(), post(client, "triage", body).get_json()
    assert a == b


def test_free_text_complaint_is_matched(client):
    data = post(client, "triage", {"age": 80, "sex": "female", "complaint": "fell over cant get up"}).get_json()
    assert data["complaint"]["id"] == "fall"
    assert data["complaint"]["matched_from"] == "fell over cant get up" and data["complaint"]["match_score"] >= 86


def test_ambiguous_complaint_returns_ranked_candidates(client):
    resp = post(client, "triage", {"age": 50, "sex": "female", "complaint": "pain"})
    assert resp.status_code == 400
    data = resp.get_json()
    assert "complaint" in data["errors"]
    cands = data["candidates"]
    assert len(cands) >= 2 and {"id", "title", "score"} <= set(cands[0])
    scores = [c["score"] for c in cands]
    assert scores == sorted(scores, reverse=True)
    assert "chest_pain" in {c["id"] for c in cands}


def test_complete_without_location_says_how_to_get_services(client):
    data, asked = run_triage(client, {"age": 75, "sex": "female", "complaint": "fall"}, {})
    assert data["outcome"]["disposition"]["code"] == "PC_ROUTINE"  # up again, uninjured: routine GP falls review
    assert data["services"] == [] and "location" in data["note"]
    assert "fall_on_floor" in asked
    trail_ids = [t["question"] for t in data["outcome"]["trail"]]
    assert sorted(trail_ids) == sorted(asked) and len(trail_ids) == len(asked)  # every answer, once


def test_news2_from_vitals_escalates_and_is_reported(client):
    vitals = {"respiratory_rate": 26, "spo2": 90, "systolic_bp": 88, "heart_rate": 135,
              "consciousness": "A", "temperature": 39.2, "on_oxygen": False}
    data, _ = run_triage(client, {"age": 80, "sex": "female", "complaint": "fall", "vitals": vitals},
                         {"fall_on_floor": "yes"})
    out = data["outcome"]
    assert out["news2"] >= 7
    assert out["disposition"]["class"] == "ambulance"


# -- the key case: falls lifting at PR1 8XJ -------------------------------------------------------
@pytest.mark.parametrize("age", [67, 82, 95])
def test_uninjured_faller_on_the_floor_gets_the_lancashire_falls_lifting_service(client, age):
    data, asked = run_triage(client, {"age": age, "sex": "female", "complaint": "fall", "location": FALL_FLOOR_AT},
                             {"fall_on_floor": "yes"})
    for red_flag in ("fall_collapse", "fall_breathing_chest", "fall_different", "fall_head_strike",
                     "fall_head_red_flags", "fall_intense_pain", "fall_long_lie"):
        assert red_flag in asked, f"{red_flag} must be asked before lifting"
    assert data["outcome"]["disposition"]["class"] == "falls_response"
    assert data["outcome"]["disposition"]["code"] == "FALLS_LIFT"
    assert data["services"], data
    first = data["services"][0]
    assert first["id"] == LANCS_FALLS_LIFT and first["type"] == "falls_lifting"
    assert first["travel_minutes"] > 0 and first["distance_km"] > 0
    assert first["travel_direction"] == "team_to_caller"
    assert data["location"]["postcode"] == "PR1 8XJ" and data["location"]["in_lsc"] is True
    assert data["catch_all"] is False


def test_head_strike_on_a_blood_thinner_is_not_lifted(client):
    data, _ = run_triage(client, {"age": 67, "sex": "female", "complaint": "fall", "location": FALL_FLOOR_AT},
                         {"fall_on_floor": "yes", "fall_head_strike": "yes", "ds_anticoagulant": "yes"})
    d = data["outcome"]["disposition"]
    assert d["class"] == "ambulance" and d["code"] != "FALLS_LIFT"
    assert all(s["type"] != "falls_lifting" for s in data["services"])


def test_triage_complete_answers_with_services_by_road(client):
    data, _ = run_triage(client, {"age": 40, "sex": "male", "complaint": "limb injury",
                                  "location": {"place": "Lancaster"}, "limit": 3}, {}, default="no")
    assert data["status"] == "complete"
    assert 1 <= len(data["services"]) <= 3
    for s in data["services"]:
        assert {"id", "name", "type", "type_label", "travel_minutes", "distance_km", "open_now", "flags",
                "phone"} <= set(s)
    assert data["directory_version"] >= 1 and "ranking" in data and "excluded" in data
    # ordered by rank, then open now before opening later, then road minutes (the test runs at any hour)
    keys = [(s["rank"], "opens_later" in s["flags"], s["travel_minutes"]) for s in data["services"]]
    assert keys == sorted(keys), keys


# -- route ----------------------------------------------------------------------------------------
def test_route_with_requester_role(client):
    body = {"disposition": "FALLS_LIFT", "location": FALL_FLOOR_AT, "age": 80, "sex": "female"}
    assert post(client, "route", {**body, "requester_role": "nwas"}).status_code == 403  # needs a token of that role
    accounts = client.application.extensions["uec"].accounts
    if accounts.user("nwas-dispatch") is None:
        accounts.create_user("nwas-dispatch", "correct horse battery", "viewer", requester_role="nwas")
    token = accounts.create_token("nwas-dispatch")
    nwas = client.post("/api/v1/route", json={**body, "requester_role": "nwas"},
                       headers={"Authorization": f"Bearer {token}"})
    assert nwas.status_code == 200
    data = nwas.get_json()
    assert data["requester_role"] == "nwas" and data["disposition"]["code"] == "FALLS_LIFT"
    assert data["services"][0]["id"] == LANCS_FALLS_LIFT
    walk_in = post(client, "route", {**body, "requester_role": "walk_in"}).get_json()
    assert LANCS_FALLS_LIFT not in {s["id"] for s in walk_in["services"]}  # referral only
    assert any(e["id"] == LANCS_FALLS_LIFT and e["rule"] == "referral_role" for e in walk_in["excluded"])


def test_route_never_empty_for_an_emergency(client):
    data = post(client, "route", {"disposition": "ED_1H", "location": {"lat": 54.33, "lon": -2.74}}).get_json()
    assert data["services"] and data["services"][0]["type"] == "emergency_department"


# -- bad input: 400 naming each field, never 500 ------------------------------------------------
GOOD = {"age": 67, "sex": "female", "complaint": "fall"}


@pytest.mark.parametrize("body, fields", [
    ({**GOOD, "age": "sixty"}, {"age"}),
    ({**GOOD, "age": -1}, {"age"}),
    ({**GOOD, "age": 200}, {"age"}),
    ({**GOOD, "age": True}, {"age"}),
    ({**GOOD, "age": None}, {"age"}),
    ({**GOOD, "sex": "f"}, {"sex"}),
    ({**GOOD, "sex": None}, {"sex"}),
    ({**GOOD, "complaint": ""}, {"complaint"}),
    ({**GOOD, "complaint": 42}, {"complaint"}),
    ({**GOOD, "complaint": "fall", "age": 8}, {"complaint"}),
    ({**GOOD, "colour": "blue"}, {"colour"}),
    ({**GOOD, "answers": ["yes"]}, {"answers"}),
    ({**GOOD, "answers": {"fall_on_floor": "maybe"}}, {"answers.fall_on_floor"}),
    ({**GOOD, "answers": {"no_such_question": "yes"}}, {"answers.no_such_question"}),
    ({**GOOD, "answers": {"fall_on_floor": 1.5}}, {"answers.fall_on_floor"}),
    ({**GOOD, "vitals": "normal"}, {"vitals"}),
    ({**GOOD, "vitals": {"spo2": 150}}, {"vitals.spo2"}),
    ({**GOOD, "vitals": {"spo2": "low"}}, {"vitals.spo2"}),
    ({**GOOD, "vitals": {"heart_rate": True}}, {"vitals.heart_rate"}),
    ({**GOOD, "vitals": {"consciousness": "X"}}, {"vitals.consciousness"}),
    ({**GOOD, "vitals": {"on_oxygen": "yes"}}, {"vitals.on_oxygen"}),
    ({**GOOD, "vitals": {"spo2_scale": 3}}, {"vitals.spo2_scale"}),
    ({**GOOD, "vitals": {"blood_sugar": 5}}, {"vitals.blood_sugar"}),
    ({**GOOD, "vitals": {"spo2": 150, "temperature": 60}}, {"vitals.spo2", "vitals.temperature"}),
    ({**GOOD, "location": "PR1 8XJ"}, {"location"}),
    ({**GOOD, "location": {"postcode": "ZZ99 9ZZ"}}, {"location.postcode"}),
    ({**GOOD, "location": {"postcode": "not a postcode"}}, {"location.postcode"}),
    ({**GOOD, "location": {"place": "Nowhereville"}}, {"location.place"}),
    ({**GOOD, "location": {"lat": 91, "lon": 0}}, None),
    ({**GOOD, "location": {"lat": "x", "lon": "y"}}, None),
    ({**GOOD, "location": {"street": "Main St"}}, {"location"}),
    ({**GOOD, "location": {}}, {"location"}),
    ({**GOOD, "at": "tomorrow"}, {"at"}),
    ({**GOOD, "limit": 0}, {"limit"}),
    ({**GOOD, "limit": "5"}, {"limit"}),
    ({**GOOD, "requester_role": "pizza"}, {"requester_role"}),
    ({"age": "x", "sex": "x", "complaint": ""}, {"age", "sex", "complaint"}),
    ([], {"body"}),
    ("fall", {"body"}),
    (None, {"body"}),
])
def test_bad_triage_input_is_400_naming_each_field(client, body, fields):
    resp = post(client, "triage", body)
    assert resp.status_code == 400, resp.get_json()
    data = resp.get_json()
    assert data["error"] == "invalid input"
    named = {k for k in data["errors"] if not k.startswith("_")}
    if fields is None:  # coordinates: the field is location.lat/lon or location
        assert named and all(k.startswith("location") for k in named), named
    else:
        assert fields <= named, (fields, data["errors"])
    assert all(isinstance(v, str) and len(v) > 5 for v in data["errors"].values())


@pytest.mark.parametrize("raw, content_type", [
    (b"{not json", "application/json"),
    (b"age=67", "application/x-www-form-urlencoded"),
    (b"", "application/json"),
    (b"\xff\xfe", "application/json"),
])
def test_body_that_is_not_json_is_400(client, raw, content_type):
    resp = client.post("/api/v1/triage", data=raw, content_type=content_type)
    assert resp.status_code == 400
    assert "body" in resp.get_json()["errors"]


@pytest.mark.parametrize("body, fields", [
    ({"location": FALL_FLOOR_AT}, {"disposition"}),
    ({"disposition": "NOT_A_CODE", "location": FALL_FLOOR_AT}, {"disposition"}),
    ({"disposition": "FALLS_LIFT"}, {"location"}),
    ({"disposition": "FALLS_LIFT", "location": FALL_FLOOR_AT, "requester_role": "anyone"}, {"requester_role"}),
    ({"disposition": "FALLS_LIFT", "location": FALL_FLOOR_AT, "age": "old"}, {"age"}),
    ({"disposition": "FALLS_LIFT", "location": FALL_FLOOR_AT, "sex": "x"}, {"sex"}),
    ({"disposition": "FALLS_LIFT", "location": FALL_FLOOR_AT, "complaint": "fall"}, {"complaint"}),
    ({"disposition": "FALLS_LIFT", "location": {"postcode": "ZZ99 9ZZ"}}, {"location.postcode"}),
    ([1, 2], {"body"}),
])
def test_bad_route_input_is_400_naming_each_field(client, body, fields):
    resp = post(client, "route", body)
    assert resp.status_code == 400
    assert fields <= set(resp.get_json()["errors"]), resp.get_json()


def test_unknown_api_path_and_method_are_json(client):
    resp = client.get("/api/v1/nothing")
    assert resp.status_code == 404 and resp.get_json()["error"]
    resp = client.get("/api/v1/triage")
    assert resp.status_code == 405 and resp.get_json()["error"]
