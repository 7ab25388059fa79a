"""The outcome page as a handover: 999 action first, phones, addresses and referral routes, the services
left out and why, worsening advice, and the call summary, through the Flask test client on the real data."""
from __future__ import annotations

import re
from html import unescape

import pytest

from tests.conftest import make_app
from tests.test_web_handler import answer_all, start, submit, text

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("outcome"))
    app.testing = True
    app.extensions["uec"].accounts.create_user("handler1", PASSWORD, "viewer")
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def sign_in(client):
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/admin/login", data={"username": "handler1", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code in (302, 303), resp.status_code


def outcome(client, answers, **values):
    resp, _ = answer_all(client, start(client, **values), answers)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_999_outcome_puts_the_transfer_first_with_the_category_and_what_to_tell_the_caller(client):
    page = outcome(client, {"fall_collapse": "yes"})
    words = text(page)
    assert "Transfer to 999 now" in words and "Category 2: emergency" in words
    assert words.index("Transfer to 999 now") < words.index("Disposition AMB_CAT2")
    assert words.index("Transfer to 999 now") < words.index("Where the crew may take the patient")
    assert re.search(r"<h1[^>]*>.*Transfer to 999 now", page, re.S)
    tell = page.split('id="tell-caller"', 1)[1].split("</ul>", 1)[0]
    assert "Do not give them anything to eat or drink" in tell and "call 999 again" in tell


def test_mental_health_emergency_is_police_and_ambulance(client):
    page = outcome(client, {"mh_immediate_danger": "yes"}, age="30", complaint="mental health crisis")
    words = text(page)
    assert "Disposition MH_EMERGENCY" in words
    assert "Transfer to 999 now: police and ambulance" in words and "Do not put yourself in danger" in words


def test_services_show_public_phone_and_address_and_hide_professional_lines_from_the_public(app, client):
    care = app.extensions["uec"]
    svc = care.store.get("progress-falls-lifting")
    care.store.update("progress-falls-lifting", {**svc.to_dict(), "phone_professional": "01772 000111"},
                      expected_version=svc.version, user="test")
    care.refresh_snapshot()  # see the change now, not after the refresh interval
    try:
        page = outcome(client, {"fall_on_floor": "yes"})
        words = text(page)
        assert "Disposition FALLS_LIFT" in words
        row = page.split('data-service-id="progress-falls-lifting"', 1)[1].split("</tr>", 1)[0]
        assert "01772 000111" not in page
        assert "Referral only" in text(row) and "team comes to the patient" in text(row)
        assert "No public number listed" in text(row)

        sign_in(client)
        page = outcome(client, {"fall_on_floor": "yes"})
        row = page.split('data-service-id="progress-falls-lifting"', 1)[1].split("</tr>", 1)[0]
        assert 'href="tel:01772000111"' in row and "Professional:" in text(row)
        assert "Refer by calling the professional line 01772 000111" in text(row)
        assert "sign-in-hint" not in page
    finally:
        svc2 = care.store.get("progress-falls-lifting")
        care.store.update("progress-falls-lifting", svc.to_dict(), expected_version=svc2.version, user="test")
        care.refresh_snapshot()


def test_site_services_show_address_and_public_number(client):
    page = outcome(client, {"fall_collapse": "no"}, age="40", complaint="toothache", location="PR1 8XJ")
    for row in page.split('class="nhsuk-table__row uec-service"')[1:]:
        cell = row.split('uec-contact', 1)[1].split("</td>", 1)[0]
        assert "Public:" in cell or "No public number listed" in cell
        assert "uec-address" in cell or "Telephone service" in cell


def test_a_red_ed_is_listed_under_other_services_with_its_reason(app, client):
    care = app.extensions["uec"]
    care.store.set_capacity("rph-ed", "red", user="test")
    care.refresh_snapshot()
    try:
        page = outcome(client, {"fall_intense_pain": "yes"})
        assert "Disposition ED_4H" in text(page)
        offered = re.findall(r'data-service-id="([^"]+)"', page)
        assert "rph-ed" not in offered
        details = page.split('<details class="nhsuk-details" id="excluded">', 1)[1].split("</details>", 1)[0]
        assert "Other services and why not" in text(details)
        row = details.split('data-excluded-id="rph-ed"', 1)[1].split("</tr>", 1)[0]
        assert "capacity red" in text(row)
        # collapsed, and after the options table
        assert page.index('id="excluded"') > page.index('id="services"')
        assert not re.search(r'<details[^>]*id="excluded"[^>]*\bopen\b', page)
    finally:
        care.store.set_capacity("rph-ed", "green", user="test")
        care.refresh_snapshot()


def test_every_outcome_has_worsening_advice(client):
    page = outcome(client, {"fall_on_floor": "no"})
    advice = page.split('id="safety-netting"', 1)[1].split("</div>", 1)[0]
    assert "call 999" in text(advice).lower() or "NHS 111" in text(advice)


def test_summary_to_copy_or_print_names_the_chosen_service(client):
    page = client.get("/").get_data(as_text=True)
    ref = re.search(r'name="ref" value="(LSC-\d{6}-\d{4}-[0-9A-F]{4})"', page).group(1)
    resp, _ = answer_all(client, submit_start(client, page), {"fall_intense_pain": "yes"})
    page = resp.get_data(as_text=True)
    ids = re.findall(r'data-service-id="([^"]+)"', page)
    summary = text(page.split('id="summary-text"', 1)[1].split("</pre>", 1)[0])
    assert f"Case reference: {ref}" in summary and "Chosen service: none chosen" in summary
    resp = submit(client, page, "summary-form", "summary-update", chosen_service=ids[1])
    page = resp.get_data(as_text=True)
    summary = text(page.split('id="summary-text"', 1)[1].split("</pre>", 1)[0])
    assert f"Case reference: {ref}" in summary
    assert "Time of assessment: Wed 9 Dec 2026, 10:30 (as entered, UK time)" in summary
    assert "Disposition: ED_4H" in summary and "Possible fracture after a fall" in summary
    assert "Is there new intense pain" in summary and "caller's words: \"fell over cant get up\"" in summary
    chosen = re.search(r'data-service-id="%s"\s+data-summary="([^"]+)"' % re.escape(ids[1]), page).group(1)
    assert "Chosen service: " + unescape(chosen) in summary and re.search(r"\d{4,5} \d{6}", unescape(chosen))
    assert re.search(r'id="choose-%s"[^>]*checked' % re.escape(ids[1]), page)
    css = client.get("/static/uec/uec.css").get_data(as_text=True)
    assert "@media print" in css and "#summary" in css.split("@media print", 1)[1]


def submit_start(client, page):
    return submit(client, page, "call-form", "continue", age="82", sex="female", location="PR1 8XJ",
                  complaint="fell over cant get up", at_date="09/12/2026", at_time="10:30")


def test_nothing_about_the_patient_is_stored_or_cached(app, client, tmp_path):
    from sqlalchemy import MetaData, select
    page = client.get("/").get_data(as_text=True)
    words = "tripped and fell zebra crossing"
    resp = submit(client, page, "call-form", "continue", age="77", sex="male", location="LA9 4HX",
                  complaint=words)
    assert resp.headers["Cache-Control"] == "no-store"
    resp, _ = answer_all(client, resp, {"fall_on_floor": "yes"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    engine = app.extensions["uec"].store.engine
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                flat = " ".join(str(v) for v in row)
                assert "zebra" not in flat and "LA9 4HX" not in flat, table.name
