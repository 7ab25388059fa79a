"""Scenario bundles: parsing, day/time resolution, expectations, the bundled LSC set, the page and `uec scenarios run`."""
from datetime import date, datetime

import pytest

from directory import scenarios as sc
from directory.opening import is_bank_holiday
from triage import load_rules
from admin_fixtures import accounts, app, signed_in, store  # noqa: F401

DISPOSITIONS = load_rules().dispositions


def test_parse_names_every_bad_field():
    with pytest.raises(sc.ScenarioError) as e:
        sc.parse("", {"disposition": "NOPE", "age": "old", "sex": "x", "requester_role": "boss", "when": "someday",
                      "expect": "not", "colour": "red"}, dispositions=DISPOSITIONS)
    assert set(e.value.errors) == {"name", "fields", "disposition", "postcode", "age", "sex", "requester_role",
                                   "expect", "when"}


def test_days_resolve_to_the_next_such_day_and_weekdays_skip_bank_holidays():
    s = sc.parse("x", {"disposition": "ED_1H", "postcode": "PR2 9HT", "when": "mon 03:00", "expect": "rph-ed"})
    at = s.at(date(2026, 12, 26))                         # Mon 28 Dec 2026 is a bank holiday: the next Monday is 4 Jan
    assert at.date() == date(2027, 1, 4) and at.hour == 3
    bh = sc.parse("y", {"disposition": "ED_1H", "postcode": "PR2 9HT", "when": "bank_holiday 14:30", "expect": "rph-ed"})
    assert bh.at(date(2026, 12, 27)).date() == date(2026, 12, 28) and is_bank_holiday(date(2026, 12, 28))
    fixed = sc.parse("z", {"disposition": "ED_1H", "postcode": "PR2 9HT", "when": "2026-07-01T03:00", "expect": "rph-ed"})
    assert fixed.at(date(2030, 1, 1)).utcoffset().total_seconds() == 3600        # BST
    assert fixed.request(date.today())["location"] == {"postcode": "PR2 9HT"}


def test_run_compares_first_service_and_not_offered():
    items = [sc.parse("first ok", {"disposition": "ED_1H", "postcode": "PR2 9HT", "when": "tue 10:00", "expect": "a"}),
             sc.parse("first wrong", {"disposition": "ED_1H", "postcode": "PR2 9HT", "when": "tue 10:00", "expect": "b"}),
             sc.parse("not ok", {"disposition": "ED_1H", "postcode": "PR2 9HT", "when": "tue 10:00", "expect": "not z"}),
             sc.parse("not wrong", {"disposition": "ED_1H", "postcode": "PR2 9HT", "when": "tue 10:00", "expect": "not b"}),
             sc.parse("error", {"disposition": "ED_1H", "postcode": "ZZ9 9ZZ", "when": "tue 10:00", "expect": "a"})]
    seen = []

    def route(body):
        seen.append(body)
        if body["location"]["postcode"] == "ZZ9 9ZZ":
            raise ValueError("unknown postcode")
        return {"services": [{"id": "a"}, {"id": "b"}]}

    out = {o.scenario.name: o for o in sc.run(items, route, today=date(2026, 11, 23))}
    assert [out[n].ok for n in ("first ok", "first wrong", "not ok", "not wrong", "error")] == [True, False, True, False, False]
    assert out["first wrong"].message == "expected b first, got a"
    assert "position 2" in out["not wrong"].message and "could not route" in out["error"].message
    assert seen[0]["at"].startswith("2026-11-24T10:00") and seen[0]["requester_role"] == "nhs111"


def test_bundled_scenarios_cover_every_place_night_and_day_weekday_and_bank_holiday():
    from geodata import Areas, Gazetteer
    items = sc.load_file(dispositions=DISPOSITIONS)
    today = date(2026, 11, 23)
    cover = set()
    for s in items:
        p = Gazetteer.default().locate_postcode(s.postcode)
        hit = Areas.default().area_of(p.lat, p.lon)
        assert hit is not None, s.name
        at = s.at(today)
        night = at.hour >= 22 or at.hour < 7
        cover.add((hit.place, night, is_bank_holiday(at.date())))
    for place in ("Lancashire", "Blackpool", "Blackburn with Darwen", "South Cumbria"):
        assert any(p == place and n for p, n, b in cover), f"{place}: no night scenario"
        assert any(p == place and not n for p, n, b in cover), f"{place}: no day scenario"
        assert any(p == place and b for p, n, b in cover), f"{place}: no bank holiday scenario"
        assert any(p == place and not b for p, n, b in cover), f"{place}: no weekday scenario"


def test_scenarios_are_seeded_once_and_run_from_the_page(app, store, monkeypatch):
    b = signed_in(app, "preston")
    page = b.get("/admin/scenarios").get_data(as_text=True)
    n = len(sc.load_file())
    assert f"Run all {n} scenarios" in page
    assert b.post("/admin/scenarios", {"action": "delete", "name": "Preston adult, weekday 3am"}).status_code == 302
    assert f"Run all {n - 1} scenarios" in b.get("/admin/scenarios").get_data(as_text=True)   # not re-seeded
    r = b.post("/admin/scenarios", {"action": "save", "name": "new one", "disposition": "ED_1H", "postcode": "",
                                    "when": "tue 25:00", "expect": ""})
    assert r.status_code == 400 and "give a postcode" in r.get_data(as_text=True)
    r = b.post("/admin/scenarios", {"action": "save", "name": "Bad one", "disposition": "ED_1H", "postcode": "PR2 9HT",
                                    "when": "tue 10:00", "expect": "nobody-first"})
    assert r.status_code == 302
    care = app.extensions["uec"]
    monkeypatch.setattr(care, "route", lambda body: {"services": [{"id": "rph-ed"}]})
    html = b.post("/admin/scenarios/run").get_data(as_text=True)
    assert "DIFFERS" in html and "expected nobody-first first, got rph-ed" in html
    assert html.index("Bad one") < html.index("Preston adult chest pain")          # differences first
    v = signed_in(app, "viewer")
    assert v.post("/admin/scenarios", {"action": "delete", "name": "Bad one"}).status_code == 403


def test_cli_scenarios_run_exits_1_when_any_differ(tmp_path, monkeypatch, capsys):
    from uec import cli
    from uec.core import UrgentCare
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'd.sqlite'}")
    monkeypatch.setenv("UEC_VAR_DIR", str(tmp_path))

    def fake_route(self, body):           # answers what each bundled scenario expects
        for s in sc.load_file():
            if s.request(date.today()) == body:
                return {"services": [{"id": "other"}] if s.negative else [{"id": s.target}]}
        return {"services": []}

    monkeypatch.setattr(UrgentCare, "route", fake_route)
    assert cli.main(["scenarios", "run"]) == 0
    assert "0 differ" in capsys.readouterr().out
    f = tmp_path / "s.yaml"
    f.write_text("scenarios:\n- {name: x, disposition: ED_1H, postcode: PR2 9HT, when: 'tue 10:00', expect: rph-ed}\n")
    assert cli.main(["scenarios", "run", "--file", str(f)]) == 1
    assert "DIFFERS" in capsys.readouterr().out
    f.write_text("scenarios:\n- {name: x, disposition: NOPE, postcode: PR2 9HT, when: 'tue 10:00', expect: rph-ed}\n")
    assert cli.main(["scenarios", "run", "--file", str(f)]) == 2


def test_bundled_scenarios_pass_on_the_real_directory_with_road_routing(tmp_path):
    from directory.store import Store
    from uec.config import Settings
    from uec.core import UrgentCare
    settings = Settings.from_env(database_url=f"sqlite:///{tmp_path / 'd.sqlite'}", var_dir=tmp_path)
    care = UrgentCare(settings, store=Store(settings.database_url))
    care.initialise()
    outcomes = sc.run(sc.load_file(dispositions=DISPOSITIONS), care.route)
    bad = [f"{o.scenario.name}: {o.message}" for o in outcomes if not o.ok]
    assert not bad, bad
