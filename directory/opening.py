"""Opening times: weekly sessions, overnight spans, bank holidays and dated overrides, in UK time."""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, Mapping
from zoneinfo import ZoneInfo

import holidays

LONDON = ZoneInfo("Europe/London")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GROUPS = {"daily": DAYS, "weekdays": DAYS[:5], "weekends": DAYS[5:]}
_SESSION = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")

Session = tuple[int, int]  # minutes from midnight; end <= start means it runs past midnight


class OpeningError(ValueError):
    """Opening times that cannot be understood; `field` names where."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


def parse_session(text: str, *, field: str) -> Session:
    m = _SESSION.match(str(text).strip())
    if not m:
        raise OpeningError(field, f"{text!r} is not a session like '08:00-20:00' (24-hour clock; "
                                  "'22:00-08:00' runs past midnight, '00:00-24:00' is all day)")
    h1, m1, h2, m2 = map(int, m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start >= 24 * 60:
        raise OpeningError(field, f"{text!r} starts at 24:00; start at 00:00 instead")
    if start == end:
        raise OpeningError(field, f"{text!r} opens and closes at the same time; use '00:00-24:00' for all day")
    return start, end


def format_session(s: Session) -> str:
    return f"{s[0] // 60:02d}:{s[0] % 60:02d}-{s[1] // 60:02d}:{s[1] % 60:02d}"


@lru_cache(maxsize=64)
def bank_holidays(year: int) -> frozenset[date]:
    """England and Wales bank holidays, computed by the `holidays` package (not typed in)."""
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_bank_holiday(day: date) -> bool:
    return day in bank_holidays(day.year)


def next_bank_holiday(after: date) -> tuple[date, str]:
    for year in (after.year, after.year + 1):
        h = holidays.country_holidays("GB", subdiv="ENG", years=year)
        for d in sorted(h):
            if d >= after:
                return d, h[d]
    raise LookupError("no bank holiday found")  # pragma: no cover


@dataclass(frozen=True)
class OpeningTimes:
    always: bool = False
    weekly: dict[int, tuple[Session, ...]] = field(default_factory=dict)
    bank_holiday: tuple[Session, ...] | None = None  # None: as the weekday
    dates: dict[date, tuple[Session, ...]] = field(default_factory=dict)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | str | None, *, field: str = "opening") -> "OpeningTimes":
        if d in (None, "24/7") or (isinstance(d, Mapping) and d.get("always")):
            return cls(always=True)
        if not isinstance(d, Mapping):
            raise OpeningError(field, "must be {always: true} or {weekly: {...}, bank_holidays: [...], dates: {...}}")
        unknown = set(d) - {"always", "weekly", "bank_holidays", "dates"}
        if unknown:
            raise OpeningError(field, f"unknown keys {sorted(unknown)}")
        weekly: dict[int, tuple[Session, ...]] = {i: () for i in range(7)}
        raw = d.get("weekly") or {}
        if not isinstance(raw, Mapping):
            raise OpeningError(f"{field}.weekly", "must map days (mon..sun, daily, weekdays, weekends) to sessions")
        for key in list(_GROUPS) + list(DAYS):  # groups first, so a named day overrides its group
            if key in raw:
                sessions = cls._sessions(raw[key], f"{field}.weekly.{key}")
                for day in _GROUPS.get(key, (key,)):
                    weekly[DAYS.index(day)] = sessions
        bad = set(raw) - set(_GROUPS) - set(DAYS)
        if bad:
            raise OpeningError(f"{field}.weekly", f"unknown day names {sorted(bad)}; use mon..sun, daily, weekdays, weekends")
        bh = d.get("bank_holidays")
        bank = None if bh is None else cls._sessions(bh, f"{field}.bank_holidays")
        dates = {}
        for k, v in (d.get("dates") or {}).items():
            try:
                day = k if isinstance(k, date) else date.fromisoformat(str(k))
            except ValueError:
                raise OpeningError(f"{field}.dates", f"{k!r} is not a date like 2026-12-25") from None
            dates[day] = cls._sessions(v, f"{field}.dates.{k}")
        return cls(always=False, weekly=weekly, bank_holiday=bank, dates=dates)

    @staticmethod
    def _sessions(value: Any, field: str) -> tuple[Session, ...]:
        if value in (None, "closed"):
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise OpeningError(field, "must be a list of sessions like ['08:00-20:00'] ([] = closed)")
        return tuple(sorted(parse_session(v, field=f"{field}[{i}]") for i, v in enumerate(value)))

    def to_dict(self) -> dict[str, Any]:
        if self.always:
            return {"always": True}
        d: dict[str, Any] = {"weekly": {DAYS[i]: [format_session(s) for s in self.weekly.get(i, ())] for i in range(7)}}
        if self.bank_holiday is not None:
            d["bank_holidays"] = [format_session(s) for s in self.bank_holiday]
        if self.dates:
            d["dates"] = {k.isoformat(): [format_session(s) for s in v] for k, v in sorted(self.dates.items())}
        return d

    # -- queries --------------------------------------------------------------------------
    def sessions_on(self, day: date) -> tuple[Session, ...]:
        if self.always:
            return ((0, 24 * 60),)
        if day in self.dates:
            return self.dates[day]
        if self.bank_holiday is not None and is_bank_holiday(day):
            return self.bank_holiday
        return self.weekly.get(day.weekday(), ())

    def intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Merged open intervals (UTC) overlapping [start, end]."""
        if self.always:
            return [(start - timedelta(days=1), end + timedelta(days=1))]
        merged = self._merged(start.astimezone(LONDON).date() - timedelta(days=1), end.astimezone(LONDON).date())
        return [(a, b) for a, b in merged if b > start and a <= end]

    def _merged(self, first: date, last: date) -> tuple[tuple[datetime, datetime], ...]:
        """The merged sessions of local days first..last as UTC intervals, computed once per day range.

        Routing asks the same few day ranges for every request of a day, so each service's spans are
        built once (exact to the minute, clock changes included) and then only scanned.
        """
        cache = self.__dict__.get("_span_cache")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_span_cache", cache)  # frozen dataclass: a private memo, not a field
        key = (first, last)
        hit = cache.get(key)
        if hit is not None:
            return hit
        spans: list[tuple[datetime, datetime]] = []
        day = first
        while day <= last:
            for s, e in self.sessions_on(day):
                # an end at or before the start runs past midnight into the next day
                spans.append((_local(day, s), _local(day, e + (24 * 60 if e <= s else 0))))
            day += timedelta(days=1)
        spans.sort()
        merged: list[tuple[datetime, datetime]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        if len(cache) >= 256:  # bounded: callers may ask about any date
            cache.clear()
        cache[key] = out = tuple(merged)
        return out

    def open_span(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The open interval containing `at`, or None if closed then."""
        for a, b in self.intervals(at, at):
            if a <= at < b:
                return a, b
        return None

    def is_open(self, at: datetime) -> bool:
        return self.open_span(at) is not None

    def next_opening(self, at: datetime, *, within: timedelta = timedelta(days=8)) -> datetime | None:
        for a, b in self.intervals(at, at + within):
            if b > at:
                return max(a, at)
        return None

    def timeline(self, day: date) -> "OpeningTimes | Timeline":
        """What answers `open_span` and `next_opening` for times from local `day` onwards: one search
        asks them of every candidate service, so the spans of the days around `day` are merged once
        per service and day and then bisected (the service itself when it is always open)."""
        if self.always:
            return self
        cache = self.__dict__.get("_timelines")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_timelines", cache)  # frozen dataclass: a private memo, not a field
        line = cache.get(day)
        if line is None:
            if len(cache) >= 16:
                cache.clear()
            line = cache[day] = Timeline(self, day)
        return line


class Timeline:
    """One service's merged open spans over local days `day`-1 .. `day`+TIMELINE_DAYS, answering
    `open_span` and `next_opening` (within 8 days) as OpeningTimes does, by bisection. A time the
    spans do not cover for that question is passed to the OpeningTimes itself."""

    __slots__ = ("opening", "starts", "ends", "lo", "hi")
    DAYS_AHEAD = 9

    def __init__(self, opening: OpeningTimes, day: date):
        spans = opening._merged(day - timedelta(days=1), day + timedelta(days=self.DAYS_AHEAD))
        self.opening = opening
        self.starts = [a for a, _ in spans]
        self.ends = [b for _, b in spans]
        # OpeningTimes.intervals(start, end) merges local days start-1 .. end: inside [lo, hi) those
        # are all within the days merged here, so the answers are the same
        self.lo = _local(day, 0)
        self.hi = _local(day + timedelta(days=self.DAYS_AHEAD + 1), 0)

    def open_span(self, at: datetime) -> tuple[datetime, datetime] | None:
        if not (self.lo <= at < self.hi):
            return self.opening.open_span(at)
        i = bisect_right(self.starts, at) - 1
        if i >= 0 and at < self.ends[i]:
            return self.starts[i], self.ends[i]
        return None

    def next_opening(self, at: datetime, *, within: timedelta = timedelta(days=8)) -> datetime | None:
        end = at + within
        if not (self.lo <= at and end < self.hi):
            return self.opening.next_opening(at, within=within)
        i = bisect_right(self.ends, at)  # the first span that ends after `at`
        if i < len(self.starts) and self.starts[i] <= end:
            return max(self.starts[i], at)
        return None


def _local(day: date, minutes: int) -> datetime:
    """A local wall-clock time as an aware UTC datetime (the earlier instant if ambiguous)."""
    extra_days, minutes = divmod(minutes, 24 * 60)
    d = day + timedelta(days=extra_days)
    naive = datetime.combine(d, time(minutes // 60, minutes % 60))
    return naive.replace(tzinfo=LONDON).astimezone(timezone.utc)
