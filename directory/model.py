"""The directory's data types: services, their eligibility, capacity and status."""
from __future__ import annotations

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


def _date(value: Any, key: str, errors: dict[str, str]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[key] = f"{value!r} is not a date like 2026-11-23"
        return None


def normalise_postcode(text: str) -> str:
    t = re.sub(r"\s+", "", str(text or "")).upper()
    return f"{t[:-3]} {t[-3:]}" if len(t) >= 5 else t


def service_from_dict(d: Mapping[str, Any], *, version: int = 1, capacity: Capacity | None = None,
                      known_lads: frozenset[str] | None = None) -> Service:
    """Build and validate a Service; every problem is reported against its field."""
    errors: dict[str, str] = {}
    get = d.get
    sid = str(get("id") or "").strip()
    if not _ID.match(sid):
        errors["id"] = "must be 2-64 lowercase letters, digits or hyphens, e.g. 'rph-ed'"
    for key in ("name", "provider", "address"):
        if not str(get(key) or "").strip():
            errors[key] = "is required"
    stype = get("type")
    if stype not in SERVICE_TYPES:
        errors["type"] = f"must be one of {', '.join(SERVICE_TYPES)}"
    postcode = normalise_postcode(get("postcode") or "")
    if not _POSTCODE.match(postcode):
        errors["postcode"] = "must be a full UK postcode like 'PR2 9HT'"
    lat, lon = get("lat"), get("lon")
    try:
        lat, lon = float(lat), float(lon)
        if not (49.8 <= lat <= 60.9 and -8.7 <= lon <= 1.8):
            errors["lat"] = "the location must be in Great Britain (latitude 49.8-60.9, longitude -8.7-1.8)"
    except (TypeError, ValueError):
        errors["lat"] = "latitude and longitude must be numbers (decimal degrees, WGS84)"
        lat = lon = 0.0
    try:
        opening = OpeningTimes.from_dict(get("opening"))
    except OpeningError as exc:
        errors[exc.field] = str(exc).split(": ", 1)[1]
        opening = OpeningTimes(always=False)
    age_min = get("age_min") or 0
    age_max = get("age_max")
    try:
        age_min = float(age_min)
        age_max = None if age_max in (None, "") else float(age_max)
        if age_min < 0 or (age_max is not None and age_max < age_min):
            errors["age_max"] = "the age range must run from a minimum up to a larger maximum"
    except (TypeError, ValueError):
        errors["age_min"] = "ages must be numbers of years"
        age_min, age_max = 0.0, None
    sex = get("sex") or "any"
    if sex not in ("any", "female", "male"):
        errors["sex"] = "must be any, female or male"
    routes = tuple(get("referral_routes") or REFERRAL_ROLES)
    bad = [r for r in routes if r not in REFERRAL_ROLES]
    if bad:
        errors["referral_routes"] = f"unknown routes {bad}; use {', '.join(REFERRAL_ROLES)}"
    accepts = get("accepts")
    if accepts is not None:
        accepts = tuple(accepts)
        if not accepts:
            errors["accepts"] = "a service must accept at least one disposition class (or leave it empty for the type's default)"
    catchment = get("catchment") or {}
    if not isinstance(catchment, Mapping):
        errors["catchment"] = "must be {lads: [codes]} and/or {polygon: GeoJSON Polygon or MultiPolygon}"
        catchment = {}
    lads = tuple(catchment.get("lads") or ())
    polygon = None
    if catchment.get("polygon") is not None:
        try:
            from shapely.geometry import shape
            polygon = shape(catchment["polygon"])
            if polygon.geom_type not in ("Polygon", "MultiPolygon") or polygon.is_empty or not polygon.is_valid:
                raise ValueError
        except Exception:
            errors["catchment.polygon"] = "must be a valid GeoJSON Polygon or MultiPolygon (lon, lat order)"
            polygon = None
    if known_lads is not None:
        unknown = [x for x in lads if x not in known_lads]
        if unknown:
            errors["catchment"] = f"unknown local authority codes {unknown}"
    bases: list[Base] = []
    for i, b in enumerate(((get("mobile") or {}).get("bases")) or ()):
        try:
            bases.append(Base(str(b.get("name") or f"base {i + 1}"), b.get("postcode"), float(b["lat"]), float(b["lon"])))
        except (KeyError, TypeError, ValueError):
            errors[f"mobile.bases[{i}]"] = "each base needs lat and lon"
    access = get("access") or "site"
    if access not in ACCESS:
        errors["access"] = "must be 'site' (people go there or a team comes out) or 'phone' (a helpline)"
    status = get("status") or "active"
    if status not in STATUSES:
        errors["status"] = f"must be one of {', '.join(STATUSES)}"
    closed_from = _date(get("closed_from"), "closed_from", errors)
    closed_until = _date(get("closed_until"), "closed_until", errors)
    if closed_from and closed_until and closed_until < closed_from:
        errors["closed_until"] = "must not be before closed_from"
    if status == "temporarily_closed" and not str(get("closed_reason") or "").strip():
        errors["closed_reason"] = "say why the service is temporarily closed"
    try:
        last_arrival = int(get("last_arrival_minutes") if get("last_arrival_minutes") is not None else 30)
        interval = int(get("verify_interval_days") or 90)
        if not 0 <= last_arrival <= 240:
            errors["last_arrival_minutes"] = "must be 0-240 minutes"
        if not 1 <= interval <= 730:
            errors["verify_interval_days"] = "must be 1-730 days"
    except (TypeError, ValueError):
        errors["last_arrival_minutes"] = "minutes and days must be whole numbers"
        last_arrival, interval = 30, 90
    verified_on = _date(get("verified_on"), "verified_on", errors)
    if errors:
        raise ServiceError(errors)
    return Service(
        id=sid, name=str(get("name")).strip(), type=stype, provider=str(get("provider")).strip(),
        address=str(get("address")).strip(), postcode=postcode, lat=lat, lon=lon, opening=opening,
        phone_public=get("phone_public"), phone_professional=get("phone_professional"),
        age_min=age_min, age_max=age_max, sex=sex, referral_routes=routes,
        referral_only=bool(get("referral_only")), last_arrival_minutes=last_arrival,
        catchment_lads=lads, catchment_polygon=polygon, mobile_bases=tuple(bases), accepts=accepts, access=access, status=status,
        closed_reason=get("closed_reason"), closed_from=closed_from, closed_until=closed_until,
        source=get("source"), notes=get("notes"), verified_on=verified_on, verify_interval_days=interval,
        capacity=capacity or Capacity(), version=version)


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
