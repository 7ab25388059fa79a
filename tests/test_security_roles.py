"""Roles on the read side: which requester roles a caller may claim, and who sees professional-only
phone lines and staff usernames (GET /api/v1/services, route and triage answers)."""
from __future__ import annotations

import pytest

from tests.conftest import make_app

PRO_LINE = "01772 000999"
BODY = {"disposition": "FALLS_LIFT", "location": {"postcode": "PR1 8XJ"}, "age": 80, "sex": "female"}
SERVICE = "progress-falls-lifting"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("roles"))
    care = app.extensions["uec"]
    svc = care.store.get(SERVICE)
    care.store.update(SERVICE, {**svc.to_dict(), "phone_professional": PRO_LINE},
                      expected_version=svc.version, user="test")
    care.store.set_capacity(SERVICE, "amber", user="ward-sister-jones")
    care.refresh_snapshot()
    accounts = care.accounts
    for name, role in (("nwas-desk", "nwas"), ("nhs111-desk", "nhs111"), ("kiosk", "public")):
        accounts.create_user(name, "correct horse battery", "viewer", requester_role=role)
    app.config["TOKENS"] = {name: accounts.create_token(name) for name in ("nwas-desk", "nhs111-desk", "kiosk")}
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def _auth(app, name):
    return {"Authorization": f"Bearer {app.config['TOKENS'][name]}"}


def _offer(answer):
    return next(s for s in answer["services"] if s["id"] == SERVICE)


@pytest.mark.parametrize("role", ["nwas", "gp", "professional", "nwas_clinician"])
def test_anonymous_callers_may_not_claim_professional_roles(client, role):
    for path, body in (("route", BODY), ("triage", {"complaint": "fall", "age": 80, "sex": "female"})):
        resp = client.post(f"/api/v1/{path}", json={**body, "requester_role": role})
        assert resp.status_code == 403, resp.get_data(as_text=True)
        assert "token" in resp.get_json()["errors"]["requester_role"]


@pytest.mark.parametrize("role", ["public", "nhs111", "walk_in", "call_handler"])
def test_anonymous_callers_may_claim_public_or_nhs111(client, role):
    assert client.post("/api/v1/route", json={**BODY, "requester_role": role}).status_code == 200


def test_a_token_may_claim_its_own_role_but_not_another(app, client):
    ok = client.post("/api/v1/route", json={**BODY, "requester_role": "nwas"}, headers=_auth(app, "nwas-desk"))
    assert ok.status_code == 200
    other = client.post("/api/v1/route", json={**BODY, "requester_role": "gp"}, headers=_auth(app, "nwas-desk"))
    assert other.status_code == 403 and "'nwas'" in other.get_json()["errors"]["requester_role"]
    kiosk = client.post("/api/v1/route", json={**BODY, "requester_role": "nwas"}, headers=_auth(app, "kiosk"))
    assert kiosk.status_code == 403


def test_a_made_up_token_is_anonymous(client):
    resp = client.post("/api/v1/route", json={**BODY, "requester_role": "nwas"},
                       headers={"Authorization": "Bearer uec_not_a_token"})
    assert resp.status_code == 403


def test_anonymous_nhs111_route_gets_the_public_line_only(client):
    answer = client.post("/api/v1/route", json={**BODY, "requester_role": "nhs111"}).get_json()
    assert PRO_LINE not in str(answer)
    assert _offer(answer)["phone"] != PRO_LINE
    assert all(s["capacity"].get("set_by") is None for s in answer["services"])
    assert "ward-sister-jones" not in str(answer)


def test_authenticated_professionals_get_the_professional_line(app, client):
    for name in ("nwas-desk", "nhs111-desk"):
        answer = client.post("/api/v1/route", json=BODY, headers=_auth(app, name)).get_json()
        assert _offer(answer)["phone"] == PRO_LINE, name


def test_a_public_token_does_not_see_professional_lines(app, client):
    answer = client.post("/api/v1/route", json={**BODY, "requester_role": "public"},
                         headers=_auth(app, "nwas-desk")).get_json()
    assert PRO_LINE not in str(answer)  # the caller chose to act as the public


def test_triage_answers_are_redacted_too(app, client):
    body = {"complaint": "fall", "age": 80, "sex": "female", "location": {"postcode": "PR1 8XJ"},
            "answers": {"fall_on_floor": True}}
    anonymous = client.post("/api/v1/triage", json=body).get_json()
    assert PRO_LINE not in str(anonymous)
    pro = client.post("/api/v1/triage", json=body, headers=_auth(app, "nwas-desk")).get_json()
    if pro["status"] == "complete" and any(s["id"] == SERVICE for s in pro["services"]):
        assert _offer(pro)["phone"] == PRO_LINE


def test_services_list_hides_professional_lines_from_anonymous_callers(app, client):
    anonymous = client.get("/api/v1/services").get_json()
    assert PRO_LINE not in str(anonymous)
    assert all(s["phone_professional"] is None for s in anonymous["services"])
    pro = client.get("/api/v1/services", headers=_auth(app, "nwas-desk")).get_json()
    assert next(s for s in pro["services"] if s["id"] == SERVICE)["phone_professional"] == PRO_LINE
    kiosk = client.get("/api/v1/services", headers=_auth(app, "kiosk")).get_json()
    assert PRO_LINE not in str(kiosk)


def test_staff_usernames_are_redacted_from_anonymous_route_answers():
    from uec.disclosure import redact_answer
    answer = {"services": [{"id": "a", "phone": "pro", "capacity": {"status": "amber", "set_by": "jones"}}]}

    class Svc:
        phone_public = "0300 1"
    out = redact_answer(answer, {"a": Svc()})
    assert out["services"][0] == {"id": "a", "phone": "0300 1", "capacity": {"status": "amber", "set_by": None}}
