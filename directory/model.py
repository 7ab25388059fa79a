"""The directory's data types: services, their eligibility, capacity and status."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping

from directory.opening import OpeningError, OpeningTimes

SERVICE_TYPES: dict[str, str] = {
    "emergency_department": "Emergency department (type 1)",
    "urgent_treatment_centre": "Urgent treatment centre",
    "minor_injuries_unit": "Minor injuries unit",
    "sdec_medical": "Same day emergency care (medical)",
    "sdec_surgical": "Same day emergency care (surgical)",
    "sdec_frailty": "Same day emergency care (frailty)",
    "sdec_paediatric": "Same day emergency care (paediatric)",
    "mhuac": "Mental health urgent assessment centre",
    "crisis_line": "Mental health crisis line",
    "crisis_cafe": "Crisis café / safe haven",
    "falls_lifting": "Falls lifting service",
    "urgent_community_response": "Urgent community response (2-hour)",
    "gp_out_of_hours": "GP out of hours",
    "urgent_dental": "Urgent dental service",
    "community_pharmacy": "Community pharmacy",
    "maternity_triage": "Maternity triage / assessment unit (obstetric unit)",
    "eye_casualty": "Hospital eye casualty (emergency eye service)",
    "urgent_eyecare": "Community urgent eyecare service (optometrists)",
    "own_gp": "Your own GP practice (routine appointment)",
}
REFERRAL_ROLES = ("walk_in", "nhs111", "nwas", "gp", "professional")
REQUESTER_ROLES = {
    "public": "walk_in", "walk_in": "walk_in", "nhs111": "nhs111", "call_handler": "nhs111",
    "nwas": "nwas", "nwas_clinician": "nwas", "gp": "gp", "professional": "professional",
}
STATUSES = ("active", "temporarily_closed", "closed")
ACCESS = ("site", "phone")  # phone: a helpline reached by telephone, where travel time does not apply
CAPACITY = ("green", "amber", "red")
_POSTCODE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")


class FieldErrors(ValueError):
    """Input the directory cannot accept: `errors` maps each bad field to what to fix."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class ServiceError(FieldErrors):
    """A service record is invalid."""


@dataclass(frozen=True)
class Base:
    name: str
    postcode: str | None
    lat: float
    lon: float


@dataclass(frozen=True)
class Capacity:
    status: str = "green"
    set_at: datetime | None = None
    set_by: str | None = None
    reset_minutes: int = 240

    def effective(self, at: datetime, *, stale_after: timedelta = timedelta(hours=24)) -> tuple[str, float | None]:
        """(status as it stands at `at`, its age in minutes): amber/red reset to green after
        `reset_minutes`; a status older than `stale_after` is 'unknown'."""
        if self.set_at is None:
            return "unknown", None
        age = (at - self.set_at).total_seconds() / 60
        if self.status in ("amber", "red") and age >= self.reset_minutes:
            return "green", age
        if age > stale_after.total_seconds() / 60:
            return "unknown", age
        return self.status, age


@dataclass(frozen=True)
class Service:
    id: str
    name: str
    type: str
    provider: str
    address: str
    postcode: str
    lat: float
    lon: float
    opening: OpeningTimes
    phone_public: str | None = None
    phone_professional: str | None = None
    age_min: float = 0
    age_max: float | None = None
    sex: str = "any"
    referral_routes: tuple[str, ...] = REFERRAL_ROLES
    referral_only: bool = False
    last_arrival_minutes: int = 30
    catchment_lads: tuple[str, ...] = ()
    catchment_polygon: Any = None  # a shapely (Multi)Polygon; with catchment_lads, a caller in either fits
    mobile_bases: tuple[Base, ...] = ()
    accepts: tuple[str, ...] | None = None
    access: str = "site"
    status: str = "active"
    closed_reason: str | None = None
    closed_from: date | None = None
    closed_until: date | None = None
    source: str | None = None
    notes: str | None = None
    verified_on: date | None = None
    verify_interval_days: int = 90
    capacity: Capacity = field(default_factory=Capacity)
    version: int = 1

    @property
    def mobile(self) -> bool:
        return bool(self.mobile_bases)

    def in_catchment(self, lat: float, lon: float, lad_code: str | None) -> bool:
        """Whether a caller at this point (in this local authority) may use the service."""
        if not self.catchment_lads and self.catchment_polygon is None:
            return True
        if lad_code is not None and lad_code in self.catchment_lads:
            return True
        if self.catchment_polygon is not None:
            from shapely import Point
            return bool(self.catchment_polygon.covers(Point(lon, lat)))
        return False

    @property
    def remote(self) -> bool:
        """Reached by telephone: no travel, offered wherever its catchment allows."""
        return self.access == "phone"

    def verification_due(self) -> date | None:
        return self.verified_on + timedelta(days=self.verify_interval_days) if self.verified_on else None

    def status_at(self, day: date) -> str:
        """'active', 'temporarily_closed' or 'closed' on that day."""
        if self.status == "temporarily_closed":
            if (self.closed_from and day < self.closed_from) or (self.closed_until and day > self.closed_until):
                return "active"
        return self.status

    def with_capacity(self, capacity: Capacity) -> "Service":
        return replace(self, capacity=capacity)

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "type": self.type, "provider": self.provider,
            "address": self.address, "postcode": self.postcode, "lat": self.lat, "lon": self.lon,
            "phone_public": self.phone_public, "phone_professional": self.phone_professional,
            "age_min": self.age_min, "age_max": self.age_max, "sex": self.sex,
            "referral_routes": list(self.referral_routes), "referral_only": self.referral_only,
            "opening": self.opening.to_dict(), "last_arrival_minutes": self.last_arrival_minutes,
            "catchment": _catchment_dict(self.catchment_lads, self.catchment_polygon),
            "mobile": {"bases": [{"name": b.name, "postcode": b.postcode, "lat": b.lat, "lon": b.lon}
                                 for b in self.mobile_bases]} if self.mobile_bases else None,
            "accepts": list(self.accepts) if self.accepts is not None else None,
            "access": self.access, "status": self.status, "closed_reason": self.closed_reason,
            "closed_from": self.closed_from.isoformat() if self.closed_from else None,
            "closed_until": self.closed_until.isoformat() if self.closed_until else None,
            "source": self.source, "notes": self.notes,
            "verified_on": self.verified_on.isoformat() if self.verified_on else None,
            "verify_interval_days": self.verify_interval_days,
        }


def normalise_postcode(text: str) -> str:
    t = re.sub(r"\s+", "", str(text or ""))[:20].upper()
    return f"{t[:-3]} {t[-3:]}" if len(t) >= 5 else t


#: Bounds every stored service keeps, so routing, the snapshot and every export can rely on them.
REGION = (52.9, -4.3, 55.3, -1.1)  # south, west, north, east: Lancashire and South Cumbria plus ~50 km
EARLIEST_DATE = date(2000, 1, 1)
FUTURE_YEARS = 5  # dates may run to today + 5 years
OPENING_FUTURE_YEARS = 10  # dated opening changes may be planned further ahead
MAX_AGE = 130
MAX_INT = 2 ** 53 - 1
MAX_TEXT = {"id": 64, "name": 200, "provider": 200, "address": 500, "postcode": 10, "phone_public": 40,
            "phone_professional": 40, "sex": 10, "access": 10, "status": 20, "closed_reason": 500,
            "source": 2000, "notes": 4000}
MAX_ITEMS = 50  # list fields: referral routes, accepts, catchment districts, mobile bases
MAX_DATED_CHANGES = 400  # opening.dates entries


def latest_date(today: date | None = None, *, years: int = FUTURE_YEARS) -> date:
    """The latest date a record may hold: `years` from today."""
    today = today or datetime.now(timezone.utc).date()
    try:
        return today.replace(year=today.year + years)
    except ValueError:  # 29 February
        return today.replace(year=today.year + years, day=28)


def _date(value: Any, key: str, errors: dict[str, str]) -> date | None:
    """A date between 2000-01-01 and five years from today, or None if empty."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        if not isinstance(value, str) or len(value) > 10:
            errors[key] = "must be a date like 2026-11-23"
            return None
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            errors[key] = f"{value!r} is not a date like 2026-11-23"
            return None
    if not EARLIEST_DATE <= value <= latest_date():
        errors[key] = f"must be between {EARLIEST_DATE.isoformat()} and {latest_date().isoformat()}"
        return None
    return value


def _text(value: Any, key: str, errors: dict[str, str], *, required: bool = False) -> str | None:
    """Text of bounded length (trimmed), or None if empty; anything else is an error naming the field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[key] = "is required"
        return None
    if not isinstance(value, str):
        errors[key] = "must be text"
        return None
    value = value.strip()
    limit = MAX_TEXT.get(key, 500)
    if len(value) > limit:
        errors[key] = f"must be at most {limit:,} characters (it has {len(value):,})"
        return None
    return value


def _number(value: Any, key: str, errors: dict[str, str], *, lo: float, hi: float, what: str,
            integer: bool = False) -> float | None:
    """A finite number in [lo, hi] (a whole one if `integer`); numeric text is read; bools are not numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        errors[key] = f"must be {what}"
        return None
    if isinstance(value, int) and abs(value) > MAX_INT:
        errors[key] = f"must be {what}"
        return None
    try:
        x = float(value.strip() if isinstance(value, str) and len(value) <= 40 else value)
    except (TypeError, ValueError, OverflowError):
        errors[key] = f"must be {what}"
        return None
    if not math.isfinite(x) or not lo <= x <= hi or (integer and x != int(x)):
        errors[key] = f"must be {what}"
        return None
    return int(x) if integer else x


def _strings(value: Any, key: str, errors: dict[str, str], *, limit: int = 64) -> tuple[str, ...] | None:
    """A list of short strings (at most MAX_ITEMS), or None if absent."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) > MAX_ITEMS or \
            any(not isinstance(x, str) or not x or len(x) > limit for x in value):
        errors[key] = f"must be a list of at most {MAX_ITEMS} names"
        return None
    return tuple(value)


def _in_region(lat: float | None, lon: float | None) -> bool:
    south, west, north, east = REGION
    return lat is not None and lon is not None and south <= lat <= north and west <= lon <= east


_REGION_MSG = (f"must be in or near Lancashire and South Cumbria (latitude {REGION[0]} to {REGION[2]}, "
               f"longitude {REGION[1]} to {REGION[3]}, decimal degrees WGS84)")


def _opening(raw: Any, errors: dict[str, str]) -> OpeningTimes:
    """Opening times, with their shape, sizes and dated changes checked before they are read."""
    if isinstance(raw, Mapping):
        if "always" in raw and not isinstance(raw["always"], bool):
            errors["opening.always"] = "must be true or false"
            return OpeningTimes(always=False)
        dates = raw.get("dates")
        if dates is not None and (not isinstance(dates, Mapping) or len(dates) > MAX_DATED_CHANGES):
            errors["opening.dates"] = f"must map at most {MAX_DATED_CHANGES} dates to sessions"
            return OpeningTimes(always=False)
        weekly = raw.get("weekly")
        if weekly is not None and not isinstance(weekly, Mapping):
            errors["opening.weekly"] = "must map days (mon..sun, daily, weekdays, weekends) to sessions"
            return OpeningTimes(always=False)
        lists = list((weekly or {}).values()) + list((dates or {}).values()) + [raw.get("bank_holidays")]
        if any(isinstance(v, list) and len(v) > 12 for v in lists):
            errors["opening"] = "give at most 12 sessions a day"
            return OpeningTimes(always=False)
    elif raw is not None and raw != "24/7":
        errors["opening"] = "must be {always: true} or {weekly: {...}, bank_holidays: [...], dates: {...}}"
        return OpeningTimes(always=False)
    try:
        opening = OpeningTimes.from_dict(raw)
    except OpeningError as exc:
        errors[exc.field] = str(exc).split(": ", 1)[1]
        return OpeningTimes(always=False)
    late = latest_date(years=OPENING_FUTURE_YEARS)
    bad = [d.isoformat() for d in opening.dates if not EARLIEST_DATE <= d <= late]
    if bad:
        errors["opening.dates"] = f"dates must be between {EARLIEST_DATE.isoformat()} and {late.isoformat()}: {bad[:3]}"
    return opening


def service_from_dict(d: Mapping[str, Any], *, version: int = 1, capacity: Capacity | None = None,
                      known_lads: frozenset[str] | None = None) -> Service:
    """Build and validate a Service; every field is type-checked and bounded, every problem reported against its field."""
    if not isinstance(d, Mapping):
        raise ServiceError({"body": "must be an object of service fields"})
    errors: dict[str, str] = {}
    get = d.get
    sid = _text(get("id"), "id", errors, required=True)
    if sid is not None and not _ID.match(sid):
        errors["id"] = "must be 2-64 lowercase letters, digits or hyphens, e.g. 'rph-ed'"
    name = _text(get("name"), "name", errors, required=True)
    provider = _text(get("provider"), "provider", errors, required=True)
    address = _text(get("address"), "address", errors, required=True)
    stype = get("type")
    if not isinstance(stype, str) or stype not in SERVICE_TYPES:
        errors["type"] = f"must be one of {', '.join(SERVICE_TYPES)}"
    raw_pc = get("postcode")
    postcode = normalise_postcode(raw_pc) if isinstance(raw_pc, str) and len(raw_pc) <= 20 else ""
    if not _POSTCODE.match(postcode):
        errors["postcode"] = "must be a full UK postcode like 'PR2 9HT'"
    lat = _number(get("lat"), "lat", errors, lo=-90, hi=90, what="a latitude in decimal degrees (WGS84)")
    lon = _number(get("lon"), "lon", errors, lo=-180, hi=180, what="a longitude in decimal degrees (WGS84)")
    if lat is not None and lon is not None and not _in_region(lat, lon):
        errors["lat"] = "the location " + _REGION_MSG
    opening = _opening(get("opening"), errors)
    phone_public = _text(get("phone_public"), "phone_public", errors)
    phone_professional = _text(get("phone_professional"), "phone_professional", errors)
    age_min = _number(0 if get("age_min") in (None, "") else get("age_min"), "age_min", errors, lo=0, hi=MAX_AGE,
                      what=f"an age in years from 0 to {MAX_AGE}")
    age_max = None if get("age_max") in (None, "") else _number(
        get("age_max"), "age_max", errors, lo=0, hi=MAX_AGE, what=f"an age in years from 0 to {MAX_AGE}")
    if age_min is not None and age_max is not None and age_max < age_min:
        errors["age_max"] = "the age range must run from a minimum up to a larger maximum"
    sex = get("sex") or "any"
    if not isinstance(sex, str) or sex not in ("any", "female", "male"):
        errors["sex"] = "must be any, female or male"
    routes = _strings(get("referral_routes") or list(REFERRAL_ROLES), "referral_routes", errors) or REFERRAL_ROLES
    bad = [r for r in routes if r not in REFERRAL_ROLES]
    if bad and "referral_routes" not in errors:
        errors["referral_routes"] = f"unknown routes {bad}; use {', '.join(REFERRAL_ROLES)}"
    referral_only = get("referral_only")
    if referral_only is not None and not isinstance(referral_only, bool):
        errors["referral_only"] = "must be true or false"
    accepts = _strings(get("accepts"), "accepts", errors)
    if accepts is not None and not accepts:
        errors["accepts"] = "a service must accept at least one disposition class (or leave it empty for the type's default)"
    catchment = get("catchment") or {}
    if not isinstance(catchment, Mapping) or set(catchment) - {"lads", "polygon"}:
        errors["catchment"] = "must be {lads: [codes]} and/or {polygon: GeoJSON Polygon or MultiPolygon}"
        catchment = {}
    lads = _strings(catchment.get("lads") or [], "catchment", errors, limit=12) or ()
    polygon = None
    if catchment.get("polygon") is not None:
        try:
            from shapely.geometry import shape
            polygon = shape(catchment["polygon"])
            if polygon.geom_type not in ("Polygon", "MultiPolygon") or polygon.is_empty or not polygon.is_valid:
                raise ValueError
            w, s, e, n = polygon.bounds
            if not (_in_region(s, w) and _in_region(n, e)):
                errors["catchment.polygon"] = "the polygon " + _REGION_MSG
                polygon = None
        except Exception:
            errors["catchment.polygon"] = "must be a valid GeoJSON Polygon or MultiPolygon (lon, lat order)"
            polygon = None
    if known_lads is not None:
        unknown = [x for x in lads if x not in known_lads]
        if unknown:
            errors["catchment"] = f"unknown local authority codes {unknown}"
    bases = _bases(get("mobile"), errors)
    access = get("access") or "site"
    if not isinstance(access, str) or access not in ACCESS:
        errors["access"] = "must be 'site' (people go there or a team comes out) or 'phone' (a helpline)"
    status = get("status") or "active"
    if not isinstance(status, str) or status not in STATUSES:
        errors["status"] = f"must be one of {', '.join(STATUSES)}"
    closed_from = _date(get("closed_from"), "closed_from", errors)
    closed_until = _date(get("closed_until"), "closed_until", errors)
    if closed_from and closed_until and closed_until < closed_from:
        errors["closed_until"] = "must not be before closed_from"
    closed_reason = _text(get("closed_reason"), "closed_reason", errors)
    if status == "temporarily_closed" and not closed_reason and "closed_reason" not in errors:
        errors["closed_reason"] = "say why the service is temporarily closed"
    raw_last = get("last_arrival_minutes")
    last_arrival = _number(30 if raw_last in (None, "") else raw_last, "last_arrival_minutes", errors, lo=0, hi=240,
                           what="a whole number of minutes from 0 to 240", integer=True)
    raw_interval = get("verify_interval_days")
    interval = _number(90 if raw_interval in (None, "") else raw_interval, "verify_interval_days", errors, lo=1,
                       hi=730, what="a whole number of days from 1 to 730", integer=True)
    verified_on = _date(get("verified_on"), "verified_on", errors)
    source = _text(get("source"), "source", errors)
    notes = _text(get("notes"), "notes", errors)
    if errors:
        raise ServiceError(errors)
    return Service(
        id=sid, name=name, type=stype, provider=provider, address=address, postcode=postcode, lat=lat, lon=lon,
        opening=opening, phone_public=phone_public, phone_professional=phone_professional,
        age_min=age_min, age_max=age_max, sex=sex, referral_routes=tuple(routes),
        referral_only=bool(referral_only), last_arrival_minutes=int(last_arrival),
        catchment_lads=tuple(lads), catchment_polygon=polygon, mobile_bases=bases, accepts=accepts, access=access,
        status=status, closed_reason=closed_reason, closed_from=closed_from, closed_until=closed_until,
        source=source, notes=notes, verified_on=verified_on, verify_interval_days=int(interval),
        capacity=capacity or Capacity(), version=version)


def _bases(mobile: Any, errors: dict[str, str]) -> tuple[Base, ...]:
    """A mobile team's bases: each with a name and finite coordinates in or near the region."""
    if mobile is None:
        return ()
    if not isinstance(mobile, Mapping) or not isinstance(mobile.get("bases") or [], list):
        errors["mobile"] = "must be {bases: [{name, postcode, lat, lon}, ...]}"
        return ()
    raw = mobile.get("bases") or []
    if len(raw) > MAX_ITEMS:
        errors["mobile"] = f"give at most {MAX_ITEMS} bases"
        return ()
    bases: list[Base] = []
    for i, b in enumerate(raw):
        key = f"mobile.bases[{i}]"
        if not isinstance(b, Mapping):
            errors[key] = "each base must be an object with name, lat and lon"
            continue
        own: dict[str, str] = {}
        lat = _number(b.get("lat"), "lat", own, lo=-90, hi=90, what="a number")
        lon = _number(b.get("lon"), "lon", own, lo=-180, hi=180, what="a number")
        name = b.get("name") or f"base {i + 1}"
        pc = b.get("postcode")
        if own or lat is None or lon is None:
            errors[key] = "each base needs a finite lat and lon (decimal degrees)"
        elif not _in_region(lat, lon):
            errors[key] = "the base " + _REGION_MSG
        elif not isinstance(name, str) or len(name) > 200 or (pc is not None and (not isinstance(pc, str) or len(pc) > 10)):
            errors[key] = "a base's name must be text up to 200 characters and its postcode a postcode"
        else:
            bases.append(Base(name, pc, lat, lon))
    return tuple(bases)


def _catchment_dict(lads: tuple[str, ...], polygon: Any) -> dict[str, Any] | None:
    if not lads and polygon is None:
        return None
    out: dict[str, Any] = {"lads": list(lads)}
    if polygon is not None:
        import json
        from shapely.geometry import mapping
        out["polygon"] = json.loads(json.dumps(mapping(polygon)))  # plain lists, as stored and exported
    return out


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
