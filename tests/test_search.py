"""Directory search rules, with travel times given directly (routing is tested in geodata)."""
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from directory.model import Capacity, service_from_dict
from directory.opening import LONDON
from directory.rankings import Rankings
from directory.search import Need, Origin, Patient, SearchOptions, search

PRESTON = Origin(53.76, -2.70, "E07000123", "Lancashire")
UTC_4H = Need("UTC_4H", "utc", 240, "UTC within 4 hours")
PC_12H = Need("PC_12H", "primary_care", 720, "GP within 12 hours")
SDEC = Need("SDEC_SAME_DAY", "sdec", 480)
FALLS = Need("FALLS_LIFT", "falls_response", 60)


@dataclass(frozen=True)
class T:
    minutes: float
    km: float = 10.0


def svc(id, type, opening=None, **kw):
    d = {"id": id, "name": id.upper(), "type": type, "provider": "NHS", "address": "x", "postcode": "PR2 9HT",
         "lat": 53.79, "lon": -2.70, "opening": opening or {"always": True}}
    d.update(kw)
    return service_from_dict(d)


def uk(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=LONDON).astimezone(timezone.utc)


RANK = Rankings.load()
MONDAY_NOON = uk(2026, 11, 23, 12)


def run(services, need=UTC_4H, at=MONDAY_NOON, travel=None, **kw):
    travel = travel or {s.id: T(10 + i) for i, s in enumerate(services)}
    return search(services, need, PRESTON, at, travel=travel, rankings=RANK, **kw)


def test_ranks_by_type_then_travel_time():
    ss = [svc("ed", "emergency_department"), svc("utc-far", "urgent_treatment_centre"),
          svc("utc-near", "urgent_treatment_centre")]
    r = run(ss, travel={"ed": T(5), "utc-far": T(30), "utc-near": T(12)})
    assert [s["id"] for s in r.services] == ["utc-near", "utc-far", "ed"]
    assert r.services[0]["rank"] == 1 and r.services[2]["rank"] == 3


def test_two_per_type_by_default():
    ss = [svc(f"utc{i}", "urgent_treatment_centre") for i in range(4)]
    r = run(ss)
    assert len(r.services) == 2
    assert {e["rule"] for e in r.excluded} == {"per_type_limit"} and len(r.excluded) == 2
    assert not r.gaps  # fitting services left out by the counts are not gaps


def test_last_arrival_margin_excludes_a_service_closing_soon():
    ss = [svc("utc", "urgent_treatment_centre", {"weekly": {"daily": ["08:00-20:00"]}}, last_arrival_minutes=30),
          svc("ed", "emergency_department")]
    r = run(ss, at=uk(2026, 11, 23, 19, 10), travel={"utc": T(25), "ed": T(40)})  # arrives 19:35
    assert [s["id"] for s in r.services] == ["ed"]
    assert r.excluded[0]["rule"] == "closing_soon"
    assert ("utc", "closing_soon", r.excluded[0]["reason"]) in r.gaps


def test_opens_later_within_the_timeframe_is_offered_with_opens_at():
    ss = [svc("gp", "gp_out_of_hours", {"weekly": {"daily": ["08:00-20:00"]}})]
    r = run(ss, need=PC_12H, at=uk(2026, 11, 24, 3, 0))
    assert r.services[0]["id"] == "gp" and r.services[0]["open_now"] is False
    assert r.services[0]["opens_at"].startswith("2026-11-24T08:00")


def test_never_empty_catch_all_to_two_nearest_eds():
    ss = [svc("utc", "urgent_treatment_centre", {"weekly": {"daily": ["08:00-20:00"]}}),
          svc("ed1", "emergency_department"), svc("ed2", "emergency_department"), svc("ed3", "emergency_department")]
    ranking_only_utc = Rankings(regional={"utc": ("urgent_treatment_centre",)})
    r = search(ss, UTC_4H, PRESTON, uk(2026, 11, 24, 2, 0), rankings=ranking_only_utc,
               travel={"utc": T(10), "ed1": T(30), "ed2": T(20), "ed3": T(50)})
    assert r.catch_all and [s["id"] for s in r.services] == ["ed2", "ed1"]
    assert all("catch_all" in s["flags"] for s in r.services)
    assert r.excluded[0]["id"] == "utc"


def test_catchment_excludes_callers_outside():
    ss = [svc("bpl-falls", "falls_lifting", catchment={"lads": ["E06000009"]},
              mobile={"bases": [{"name": "b", "lat": 53.8, "lon": -3.0}]}),
          svc("lancs-falls", "falls_lifting", catchment={"lads": ["E07000123"]},
              mobile={"bases": [{"name": "b", "lat": 53.7, "lon": -2.7}]})]
    r = run(ss, need=FALLS)
    assert [s["id"] for s in r.services] == ["lancs-falls"]
    assert r.services[0]["travel_direction"] == "team_to_caller"
    assert {"id": "bpl-falls"}.items() <= r.excluded[0].items() and r.excluded[0]["rule"] == "catchment"


@pytest.mark.parametrize("role,offered", [("public", False), ("nhs111", True), ("nwas", True), ("gp", True)])
def test_referral_only_sdec_is_not_for_walk_ins(role, offered):
    ss = [svc("sdec", "sdec_medical", referral_only=True, referral_routes=["nhs111", "nwas", "gp", "professional"]),
          svc("ed", "emergency_department")]
    r = run(ss, need=SDEC, requester_role=role)
    assert (r.services[0]["id"] == "sdec") is offered


def test_age_and_sex_eligibility():
    ss = [svc("paeds", "sdec_paediatric", age_max=15), svc("ed", "emergency_department")]
    assert run(ss, need=SDEC, patient=Patient(40, "male")).services[0]["id"] == "ed"
    assert run(ss, need=SDEC, patient=Patient(4, "male")).services[0]["id"] == "paeds"


def test_temporarily_closed_service_is_excluded_only_within_its_dates():
    ss = [svc("utc", "urgent_treatment_centre", status="temporarily_closed", closed_reason="flood",
              closed_from="2026-11-20", closed_until="2026-11-30"), svc("ed", "emergency_department")]
    assert run(ss).services[0]["id"] == "ed" and run(ss).excluded[0]["rule"] == "status"
    assert run(ss, at=uk(2026, 12, 2, 12)).services[0]["id"] == "utc"


def test_red_capacity_only_when_nothing_else_fits_and_flagged():
    red = Capacity("red", MONDAY_NOON - timedelta(minutes=30), "nurse", 240)
    ss = [svc("utc-red", "urgent_treatment_centre").with_capacity(red), svc("utc-ok", "urgent_treatment_centre")]
    r = run(ss, travel={"utc-red": T(5), "utc-ok": T(30)})
    assert [s["id"] for s in r.services] == ["utc-ok"]
    only_red = run([ss[0]], travel={"utc-red": T(5)})
    assert only_red.services[0]["id"] == "utc-red" and "capacity_red" in only_red.services[0]["flags"]


def test_capacity_resets_to_green_at_the_boundary():
    cap = Capacity("red", MONDAY_NOON, "nurse", 240)
    assert cap.effective(MONDAY_NOON + timedelta(minutes=239))[0] == "red"
    assert cap.effective(MONDAY_NOON + timedelta(minutes=240))[0] == "green"
    assert Capacity("green", MONDAY_NOON, "x").effective(MONDAY_NOON + timedelta(hours=25))[0] == "unknown"


def test_overdue_verification_is_flagged_but_routable():
    ss = [svc("utc", "urgent_treatment_centre", verified_on="2026-01-01", verify_interval_days=90)]
    r = run(ss)
    assert r.services[0]["id"] == "utc" and "verification_overdue" in r.services[0]["flags"]


def test_commissioner_ranking_for_an_area_with_regional_fallback():
    local = RANK.with_local({("E07000123", "utc"): ["minor_injuries_unit", "urgent_treatment_centre"]})
    ss = [svc("utc", "urgent_treatment_centre"), svc("miu", "minor_injuries_unit")]
    travel = {"utc": T(5), "miu": T(20)}
    r = search(ss, UTC_4H, PRESTON, MONDAY_NOON, travel=travel, rankings=local)
    assert r.services[0]["id"] == "miu" and r.ranking.scope == "E07000123"
    elsewhere = Origin(54.1, -3.2, "E07000027", "South Cumbria")
    r2 = search(ss, UTC_4H, elsewhere, MONDAY_NOON, travel=travel, rankings=local)
    assert r2.services[0]["id"] == "utc" and r2.ranking.scope == "regional"


def test_unreachable_and_too_far_are_excluded_with_reasons():
    ss = [svc("utc-a", "urgent_treatment_centre"), svc("utc-b", "urgent_treatment_centre"),
          svc("ed", "emergency_department")]
    r = run(ss, travel={"utc-b": T(200), "ed": T(20)})
    rules = {e["id"]: e["rule"] for e in r.excluded}
    assert rules == {"utc-a": "unreachable", "utc-b": "too_far"}


def test_phone_helplines_have_no_travel_and_are_never_too_far():
    ss = [svc("line", "crisis_line", access="phone"), svc("ed", "emergency_department")]
    r = run(ss, need=Need("MH_CRISIS_LINE", "mental_health_crisis", 60), travel={"ed": T(20)})
    line = r.services[0]
    assert line["id"] == "line" and line["travel_minutes"] is None and line["travel_direction"] == "phone"


def test_travel_limit_depends_on_the_disposition_class():
    assert RANK.max_travel_minutes("UTC_4H", "utc") == 60
    assert RANK.max_travel_minutes("AMB_CAT2", "ambulance") == 90
    ss = [svc("utc", "urgent_treatment_centre"), svc("ed", "emergency_department")]
    r = run(ss, travel={"utc": T(70), "ed": T(100)})
    assert [s["id"] for s in r.services] == ["ed"] and r.excluded[0]["rule"] == "too_far"


def test_category_4_offers_see_and_treat_options_but_keeps_an_ed_for_conveyance():
    cat4 = Need("AMB_CAT4", "ambulance", 180)
    ss = [svc(f"ucr{i}", "urgent_community_response") for i in range(2)] + \
         [svc(f"utc{i}", "urgent_treatment_centre") for i in range(2)] + \
         [svc(f"frail{i}", "sdec_frailty") for i in range(2)] + [svc("ed", "emergency_department")]
    r = run(ss, need=cat4, requester_role="nwas")
    types = [s["type"] for s in r.services]
    assert types[0] == "urgent_community_response" and types[-1] == "emergency_department" and len(types) == 5


def test_catchment_by_polygon_or_local_authority():
    square = {"type": "Polygon", "coordinates": [[[-2.8, 53.7], [-2.6, 53.7], [-2.6, 53.8], [-2.8, 53.8], [-2.8, 53.7]]]}
    inside = svc("poly", "urgent_treatment_centre", catchment={"polygon": square})
    assert inside.in_catchment(53.76, -2.70, None) and not inside.in_catchment(54.1, -3.2, None)
    both = svc("both", "urgent_treatment_centre", catchment={"lads": ["E07000027"], "polygon": square})
    assert both.in_catchment(54.1, -3.2, "E07000027") and both.in_catchment(53.76, -2.70, "E07000123")
    far = Origin(54.1, -3.2, "E07000031", "South Cumbria")
    r = search([inside, svc("ed", "emergency_department")], UTC_4H, far, MONDAY_NOON,
               travel={"poly": T(10), "ed": T(20)}, rankings=RANK)
    assert r.excluded[0] == r.excluded[0] | {"id": "poly", "rule": "catchment"}
    assert service_from_dict(inside.to_dict()).to_dict() == inside.to_dict()


def test_bad_catchment_polygon_names_the_field():
    import pytest as _pytest
    from directory.model import ServiceError
    with _pytest.raises(ServiceError) as exc:
        svc("bad", "urgent_treatment_centre", catchment={"polygon": {"type": "Point", "coordinates": [0, 0]}})
    assert "catchment.polygon" in exc.value.errors


def test_catch_all_honours_the_capacity_staleness_setting():
    """UEC_CAPACITY_STALE_HOURS reaches the catch-all too: a 3-hour-old green shows as unknown at 2 h."""
    at = uk(2026, 11, 24, 2, 0)
    green = Capacity("green", at - timedelta(hours=3), "nurse", 240)
    ss = [svc("utc", "urgent_treatment_centre", {"weekly": {"daily": ["08:00-20:00"]}}),
          svc("ed1", "emergency_department").with_capacity(green)]
    only_utc = Rankings(regional={"utc": ("urgent_treatment_centre",)})
    travel = {"utc": T(10), "ed1": T(30)}
    default = search(ss, UTC_4H, PRESTON, at, rankings=only_utc, travel=travel)
    assert default.catch_all and default.services[0]["capacity"]["status"] == "green"
    strict = search(ss, UTC_4H, PRESTON, at, rankings=only_utc, travel=travel,
                    options=SearchOptions(capacity_stale_after=timedelta(hours=2)))
    assert strict.catch_all and strict.services[0]["capacity"]["status"] == "unknown"
