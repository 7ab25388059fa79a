"""The triage API with several complaints in one call, ties, and "not sure" (issue 10)."""
from __future__ import annotations

import pytest

from tests.test_api import app, client, post, run_triage  # noqa: F401  (shared fixtures)


def test_complaints_list_triages_the_union(client):
    data, asked = run_triage(client, {"age": 70, "sex": "male", "complaints": ["cough", "chest_pain"]}, {})
    assert [c["id"] for c in data["complaints"]] == ["cough", "chest_pain"]
    assert data["outcome"]["complaints"] == ["chest_pain", "cough"]
    assert len(asked) == len(set(asked))
    assert any(q.startswith("cp_") for q in asked) and any(q.startswith("cg_") for q in asked)


def test_a_call_naming_two_things_is_matched_part_by_part(client):
    resp = post(client, "triage", {"age": 40, "sex": "female", "complaint": "chest pain and a cough"})
    data = resp.get_json()
    assert resp.status_code == 200, data
    assert {c["id"] for c in data["complaints"]} >= {"chest_pain", "cough"}


def test_a_tie_offers_the_candidates_and_a_ready_list_to_send_all(client):
    resp = post(client, "triage", {"age": 40, "sex": "female", "complaint": "pain"})
    data = resp.get_json()
    assert resp.status_code == 400 and "complaint" in data["errors"]
    assert data["candidates"] and data["send_all"]["complaints"]
    again = post(client, "triage", {"age": 40, "sex": "female", "complaints": data["send_all"]["complaints"]})
    assert again.status_code == 200, again.get_json()


def test_not_sure_answers_escalate_and_say_so(client):
    data, _ = run_triage(client, {"age": 50, "sex": "male", "complaint": "chest_pain"},
                         {"gen_not_breathing": "unknown"})
    out = data["outcome"]
    assert out["disposition"]["code"] == "AMB_CAT1"
    assert any(r.get("unsure") and "caller not sure" in r["text"] for r in out["reasons"])
    assert out["trail"][0]["answer"] == "unknown"


@pytest.mark.parametrize("body,field", [
    ({"complaints": []}, "complaints"),
    ({"complaints": "cough"}, "complaints"),
    ({"complaints": ["cough"] * 7}, "complaints"),
    ({"complaints": ["cough", 3]}, "complaints"),
    ({"complaints": ["x" * 600]}, "complaints"),
    ({"complaint": "x" * 600}, "complaint"),
])
def test_bad_complaint_lists_are_400_naming_the_field(client, body, field):
    resp = post(client, "triage", {"age": 40, "sex": "female", **body})
    assert resp.status_code == 400 and field in resp.get_json()["errors"]


def test_answers_that_do_not_apply_are_listed_as_ignored(client):
    data, _ = run_triage(client, {"age": 40, "sex": "male", "complaint": "constipation",
                                  "answers": {"gen_infant_fever": "yes"}}, {})
    out = data["outcome"]
    assert out["disposition"]["code"] != "ED_1H"
    assert [a["question"] for a in out["ignored_answers"]] == ["gen_infant_fever"]
