"""Opening times: overnight spans, bank holidays, dated overrides, clock changes, last arrival."""
from datetime import date, datetime, timedelta, timezone

import pytest

from directory.opening import LONDON, OpeningError, OpeningTimes, is_bank_holiday, next_bank_holiday


def uk(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=LONDON).astimezone(timezone.utc)


def test_overnight_session_runs_past_midnight():
    o = OpeningTimes.from_dict({"weekly": {"daily": ["22:00-08:00"]}})
    assert o.is_open(uk(2026, 11, 23, 23, 30))
    assert o.is_open(uk(2026, 11, 24, 7, 59))
    assert not o.is_open(uk(2026, 11, 24, 8, 0))
    assert not o.is_open(uk(2026, 11, 24, 12, 0))


def test_monday_night_session_is_open_early_tuesday_only():
    o = OpeningTimes.from_dict({"weekly": {"mon": ["18:30-08:00"]}})
    assert o.is_open(uk(2026, 11, 24, 3, 0))        # Tuesday 03:00, from Monday's session
    assert not o.is_open(uk(2026, 11, 23, 3, 0))    # Monday 03:00: Sunday had no session


def test_always_open():
    o = OpeningTimes.from_dict({"always": True})
    assert o.is_open(uk(2026, 12, 25, 3, 0)) and o.open_span(uk(2026, 12, 25, 3, 0))


def test_bank_holidays_are_computed_not_typed():
    assert is_bank_holiday(date(2026, 12, 25)) and is_bank_holiday(date(2026, 12, 28))  # Boxing Day substitute
    assert is_bank_holiday(date(2027, 3, 29))  # Easter Monday 2027
    assert not is_bank_holiday(date(2026, 11, 23))
    assert next_bank_holiday(date(2026, 11, 23))[0] == date(2026, 12, 25)


def test_bank_holiday_sessions_replace_the_weekday():
    o = OpeningTimes.from_dict({"weekly": {"weekdays": ["08:00-20:00"]}, "bank_holidays": ["10:00-14:00"]})
    assert not o.is_open(uk(2026, 12, 25, 9, 0))
    assert o.is_open(uk(2026, 12, 25, 11, 0))
    assert o.is_open(uk(2026, 12, 24, 9, 0))


def test_bank_holiday_closed_and_date_override():
    o = OpeningTimes.from_dict({"weekly": {"daily": ["08:00-20:00"]}, "bank_holidays": [],
                                "dates": {"2026-12-24": ["08:00-12:00"]}})
    assert not o.is_open(uk(2026, 12, 25, 12, 0))
    assert o.is_open(uk(2026, 12, 24, 11, 0)) and not o.is_open(uk(2026, 12, 24, 13, 0))


def test_clock_changes_keep_local_wall_time():
    o = OpeningTimes.from_dict({"weekly": {"daily": ["08:00-20:00"]}})
    # 29 March 2026: clocks go forward; 08:00 BST is 07:00 UTC
    assert o.is_open(datetime(2026, 3, 29, 7, 0, tzinfo=timezone.utc))
    assert not o.is_open(datetime(2026, 3, 29, 6, 59, tzinfo=timezone.utc))
    # 25 October 2026: clocks go back; 08:00 GMT is 08:00 UTC
    assert not o.is_open(datetime(2026, 10, 25, 7, 30, tzinfo=timezone.utc))
    assert o.is_open(datetime(2026, 10, 25, 8, 0, tzinfo=timezone.utc))


def test_overnight_across_clock_change_is_an_hour_longer():
    o = OpeningTimes.from_dict({"weekly": {"sat": ["22:00-08:00"]}})
    span = o.open_span(uk(2026, 10, 24, 23, 0))
    assert span[1] - span[0] == timedelta(hours=11)


@pytest.mark.parametrize("bad,field", [
    ({"weekly": {"mon": ["8-20"]}}, "opening.weekly.mon[0]"),
    ({"weekly": {"funday": ["08:00-20:00"]}}, "opening.weekly"),
    ({"weekly": {"mon": ["08:00-08:00"]}}, "opening.weekly.mon[0]"),
    ({"dates": {"25/12/2026": []}}, "opening.dates"),
])
def test_bad_opening_times_name_the_field(bad, field):
    with pytest.raises(OpeningError) as exc:
        OpeningTimes.from_dict(bad)
    assert exc.value.field == field


def test_round_trip():
    d = {"weekly": {"weekdays": ["08:00-20:00"], "sat": ["09:00-13:00", "14:00-17:00"]},
         "bank_holidays": [], "dates": {"2026-12-25": []}}
    o = OpeningTimes.from_dict(d)
    assert OpeningTimes.from_dict(o.to_dict()) == o
