"""Admin pages: search, editing without lost updates, opening times, closures, verification, rankings, gaps, audit."""
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from directory.model import service_from_dict
from directory.opening import OpeningTimes, next_bank_holiday
from web.admin import fuzzy_search, week_view
from admin_fixtures import accounts, app, browser, hidden, signed_in, store  # noqa: F401

SEED = Path(__file__).resolve().parents[1] / "directory" / "data" / "lsc_services.yaml"


@pytest.fixture(scope="module")
def seed_services():
    return [service_from_dict(s) for s in yaml.safe_load(SEED.read_text())["services"]]


@pytest.mark.parametrize("query, expected", [
    ("royal prestn", "rph-ed"),              # typo in the name
    ("PR2 9HT", "rph-ed"),                   # postcode with space
    ("la144lf", "fgh-ed"),                   # postcode without space, lower case
    ("Blakpool Victoria", "bvh-ed"),
    ("falls lifting", "vitaline-falls-lifting"),
])
def test_fuzzy_search_finds_by_name_postcode_and_type(seed_services, query, expected):
    ids = [s.id for s in fuzzy_search(seed_services, query)[:8]]
    assert expected in ids


def test_fuzzy_search_by_type_lists_that_type_first(seed_services):
    top = fuzzy_search(seed_services, "urgent treatment centre")[:5]
    assert all(s.type == "urgent_treatment_centre" for s in top)
    assert fuzzy_search(seed_services, "") == seed_services


def test_week_view_shows_overnight_bank_holiday_and_dated_changes():
    o = OpeningTimes.from_dict({"weekly": {"mon": ["22:00-08:00"], "tue": ["08:00-20:00"]},
                                "bank_holidays": ["10:00-14:00"], "dates": {"2026-12-29": []}})
    week = week_view(o, date(2026, 12, 28))          # Monday 28 Dec 2026 is the Boxing Day bank holiday
    assert week[0]["why"].startswith("bank holiday") and week[0]["sessions"] == ["10:00 to 14:00"]
    assert week[1]["why"] == "dated change" and week[1]["sessions"] == ["closed"]
    plain = week_view(o, date(2027, 1, 11))
    assert plain[0]["sessions"] == ["22:00 to 08:00 the next day (overnight)"]
    assert plain[2]["sessions"] == ["closed"]


def _edit_form(b, sid):
    page = b.get(f"/admin/services/{sid}/edit").get_data(as_text=True)
    return page


def _form_from_service(s, **changes):
    from werkzeug.datastructures import MultiDict
    from web.admin import service_to_form
    f = service_to_form(s)
    md = MultiDict()
    for k, v in f.items():
        if isinstance(v, list):
            for x in v:
                md.add(k, x)
        else:
            md.add(k, "" if v is None else str(v))
    for k in ("referral_routes_present", "accepts_present", "opening_present"):
        md[k] = "1"
    for k, v in changes.items():
        md[k] = v
    return md


def test_edit_saves_opening_times_and_shows_the_resulting_week(app, store):
    b = signed_in(app, "admin")
    s = store.get("cdh-ed")
    page = _edit_form(b, "cdh-ed")
    assert hidden(page, "version") == str(s.version) and "Next bank holiday" in page
    form = _form_from_service(s, opening_mon="22:00-08:00", opening_bank_mode="sessions",
                              opening_bank="10:00-16:00", opening_dates="2031-12-25: closed")
    preview = b.post("/admin/services/cdh-ed/edit", form | {"action": "preview"})
    assert preview.status_code == 200 and "the next day (overnight)" in preview.get_data(as_text=True)
    assert store.get("cdh-ed").version == s.version                 # a preview saves nothing
    r = b.post("/admin/services/cdh-ed/edit", form | {"action": "save"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    new = store.get("cdh-ed")
    assert new.version == s.version + 1
    assert new.opening.to_dict()["weekly"]["mon"] == ["22:00-08:00"]
    assert new.opening.bank_holiday == ((600, 960),) and new.opening.dates == {date(2031, 12, 25): ()}
    entry = store.audit_log(service_id="cdh-ed")[0]
    assert entry["user"] == "admin" and set(entry["new"]) == {"opening"}
    view = b.get("/admin/services/cdh-ed").get_data(as_text=True)
    day, name = next_bank_holiday(datetime.now().date())
    assert name in view and "10:00 to 16:00" in view


def test_validation_messages_are_per_field_and_nothing_is_saved(app, store):
    b = signed_in(app, "admin")
    s = store.get("rph-utc")
    form = _form_from_service(s, opening_always="", opening_tue="8am-8pm", age_min="-3", age_max="1",
                              postcode="WN1 2NN", lat="", lon="", opening_dates="christmas closed")
    r = b.post("/admin/services/rph-utc/edit", form | {"action": "save"})
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "is not a session like" in html and "24-hour clock" in html                 # opening.weekly.tue
    assert "outside Lancashire and" in html and "border service" in html              # postcode outside LSC
    assert "write a date, a colon" in html                                             # opening.dates
    assert store.get("rph-utc").version == s.version
    # no referral route at all is refused too
    form2 = _form_from_service(s)
    del form2["referral_routes"]
    r = b.post("/admin/services/rph-utc/edit", form2 | {"action": "save"})
    assert r.status_code == 400 and "tick at least one route" in r.get_data(as_text=True)


def test_border_service_can_be_kept_outside_lsc(app, store):
    b = signed_in(app, "admin")
    s = store.get("raei-ed")                                     # Wigan: outside LSC, already confirmed
    page = _edit_form(b, "raei-ed")
    assert 'name="confirm_outside_lsc" value="1" checked' in page
    r = b.post("/admin/services/raei-ed/edit", _form_from_service(s, notes="checked", confirm_outside_lsc="1"))
    assert r.status_code == 302 and store.get("raei-ed").notes == "checked"


def test_concurrent_edit_shows_conflict_with_both_versions_and_never_overwrites(app, store):
    alice = signed_in(app, "admin")
    s = store.get("bvh-utc")
    form = _form_from_service(s, phone_public="01253 111111")
    # bob saves first
    store.update("bvh-utc", s.to_dict() | {"phone_public": "01253 222222"}, expected_version=s.version, user="bob")
    r = alice.post("/admin/services/bvh-utc/edit", form | {"action": "save"})
    html = r.get_data(as_text=True)
    assert r.status_code == 409
    assert "01253 111111" in html and "01253 222222" in html and "not saved" in html and "bob" in html
    assert store.get("bvh-utc").phone_public == "01253 222222"          # bob's change stands
    # re-applying deliberately posts alice's values against bob's version
    assert hidden(html, "version") == str(s.version + 1)
    import re
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    from werkzeug.datastructures import MultiDict
    md = MultiDict([(k, v) for k, v in fields if k != "csrf_token"])
    import html as htmlmod
    md = MultiDict([(k, htmlmod.unescape(v)) for k, v in md.items(multi=True)])
    r = alice.post("/admin/services/bvh-utc/edit", md | {"action": "save"})
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    now = store.get("bvh-utc")
    assert now.phone_public == "01253 111111" and now.version == s.version + 2
    assert [e["user"] for e in store.audit_log(service_id="bvh-utc", limit=2)] == ["admin", "bob"]


def test_close_temporarily_and_reopen(app, store):
    b = signed_in(app, "blackpool")
    s = store.get("whitegate-utc")
    r = b.post("/admin/services/whitegate-utc/close", {"version": s.version, "closed_reason": "",
                                                       "closed_from": "2026-12-01", "closed_until": ""})
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "say why" in html and "expected to reopen" in html
    r = b.post("/admin/services/whitegate-utc/close", {"version": s.version, "closed_reason": "flooding",
                                                       "closed_from": "2026-12-01", "closed_until": "2026-11-01"})
    assert r.status_code == 400 and "must not be before closed_from" in r.get_data(as_text=True)
    r = b.post("/admin/services/whitegate-utc/close", {"version": s.version, "closed_reason": "flooding",
                                                       "closed_from": "2026-12-01", "closed_until": "2026-12-20"})
    assert r.status_code == 302
    c = store.get("whitegate-utc")
    assert c.status == "temporarily_closed" and c.closed_reason == "flooding"
    assert c.status_at(date(2026, 12, 10)) == "temporarily_closed" and c.status_at(date(2026, 12, 21)) == "active"
    assert store.audit_log(service_id="whitegate-utc")[0]["action"] == "close"
    assert "flooding" in b.get("/admin/services/whitegate-utc").get_data(as_text=True)
    r = b.post("/admin/services/whitegate-utc/reopen", {"version": c.version})
    assert r.status_code == 302 and store.get("whitegate-utc").status == "active"
    # reopening with a stale version is a conflict, not an overwrite
    r = b.post("/admin/services/whitegate-utc/reopen", {"version": c.version})
    assert r.status_code == 409


def test_commissioner_creates_a_service_in_their_area_only(app, store):
    b = signed_in(app, "blackpool")
    assert b.get("/admin/services/new").status_code == 200
    base = {"name": "Test Walk-in", "type": "minor_injuries_unit", "provider": "Test", "address": "1 Test St",
            "postcode": "FY1 4TE", "lat": "", "lon": "", "sex": "any", "age_min": "0", "age_max": "",
            "last_arrival_minutes": "30", "verify_interval_days": "90", "referral_routes_present": "1",
            "referral_routes": "walk_in", "accepts_present": "1", "opening_present": "1",
            "opening_mon": "08:00-20:00", "catchment_lads": "", "action": "save"}
    r = b.post("/admin/services/new", base | {"id": "test-wic"})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    s = store.get("test-wic")
    assert s.opening.weekly[0] == ((480, 1200),) and s.opening.weekly[1] == ()
    assert abs(s.lat - 53.8) < 0.1                                     # located from its postcode
    r = b.post("/admin/services/new", base | {"id": "test-wic2", "postcode": "PR2 9HT"})
    assert r.status_code == 403                                       # Preston is not Blackpool's
    r = b.post("/admin/services/new", base | {"id": "test-wic"})
    assert r.status_code == 400 and "already used" in r.get_data(as_text=True)


def test_verification_lists_due_services_and_confirms_in_one_click(app, store):
    s = store.get("rli-ed")
    store.update("rli-ed", s.to_dict() | {"verified_on": "2020-01-01"}, expected_version=s.version, user="t")
    b = signed_in(app, "admin")
    page = b.get("/admin/verification").get_data(as_text=True)
    assert "Royal Lancaster Infirmary" in page and "overdue" in page
    r = b.post("/admin/services/rli-ed/verify")
    assert r.status_code == 302
    assert store.get("rli-ed").verified_on == datetime.now(timezone.utc).date()
    assert store.audit_log(service_id="rli-ed")[0]["action"] == "verify"
    assert 'href="/admin/services/rli-ed"' not in b.get("/admin/verification").get_data(as_text=True)


def test_capacity_page_sets_status_with_reset(app, store):
    b = signed_in(app, "admin")
    r = b.post("/admin/services/bvh-ed/capacity", {"status": "purple"})
    assert r.status_code == 303
    r = b.post("/admin/services/bvh-ed/capacity", {"status": "red"})
    assert r.status_code == 302
    c = store.get("bvh-ed").capacity
    assert c.status == "red" and c.reset_minutes == 240
    assert c.effective(c.set_at + timedelta(minutes=241))[0] == "green"


def test_commissioner_ranks_types_for_their_area(app, store):
    b = signed_in(app, "blackpool")
    page = b.get("/admin/rankings?area=Blackpool&key=utc").get_data(as_text=True)
    assert "Regional default: 1. Urgent treatment centre" in page
    r = b.post("/admin/rankings", {"area": "Blackpool", "key": "utc", "rank1": "minor_injuries_unit",
                                   "rank2": "minor_injuries_unit"})
    assert r.status_code == 400 and "each service type may appear once" in r.get_data(as_text=True)
    r = b.post("/admin/rankings", {"area": "Blackpool", "key": "utc", "rank1": "minor_injuries_unit",
                                   "rank2": "urgent_treatment_centre", "rank3": "emergency_department"})
    assert r.status_code == 302
    assert store.local_rankings()[("Blackpool", "utc")] == ["minor_injuries_unit", "urgent_treatment_centre",
                                                            "emergency_department"]
    assert b.post("/admin/rankings", {"area": "Preston", "key": "utc", "rank1": "minor_injuries_unit"}).status_code == 403
    r = b.post("/admin/rankings", {"area": "Blackpool", "key": "utc", "action": "clear"})
    assert r.status_code == 302 and ("Blackpool", "utc") not in store.local_rankings()


def test_gap_log_groups_by_service_and_rule_with_an_svg_chart(app, store):
    now = datetime.now(timezone.utc)
    store.log_gaps([("cdh-ed", "closing_soon", "closes within 30 minutes of arrival")] * 3, disposition="ED_4H", at=now)
    store.log_gaps([("cdh-ed", "closing_soon", "closes within 30 minutes of arrival"),
                    ("whitegate-utc", "closed", "closed on arrival")], disposition="UTC_4H", at=now - timedelta(days=1))
    b = signed_in(app, "viewer")
    page = b.get("/admin/gaps").get_data(as_text=True)
    assert "Chorley and South Ribble" in page and "closing_soon" in page
    assert "<td>4</td><td>2</td>" in page                     # 4 times over 2 days
    svg = b.get("/admin/gaps.svg")
    assert svg.mimetype == "image/svg+xml" and svg.data.lstrip().startswith(b"<?xml") and b"<svg" in svg.data


def test_audit_page_lists_every_change(app, store):
    b = signed_in(app, "admin")
    b.post("/admin/services/rph-ed/capacity", {"status": "amber"})
    page = b.get("/admin/audit").get_data(as_text=True)
    assert "capacity" in page and "sign_in" in page and "admin" in page


def test_odd_query_strings_and_redirect_targets_are_safe(app):
    b = signed_in(app, "admin")
    assert b.get("/admin/gaps?days=abc").status_code == 200
    assert b.get("/admin/gaps.svg?days=-5").status_code == 200
    r = b.post("/admin/services/rph-ed/verify", {"back": "https://evil.example/"})
    assert r.status_code == 302 and "evil" not in r.headers["Location"]
    r = b.post("/admin/login?next=//evil.example/x", {"username": "admin", "password": "correct horse battery"})
    assert "evil" not in r.headers["Location"]
