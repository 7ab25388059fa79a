"""The outcome log (no patient details), the dashboard figures and JSON, the coverage map and its cache."""
from __future__ import annotations

import json
from pathlib import Path
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from directory import tables as t
from tests.admin_fixtures import accounts, app, signed_in, store  # noqa: F401  (fixtures)

POSTCODE = re.compile(r"\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b")


def _rows(app):
    care = app.extensions["uec"]
    assert care.recorder.flush(10)
    with care.store.engine.connect() as c:
        return [dict(r._mapping) for r in c.execute(select(t.outcomes).order_by(t.outcomes.c.id))]


def test_outcome_log_holds_no_postcode_point_free_text_or_answers(app):
    c = app.test_client()
    words = "my nan has had a fall and cannot get up"
    r = c.post("/api/v1/triage", json={"age": 83, "sex": "female", "complaint": "fall",
                                       "answers": {}, "location": {"postcode": "FY1 1AA"}})
    assert r.status_code in (200, 400)
    route = c.post("/api/v1/route", json={"disposition": "UTC_4H", "location": {"postcode": "PR1 8XJ"}, "age": 34})
    assert route.status_code == 200
    body = route.get_json()
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,32}", body["outcome_ref"])
    c.post("/api/v1/route", json={"disposition": "FALLS_LIFT", "location": {"lat": 53.8175, "lon": -3.0357}, "age": 88})
    c.post("/api/v1/triage", json={"age": 40, "sex": "male", "complaint": words, "location": {"postcode": "LA1 4RP"}})
    c.post("/api/v1/triage", json={"age": 50, "sex": "male", "complaints": ["chest pain", words],
                                   "answers": {}, "location": {"postcode": "LA1 4RP"}})
    rows = _rows(app)
    assert len(rows) >= 2
    lat, lon = body["location"]["lat"], body["location"]["lon"]
    for row in rows:
        assert set(row) == {c.name for c in t.outcomes.columns}
        text = json.dumps(row, default=str)
        assert not POSTCODE.search(text), text  # no postcode
        assert str(round(lat, 3)) not in text and str(round(lon, 3)) not in text  # no point
        assert "nan has had" not in text and "answers" not in text and "trail" not in text
        assert row["hour"].minute == 0 and row["hour"].second == 0  # to the hour
        assert row["age_band"] in ("0-4", "5-15", "16-17", "18-64", "65-74", "75+", "unknown")
        assert row["lsoa"] is None or re.fullmatch(r"E0\d{7}", row["lsoa"])
    first = next(r for r in rows if r["ref"] == body["outcome_ref"])
    assert first["kind"] == "route" and first["disposition"] == "UTC_4H" and first["cls"] == "utc"
    assert first["lad"] == "E07000123" and first["place"] == "Lancashire" and first["lsoa"].startswith("E01")
    assert first["offered"] == [s["id"] for s in body["services"]]
    assert first["capacity"] == [s["capacity"]["status"] for s in body["services"]]
    assert first["age_band"] == "18-64"
    falls = [r for r in rows if r["disposition"] == "FALLS_LIFT"]
    assert falls and falls[0]["age_band"] == "75+" and falls[0]["place"] == "Blackpool"


def test_the_service_chosen_is_recorded_against_the_reference(app):
    c = app.test_client()
    body = c.post("/api/v1/route", json={"disposition": "UTC_4H", "location": {"postcode": "PR1 8XJ"}}).get_json()
    ref, offered = body["outcome_ref"], [s["id"] for s in body["services"]]
    r = c.post(f"/api/v1/outcomes/{ref}/chosen", json={"service": offered[1]})
    assert r.status_code == 200 and r.get_json() == {"ref": ref, "chosen": offered[1]}
    row = next(x for x in _rows(app) if x["ref"] == ref)
    assert row["chosen"] == offered[1]
    bad = c.post(f"/api/v1/outcomes/{ref}/chosen", json={"service": "not-offered-here"})
    assert bad.status_code == 400 and "service" in bad.get_json()["errors"]
    assert c.post(f"/api/v1/outcomes/{'x' * 22}/chosen", json={"service": offered[0]}).status_code == 404
    assert c.post("/api/v1/outcomes/short/chosen", json={"service": offered[0]}).get_json()["errors"]["ref"]
    assert c.post(f"/api/v1/outcomes/{ref}/chosen", data="x").status_code == 400


def test_planning_queries_are_not_logged_as_calls(app):
    c = app.test_client()
    at = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    assert c.post("/api/v1/route", json={"disposition": "UTC_4H", "location": {"postcode": "PR1 8XJ"},
                                         "at": at}).status_code == 200
    assert _rows(app) == []


def test_retention_purges_old_rows(app):
    care = app.extensions["uec"]
    from uec.intelligence import volume
    volume.write(care.store.engine, volume.rows(care, count=300, end=date.today(), days=800, per_district=1))
    n_before = len(_rows(app))
    gone = care.recorder.purge()
    rows = _rows(app)
    assert gone > 0 and len(rows) == n_before - gone
    cutoff = datetime.now(timezone.utc) - timedelta(days=care.recorder.settings.retention_days)
    assert all(r["hour"].replace(tzinfo=timezone.utc) >= cutoff for r in rows)


@pytest.fixture
def filled(app):
    from uec.intelligence import volume
    care = app.extensions["uec"]
    volume.write(care.store.engine, volume.rows(care, count=3000, end=date.today(), days=28, per_district=1))
    return app


def test_dashboard_figures_agree_with_the_rows(filled):
    b = signed_in(filled, "viewer")
    page = b.get("/admin/intelligence")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for name in ("classes", "places", "days", "hours", "ed_reasons", "falls", "mental_health", "gaps", "capacity",
                 "verification"):
        assert f'id="figure-{name}"' in html
        assert b.get(f"/admin/intelligence/{name}.svg").data.startswith(b"<svg")
        assert b.get(f"/admin/intelligence/{name}.csv").status_code == 200
    rows = _rows(filled)
    places = b.get("/admin/intelligence/places.json").get_json()
    assert places["totals"]["calls"] == len(rows)
    away = [r for r in rows if r["cls"] not in ("ambulance", "emergency_department")
            and r["first_type"] != "emergency_department"]
    assert places["totals"]["streamed_away_from_ed"] == len(away)
    bp = b.get("/admin/intelligence/places.json?place=Blackpool").get_json()
    assert [r[0] for r in bp["rows"]] == ["Blackpool"]
    assert bp["rows"][0][1] == sum(1 for r in rows if r["place"] == "Blackpool")
    hours = b.get("/admin/intelligence/hours.json").get_json()
    assert len(hours["rows"]) == 24 and sum(r[1] for r in hours["rows"]) == len(rows)
    falls = b.get("/admin/intelligence/falls.json").get_json()
    assert falls["totals"]["falls_calls"] == sum(1 for r in rows if r["cls"] == "falls_response")
    csv_text = b.get("/admin/intelligence/classes.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "class,calls,share"


def test_summary_api_needs_a_viewer_and_names_bad_fields(filled):
    c = filled.test_client()
    assert c.get("/api/v1/intelligence/summary").status_code == 401
    token = filled.extensions["uec"].accounts.create_token("viewer")
    h = {"Authorization": f"Bearer {token}"}
    s = c.get("/api/v1/intelligence/summary?place=Lancashire", headers=h).get_json()
    assert s["calls"] > 0 and set(s["by_place"]) == {"Lancashire"} and len(s["by_hour"]) == 24
    assert 0 <= s["share_streamed_away_from_ed"] <= 1
    bad = c.get("/api/v1/intelligence/summary?from=2026-02-30&place=Mars", headers=h)
    assert bad.status_code == 400 and set(bad.get_json()["errors"]) == {"from", "place"}
    assert c.get("/api/v1/intelligence/summary?from=2026-02-01&to=2026-01-01", headers=h).status_code == 400


def test_dashboard_needs_sign_in(app):
    r = app.test_client().get("/admin/intelligence")
    assert r.status_code == 302 and "/admin/login" in r.headers["Location"]


def test_coverage_is_cached_per_directory_version_type_and_slot(app):
    from uec.intelligence.coverage import CACHE
    c = app.test_client()
    at = "2026-12-02T14:05:00%2B00:00"
    first = c.get(f"/api/v1/coverage?type=urgent_treatment_centre&at={at}").get_json()
    hits = CACHE.hits
    again = c.get("/api/v1/coverage?type=urgent_treatment_centre&at=2026-12-02T14:10:00%2B00:00").get_json()
    assert CACHE.hits == hits + 1 and again["overall"] == first["overall"]
    assert 0.5 < first["overall"]["within"]["30"]["share"] <= 1


def test_coverage_map_page_and_errors(app):
    b = signed_in(app, "viewer")
    r = b.get("/admin/intelligence/map?type=emergency_department&day=sat&time=03:00&place=South%20Cumbria")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<svg" in html and 'data-lsoa="E01' in html
    from geodata.areas import Areas
    south = sum(1 for x in Areas.default().lsoas() if x.place == "South Cumbria")
    assert html.count("data-lsoa=") == south  # South Cumbria's LSOAs only
    assert "Within 30 min" in html
    bad = b.get("/admin/intelligence/map?time=25:99")
    assert bad.status_code == 400 and "must be a time" in bad.get_data(as_text=True)


def test_whatif_closing_a_utc_never_changes_the_live_directory(filled):
    c = filled.test_client()
    care = filled.extensions["uec"]
    token = care.accounts.create_token("blackpool")
    h = {"Authorization": f"Bearer {token}"}
    before = care.store.directory_version()
    r = c.post("/api/v1/whatif", headers=h, json={"changes": [{"service": "rph-utc", "close": True}], "weeks": 4,
                                                 "name": "Close Preston UTC"})
    assert r.status_code == 200, r.data[:500]
    body = r.get_json()
    day = body["access"]["urgent_treatment_centre"]["day"]
    assert day["overall"]["lose_population"] >= 0 and day["overall"]["further_population"] > 0
    assert day["places"]["Lancashire"]["further_population"] == day["overall"]["further_population"]
    rep = body["replay"]
    assert rep["answers_in_period"] == 3000 and rep["answers_changed"] >= rep["first_service_changed"] >= 0
    assert body["saved_id"] >= 1
    assert care.store.directory_version() == before and care.store.get("rph-utc").status == "active"
    add = c.post("/api/v1/whatif", headers=h, json={"changes": [{"add": {"type": "urgent_treatment_centre",
                                                                           "postcode": "FY8 2AN"}}], "weeks": 0})
    gained = add.get_json()["access"]["urgent_treatment_centre"]["day"]["overall"]
    assert add.status_code == 200 and gained["nearer_population"] > 0 and gained["further_population"] == 0
    bad = c.post("/api/v1/whatif", headers=h, json={"changes": [{"service": "nope", "close": True},
                                                               {"add": {"type": "x", "postcode": "FY8 2AN"}}],
                                                   "weeks": 99})
    assert bad.status_code == 400 and set(bad.get_json()["errors"]) == {"weeks"}
    bad = c.post("/api/v1/whatif", headers=h, json={"changes": [{"service": "nope", "close": True},
                                                               {"service": "rph-utc", "hours": "daily 25:00-26:00"}]})
    assert bad.status_code == 400 and set(bad.get_json()["errors"]) == {"changes[0].service", "changes[1].hours"}
    assert c.post("/api/v1/whatif", json={"changes": []}).status_code == 401
    viewer = {"Authorization": f"Bearer {care.accounts.create_token('viewer')}"}
    assert c.post("/api/v1/whatif", headers=viewer, json={"changes": [{"service": "rph-utc", "close": True}],
                                                           "weeks": 0, "name": "x"}).status_code == 403


def test_rollups_written_with_each_batch_match_a_rebuild(app):
    c = app.test_client()
    for pc in ("PR1 8XJ", "FY1 1AA", "LA1 4RP"):
        c.post("/api/v1/route", json={"disposition": "UTC_4H", "location": {"postcode": pc}, "age": 30})
    c.post("/api/v1/route", json={"disposition": "FALLS_LIFT", "location": {"postcode": "BB2 1AX"}, "age": 85})
    rows = _rows(app)
    care = app.extensions["uec"]
    from uec.intelligence import rollup
    with care.store.engine.connect() as conn:
        daily = sorted(tuple(r) for r in conn.execute(select(t.outcome_daily)))
        hourly = sorted(tuple(r) for r in conn.execute(select(t.outcome_hourly)))
    assert sum(r[-1] for r in daily) == sum(r[-1] for r in hourly) == len(rows) == 4
    with care.store.engine.begin() as conn:
        rollup.rebuild(conn)
    with care.store.engine.connect() as conn:
        assert sorted(tuple(r) for r in conn.execute(select(t.outcome_daily))) == daily
        assert sorted(tuple(r) for r in conn.execute(select(t.outcome_hourly))) == hourly


def test_purge_cli_applies_retention(tmp_path, monkeypatch, capsys):
    from uec.cli import main
    from uec.config import Settings
    from uec.core import UrgentCare
    from uec.intelligence import volume
    monkeypatch.setenv("UEC_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    care = UrgentCare(Settings.from_env())
    care.initialise()
    volume.write(care.store.engine, volume.rows(care, count=200, end=date.today(), days=100, per_district=1))
    assert main(["purge-outcomes", "--days", "0"]) == 2
    assert main(["purge-outcomes", "--days", "30"]) == 0
    n = int(capsys.readouterr().out.split()[1].replace(",", ""))
    with care.store.engine.connect() as c:
        left = c.execute(select(func.count()).select_from(t.outcomes)).scalar()
        oldest = c.execute(select(func.min(t.outcome_daily.c.day))).scalar()
    assert n > 0 and left == 200 - n and oldest >= date.today() - timedelta(days=31)


def test_the_call_handler_page_logs_one_row_per_call_and_records_the_chosen_service(app):
    from tests.test_web_handler import answer_all, start, submit
    app.config["TESTING"] = True
    c = app.test_client()
    resp, _ = answer_all(c, start(c), {})
    page = resp.get_data(as_text=True)
    offered = re.findall(r'name="chosen_service" value="([^"]+)"', page)
    assert offered, "the outcome page offers services to choose"
    again = submit(c, page, "summary-form", "summary-update", chosen_service=offered[-1])
    assert again.status_code == 200
    submit(c, again.get_data(as_text=True), "summary-form", "summary-update", chosen_service=offered[0])
    rows = _rows(app)
    assert len(rows) == 1, [r["offered"] for r in rows]  # re-showing the outcome page is not another call
    assert rows[0]["chosen"] == offered[0] and rows[0]["kind"] == "triage" and rows[0]["age_band"] == "75+"


def test_generator_script_fills_the_log_and_its_rollups(tmp_path, monkeypatch, capsys):
    import runpy
    import sys
    monkeypatch.setenv("UEC_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(sys, "argv", ["generate_outcomes.py", "--rows", "500", "--days", "14", "--per-district", "1"])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(Path(__file__).resolve().parents[1] / "scripts" / "generate_outcomes.py"), run_name="__main__")
    assert done.value.code == 0 and "wrote 500 outcomes" in capsys.readouterr().out
    from sqlalchemy import create_engine
    eng = create_engine(f"sqlite:///{tmp_path / 'directory.sqlite'}")
    with eng.connect() as c:
        assert c.execute(select(func.count()).select_from(t.outcomes)).scalar() == 500
        assert c.execute(select(func.sum(t.outcome_daily.c.calls))).scalar() == 500
        days = c.execute(select(func.count(func.distinct(t.outcomes.c.day)))).scalar()
    assert 10 <= days <= 14
