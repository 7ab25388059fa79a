"""Turn JSON request bodies into core calls, collecting every bad field with what to fix."""
from __future__ import annotations

import math
import re
from collections.abc import Mapping  # isinstance against typing.Mapping costs ~1 us a check
from datetime import date, datetime, timezone
from typing import Any

# Bounds every request body must keep to (checked before any field is read, so nothing
# downstream meets a 400-digit integer, NaN, a megabyte of text or a thousand levels of nesting).
MAX_DEPTH = 8              # {"answers": {"q": [..]}} is 3 deep; nothing legitimate comes near 8
MAX_ITEMS = 500            # keys or list items in one object or list
MAX_TEXT = 200             # characters in any string not listed in TEXT_LIMITS
TEXT_LIMITS = {"complaint": 1000, "complaints": 1000}  # the caller's words, in brief (each, for a list)
MAX_SAFE_INT = 2 ** 53     # beyond this a JSON number loses precision in most clients
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099  # `at` outside these is a typing slip, not a call


class InputError(ValueError):
    """Bad input: `errors` maps each field to a message; the web layer answers 400 with it."""

    def __init__(self, errors: Mapping[str, str], *, extra: Mapping[str, Any] | None = None):
        self.errors = dict(errors)
        self.extra = dict(extra or {})
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def require_object(body: Any) -> Mapping[str, Any]:
    """The body as a mapping, after checking its size bounds (InputError naming each field over them)."""
    if not isinstance(body, Mapping):
        raise InputError({"body": "must be a JSON object"})
    errors = bounds_errors(body)
    if errors:
        raise InputError(errors)
    return body


def bounds_errors(body: Any, *, path: str = "") -> dict[str, str]:
    """Every field of `body` that breaks the size bounds, keyed by its dotted path (no recursion)."""
    errors: dict[str, str] = {}
    stack: list[tuple[str, Any, int]] = [(path, body, 0)]
    while stack:
        where, value, depth = stack.pop()
        field = where or "body"
        if isinstance(value, (Mapping, list, tuple)):
            if depth >= MAX_DEPTH:
                errors[field] = f"is nested too deeply: at most {MAX_DEPTH} levels of objects and lists"
                continue
            if len(value) > MAX_ITEMS:
                errors[field] = f"has {len(value)} items: at most {MAX_ITEMS}"
                continue
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            for key, child in items:
                if isinstance(key, str) and len(key) > MAX_TEXT:
                    errors[field] = f"has a key longer than {MAX_TEXT} characters"
                    break
                stack.append((f"{where}.{key}" if where else str(key), child, depth + 1))
        elif isinstance(value, str):
            top, _, rest = where.partition(".")
            listed = rest.isdigit()  # an item of a top-level list ("complaints.0") keeps its list's limit
            limit = TEXT_LIMITS.get(where) or (TEXT_LIMITS.get(top) if listed else None) or MAX_TEXT
            if len(value) > limit:
                errors[top if listed and top in TEXT_LIMITS else field] = (
                    f"is too long ({len(value)} characters): at most {limit}")
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if abs(value) > MAX_SAFE_INT:
                errors[field] = "is too large a number: give a value between -2^53 and 2^53"
        elif isinstance(value, float) and not math.isfinite(value):
            errors[field] = "must be a finite number (not NaN or Infinity)"
    return errors


def parse_at(value: Any, errors: dict[str, str], *, field: str = "at") -> datetime:
    if value in (None, ""):
        return datetime.now(timezone.utc)
    if not isinstance(value, str):
        errors[field] = "must be an ISO 8601 date-time string with offset, e.g. 2026-11-23T21:30:00+00:00"
        return datetime.now(timezone.utc)
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        errors[field] = "must be an ISO 8601 date-time with offset, e.g. 2026-11-23T21:30:00+00:00"
        return datetime.now(timezone.utc)
    if not EARLIEST_YEAR <= dt.year <= LATEST_YEAR:
        errors[field] = f"must be a date-time in the years {EARLIEST_YEAR} to {LATEST_YEAR}"
        return datetime.now(timezone.utc)
    if dt.tzinfo is None:
        from directory.opening import LONDON
        dt = dt.replace(tzinfo=LONDON)  # a bare local time is UK time
    return dt.astimezone(timezone.utc)


def parse_age(value: Any, errors: dict[str, str], *, required: bool) -> float | None:
    if value is None:
        if required:
            errors["age"] = "is required: age in years (0.5 for six months)"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 130:
        errors["age"] = "must be a number of years from 0 to 130 (0.5 for six months)"
        return None
    return float(value)


def parse_sex(value: Any, errors: dict[str, str], *, required: bool) -> str | None:
    if value is None:
        if required:
            errors["sex"] = "is required: 'female', 'male' or 'unknown'"
        return None
    if not isinstance(value, str) or value not in ("female", "male", "unknown"):
        errors["sex"] = "must be 'female', 'male' or 'unknown'"
        return None
    return value


def parse_limit(value: Any, errors: dict[str, str]) -> int:
    if value is None:
        return 5
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 50:
        errors["limit"] = "must be a whole number from 1 to 50"
        return 5
    return value


def check_unknown(body: Mapping[str, Any], allowed: set[str], errors: dict[str, str]) -> None:
    for key in body:
        if key not in allowed:
            errors[key] = f"is not a known field; known fields are {', '.join(sorted(allowed))}"


_UK_DATE = re.compile(r"^\s*(\d{1,2})\s*[/.\- ]\s*(\d{1,2})\s*[/.\- ]\s*(\d{2}|\d{4})\s*$")
_UK_TIME = re.compile(r"^\s*(\d{1,2})\s*[:.h]?\s*(\d{2})\s*$")


def parse_uk_date_time(date_text: str, time_text: str, errors: dict[str, str], *, field: str = "at",
                       today: date | None = None) -> str | None:
    """A UK day/month/year date and a 24-hour time as a bare ISO local time ('2026-12-06T14:30'),
    whatever the browser's locale; both empty is None (now). A time alone is today."""
    date_text, time_text = (date_text or "").strip(), (time_text or "").strip()
    if not date_text and not time_text:
        return None
    if today is None:
        from directory.opening import LONDON
        today = datetime.now(LONDON).date()
    day = today
    if date_text:
        m = _UK_DATE.match(date_text)
        if not m:
            errors[field] = "Enter the date as day/month/year, for example 06/12/2026"
            return None
        d, mo, y = (int(g) for g in m.groups())
        y = 2000 + y if y < 100 else y
        try:
            day = date(y, mo, d)
        except ValueError:
            errors[field] = f"{date_text} is not a real date: enter day/month/year, for example 06/12/2026"
            return None
    if not time_text:
        errors[field + "_time"] = "Enter the time of the call as 24-hour hours and minutes, for example 14:30"
        return None
    m = _UK_TIME.match(time_text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        errors[field + "_time"] = "Enter the time as 24-hour hours and minutes, for example 14:30 or 02:05"
        return None
    return f"{day.isoformat()}T{int(m.group(1)):02d}:{int(m.group(2)):02d}"
