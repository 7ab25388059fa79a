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


# -- Timeline: the per-day bisection that routing uses must answer as OpeningTimes does ---------------
_PATTERNS = [
    {"weekly": {"daily": ["22:00-08:00"]}},
    {"weekly": {"weekdays": ["08:00-12:30", "13:30-18:30"], "sat": ["09:00-12:00"]}},
    {"weekly": {"mon": ["18:30-08:00"], "fri": ["18:30-24:00"], "sat": ["00:00-24:00"], "sun": ["00:00-08:00"]},
     "bank_holidays": ["00:00-24:00"]},
    {"weekly": {"weekdays": ["08:00-20:00"]}, "bank_holidays": ["10:00-14:00"],
     "dates": {"2026-12-24": ["08:00-13:00"], "2027-03-29": [], "2026-10-25": ["00:30-03:30"]}},
    {"weekly": {"daily": ["01:00-02:30"]}},  # the hour the clocks change
    {"weekly": {"daily": ["00:00-24:00"]}},  # open all day, every day, as weekly sessions
    {"weekly": {"tue": ["10:00-11:00"]}},
]


@pytest.mark.parametrize("pattern", _PATTERNS)
@pytest.mark.parametrize("day", [date(2026, 12, 4), date(2026, 12, 23), date(2027, 3, 27), date(2026, 10, 24),
                                 date(2027, 3, 28)])
def test_timeline_answers_as_opening_times(pattern, day):
    o = OpeningTimes.from_dict(pattern)
    line = o.timeline(day)
    start = datetime(day.year, day.month, day.day, tzinfo=LONDON).astimezone(timezone.utc)
    for step in range(0, 3 * 24 * 60, 7):  # every 7 minutes over three days, inside and past its cover
        at = start + timedelta(minutes=step)
        want, got = o.open_span(at), line.open_span(at)
        if want != got:
            # the one allowed difference: OpeningTimes merges only the day before and the day of `at`,
            # so sessions that chain across those days' edges are cut at a midnight; the timeline sees more
            assert want is not None and got is not None and got[0] <= want[0] and want[1] <= got[1]
            midnight = datetime.min.time()
            assert want[0] == got[0] or want[0].astimezone(LONDON).time() == midnight
            assert want[1] == got[1] or want[1].astimezone(LONDON).time() == midnight
        assert line.next_opening(at) == o.next_opening(at)
        assert line.next_opening(at, within=timedelta(hours=3)) == o.next_opening(at, within=timedelta(hours=3))
    assert o.timeline(day) is line  # merged once per service and day


def test_timeline_of_an_always_open_service_is_the_service():
    o = OpeningTimes.from_dict({"always": True})
    assert o.timeline(date(2026, 12, 4)) is o


def test_all_day_weekly_sessions_are_open_across_midnight_in_routing():
    """Open 00:00-24:00 every day is open at 23:50 until well after midnight, not 'closing soon'."""
    o = OpeningTimes.from_dict({"weekly": {"daily": ["00:00-24:00"]}})
    at = uk(2026, 12, 4, 23, 50)
    span = o.timeline(date(2026, 12, 4)).open_span(at)
    assert span and span[1] - at > timedelta(days=1)
