"""The directory's one write path: every change is type-checked, bounded, permitted, written in one transaction and audited once."""
from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any, Callable, Mapping, Sequence

from directory import exports
from directory.model import SERVICE_TYPES, Service, ServiceError, service_from_dict
from directory.rankings import RankingError, Rankings, validate_types
from directory.store import ConflictError, NotFound, Quarantined, Store
from uec import permissions as perm
from uec.permissions import User

SERVICE_KEYS = {"id", "name", "type", "provider", "address", "postcode", "lat", "lon", "phone_public",
                "phone_professional", "age_min", "age_max", "sex", "referral_routes", "referral_only", "opening",
                "last_arrival_minutes", "catchment", "mobile", "accepts", "access", "status", "closed_reason",
                "closed_from", "closed_until", "source", "notes", "verified_on", "verify_interval_days"}
READ_ONLY_KEYS = {"version", "capacity", "confirm_outside_lsc"}
MAX_VERSION = 2 ** 31 - 1  # the version column is a 32-bit integer on every database
MAX_IMPORT_ROWS = 20_000
_SHAPES = {"catchment": (dict, "an object like {\"lads\": [\"E07000123\"]} or null"),
           "mobile": (dict, "an object like {\"bases\": [{\"name\": .., \"lat\": .., \"lon\": ..}]} or null"),
           "referral_routes": (list, "a list of referral routes"),
           "accepts": (list, "a list of disposition classes or codes, or null"),
           "opening": ((dict, str), "{\"always\": true} or {\"weekly\": {...}, \"bank_holidays\": [...], \"dates\": {...}}")}


def _point(data: Mapping[str, Any]) -> tuple[float, float] | None:
    """The (lat, lon) input gives, if both are finite numbers."""
    try:
        lat, lon = float(data.get("lat")), float(data.get("lon"))
    except (TypeError, ValueError, OverflowError):
        return None
    return (lat, lon) if math.isfinite(lat) and math.isfinite(lon) else None


MAX_SCENARIO_NAME = 120  # the name columns of scenarios and whatif_scenarios


def whatif_name(name: Any) -> str:
    """A what-if scenario's name, trimmed: 1-120 characters of text, else InputError naming `name`."""
    from uec.inputs import InputError
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_SCENARIO_NAME:
        raise InputError({"name": f"give the scenario a name of 1-{MAX_SCENARIO_NAME} characters"})
    return name.strip()


class Forbidden(PermissionError):
    """The user's role does not allow the change; the message says what was refused."""

    def __init__(self, user: User | None, what: str):
        self.what = what
        role = user.role if user else "signed-out"
        super().__init__(f"Your role ({role}) does not allow you to {what}.")


def parse_version(value: Any, *, field: str = "version") -> int:
    """A record version sent back by a client (form field or If-Match): a positive 32-bit whole number."""
    text = str(value if value is not None else "").strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit() or len(text) > 10 or not 0 < int(text) <= MAX_VERSION:
        raise ServiceError({field: "must be the version you were shown, e.g. \"3\"; reload and edit again"})
    return int(text)


class DirectoryService:
    """Creates, edits, closes, verifies, imports and ranks: the admin pages, the admin API and the CLI all call this."""

    def __init__(self, store: Store, *, geo: Any, base_rankings: Rankings,
                 on_change: Callable[[], None] | None = None):
        self.store = store
        self.geo = geo
        self.base_rankings = base_rankings
        self.on_change = on_change or (lambda: None)

    # -- reads ----------------------------------------------------------------------------
    def get(self, service_id: str) -> Service:
        """A usable service; NotFound, or Quarantined (with the reasons) for a record routing leaves out."""
        return self.store.get(service_id)

    def quarantined(self) -> list[Quarantined]:
        return self.store.services_and_quarantine()[1]

    # -- validation -----------------------------------------------------------------------
    def validate(self, data: Mapping[str, Any], *, current: Service | None = None, confirm_outside_lsc: bool = False,
                 check_unknown_keys: bool = False) -> Service:
        """A valid Service from input, or ServiceError naming every bad field.

        Beyond the model's own type and bound checks: opening times must be given (a missing
        timetable must never mean 24/7), the postcode must be one we know, the point must be in
        Lancashire and South Cumbria unless confirmed as a border service, and the service must be
        reachable by some disposition (an explicit `accepts`, or a type that a ranking lists)."""
        if not isinstance(data, Mapping):
            raise ServiceError({"body": "must be an object of service fields"})
        errors: dict[str, str] = {}
        data = dict(data)
        if check_unknown_keys:
            for k in data:
                if k not in SERVICE_KEYS | READ_ONLY_KEYS:
                    errors[str(k)[:64]] = f"is not a service field; fields are {', '.join(sorted(SERVICE_KEYS))}"
        for k, (types, what) in _SHAPES.items():
            if data.get(k) is not None and not isinstance(data[k], types):
                errors[k] = f"must be {what}"
                data[k] = None
        if data.get("opening") in (None, ""):
            errors["opening"] = "is required: give the weekly sessions, or {\"always\": true} for a 24/7 service"
        pc = data.get("postcode")
        if isinstance(pc, str) and pc.strip() and len(pc) <= 20:
            try:
                point = self.geo.gazetteer.locate_postcode(pc, field="postcode")
                if data.get("lat") in (None, "") and data.get("lon") in (None, ""):
                    data["lat"], data["lon"] = point.lat, point.lon
            except (ValueError, LookupError) as exc:  # PostcodeError / LocationError
                errors["postcode"] = getattr(exc, "message", str(exc))
        svc = None
        try:
            from geodata.areas import LAD_NAMES
            svc = service_from_dict(data, known_lads=frozenset(LAD_NAMES))
        except ServiceError as exc:
            for k, v in exc.errors.items():
                errors.setdefault(k, v)
        point = _point(data) if "lat" not in errors and "lon" not in errors else None
        if point is not None:  # checked even when other fields are wrong, so every problem shows at once
            lat, lon = point
            moved = current is None or (round(current.lat, 6), round(current.lon, 6)) != (round(lat, 6), round(lon, 6))
            if moved and not confirm_outside_lsc and self.geo.areas.area_of(lat, lon) is None:
                errors.setdefault("postcode", f"{data.get('postcode')} ({lat:.4f}, {lon:.4f}) is outside Lancashire and "
                                              "South Cumbria; check it, or confirm that this is a border service "
                                              "LSC patients use")
        if svc is not None:
            if svc.accepts is None:
                ranked = {t for v in self.base_rankings.regional.values() for t in v}
                if svc.type not in ranked:
                    errors.setdefault("accepts", f"no disposition ranks {SERVICE_TYPES[svc.type]}; tick the "
                                                 "disposition classes this service accepts")
        if errors:
            raise ServiceError(errors)
        return svc

    # -- writes: one transaction and one audit entry each --------------------------------
    def create(self, data: Mapping[str, Any], *, user: User, confirm_outside_lsc: bool = False,
               check_unknown_keys: bool = False) -> Service:
        if not perm.can_import(user):  # commissioners and administrators create
            raise Forbidden(user, "create services")
        svc = self.validate(data, confirm_outside_lsc=confirm_outside_lsc, check_unknown_keys=check_unknown_keys)
        if not perm.can_create_at(user, svc.lat, svc.lon):
            raise Forbidden(user, "create a service outside your areas")
        created = self.store.create(svc.to_dict(), user=user.username)
        self.on_change()
        return created

    def update(self, service_id: str, data: Mapping[str, Any], *, user: User, expected_version: Any,
               action: str = "update", confirm_outside_lsc: bool = False, check_unknown_keys: bool = False) -> Service:
        """Replace a service if nobody changed it since `expected_version`; else ConflictError.
        A quarantined record can be repaired this way: it is checked as new input."""
        current = self.editable(service_id, user, f"edit {service_id!r}")
        version = parse_version(expected_version)
        if not isinstance(data, Mapping):
            raise ServiceError({"body": "must be an object of service fields"})
        if data.get("id") not in (None, service_id):
            raise ServiceError({"id": "must match the service being edited (ids cannot be changed)"})
        svc = self.validate({**data, "id": service_id}, current=current, confirm_outside_lsc=confirm_outside_lsc,
                            check_unknown_keys=check_unknown_keys)
        if not perm.can_create_at(user, svc.lat, svc.lon):
            raise Forbidden(user, "move a service outside your areas")
        new = self.store.update(service_id, svc.to_dict(), expected_version=version, user=user.username, action=action)
        self.on_change()
        return new

    def close(self, service_id: str, *, user: User, expected_version: Any, reason: Any, closed_from: Any,
              closed_until: Any) -> Service:
        s = self.editable(service_id, user, f"close {service_id!r}")
        if s is None:
            raise ServiceError({"id": "this record is quarantined; edit it to fix the problems first"})
        errors = {}
        if not closed_until:
            errors["closed_until"] = "give the date it is expected to reopen (you can reopen it earlier)"
        data = s.to_dict() | {"status": "temporarily_closed", "closed_reason": reason,
                              "closed_from": closed_from or None, "closed_until": closed_until or None}
        try:
            self.validate(data, current=s, confirm_outside_lsc=True)
        except ServiceError as exc:
            errors.update({k: v for k, v in exc.errors.items() if k not in errors})
        if errors:
            raise ServiceError(errors)
        return self.update(service_id, data, user=user, expected_version=expected_version, action="close",
                           confirm_outside_lsc=True)

    def reopen(self, service_id: str, *, user: User, expected_version: Any) -> Service:
        s = self.editable(service_id, user, f"reopen {service_id!r}")
        if s is None:
            raise ServiceError({"id": "this record is quarantined; edit it to fix the problems first"})
        data = s.to_dict() | {"status": "active", "closed_reason": None, "closed_from": None, "closed_until": None}
        return self.update(service_id, data, user=user, expected_version=expected_version, action="reopen",
                           confirm_outside_lsc=True)

    def confirm_verified(self, service_id: str, *, user: User, on: date | None = None) -> Service:
        s = self.editable(service_id, user, f"confirm {service_id!r}")
        if s is None:
            raise ServiceError({"id": "this record is quarantined; edit it to fix the problems first"})
        data = s.to_dict() | {"verified_on": (on or datetime.now().date()).isoformat()}
        return self.update(service_id, data, user=user, expected_version=s.version, action="verify",
                           confirm_outside_lsc=True)

    def set_capacity(self, service_id: str, status: Any, *, user: User, reset_minutes: Any = 240) -> Service:
        s = self.store.get(service_id)
        if not perm.can_set_capacity(user, s):
            raise Forbidden(user, f"set the capacity of {s.name}")
        errors = {}
        if not isinstance(status, str) or status not in ("green", "amber", "red"):
            errors["status"] = "must be green, amber or red"
        if isinstance(reset_minutes, str) and reset_minutes.strip().isdigit() and len(reset_minutes.strip()) <= 5:
            reset_minutes = int(reset_minutes.strip())
        if isinstance(reset_minutes, bool) or not isinstance(reset_minutes, int) or not 15 <= reset_minutes <= 24 * 60:
            errors["reset_minutes"] = "must be a whole number of minutes from 15 to 1440"
        if errors:
            raise ServiceError(errors)
        new = self.store.set_capacity(service_id, status, user=user.username, reset_minutes=reset_minutes)
        self.on_change()
        return new

    def editable(self, service_id: str, user: User, what: str = "edit this service") -> Service | None:
        """The current service if this user may edit it (None for a quarantined record an editor may repair)."""
        try:
            s = self.store.get(service_id)
        except Quarantined as q:
            if not (perm.can_edit_service(user, q) if q.lat is not None else (user is not None and user.is_admin)):
                raise Forbidden(user, what) from None
            return None
        if not perm.can_edit_service(user, s):
            raise Forbidden(user, what)
        return s

    # -- rankings -------------------------------------------------------------------------
    def set_ranking(self, area: str, key: str, types: Sequence[str], *, user: User, keys: Sequence[str]) -> None:
        """A commissioner's order of service types for one of its own areas (administrators: any area)."""
        area = perm.canonical_area(area) if isinstance(area, str) else ""
        if not perm.is_known_area(area):
            raise ServiceError({"area": "choose one of the areas listed"})
        if not perm.can_rank_for_callers_in(user, area):
            raise Forbidden(user, f"rank services for {area}")
        errors = {}
        if key not in keys:
            errors["key"] = "choose a disposition class or code"
        if types:
            try:
                validate_types(types)
            except RankingError as exc:
                errors["types"] = str(exc).split(": ", 1)[1]
        if errors:
            raise ServiceError(errors)
        self.store.set_ranking(area, key, list(types), user=user.username)
        self.on_change()

    # -- scenarios: routing checks and what-ifs, saved to share (the live directory is untouched) --
    def save_scenario(self, name: Any, spec: Mapping[str, Any], *, user: User, dispositions: Any) -> Any:
        """Save (or replace) a named routing scenario; ScenarioError names each bad field."""
        from directory import scenarios as sc
        if not perm.can_manage_scenarios(user):
            raise Forbidden(user, "save scenarios")
        errors = {}
        if isinstance(name, str) and len(name.strip()) > MAX_SCENARIO_NAME:
            errors["name"] = f"must be at most {MAX_SCENARIO_NAME} characters"
        try:
            scenario = sc.parse(name if isinstance(name, str) else "", spec, dispositions=dispositions)
        except sc.ScenarioError as exc:
            raise sc.ScenarioError(errors | exc.errors) from None
        if errors:
            raise sc.ScenarioError(errors)
        self.store.save_scenario(scenario.name, scenario.spec(), user=user.username)
        return scenario

    def delete_scenario(self, name: Any, *, user: User) -> None:
        from directory import scenarios as sc
        if not perm.can_manage_scenarios(user):
            raise Forbidden(user, "delete scenarios")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_SCENARIO_NAME:
            raise sc.ScenarioError({"name": "must be the name of a saved scenario"})
        self.store.delete_scenario(name, user=user.username)

    def save_whatif(self, name: Any, spec: Mapping[str, Any], result: Mapping[str, Any], *, user: User) -> int:
        """Save (or replace) a named what-if and its result; InputError names a bad name."""
        if not perm.can_manage_scenarios(user):
            raise Forbidden(user, "save scenarios")
        name = whatif_name(name)
        return self.store.save_whatif(name, dict(spec), dict(result), user=user.username)

    # -- import ---------------------------------------------------------------------------
    def import_text(self, text: str, fmt: str, *, user: User, source: str) -> dict[str, int]:
        """Parse, validate every row (fields, geography, the user's areas), then apply all or nothing in one transaction."""
        if not perm.can_import(user):
            raise Forbidden(user, "import services")
        if fmt not in ("csv", "geojson"):
            raise ServiceError({"format": "must be csv or geojson"})
        rows = exports.parse_csv(text) if fmt == "csv" else exports.parse_geojson(text)
        label = "row" if fmt == "csv" else "feature"
        errors: dict[str, str] = {}
        if len(rows) > MAX_IMPORT_ROWS:
            raise ServiceError({"file": f"has {len(rows):,} services; import at most {MAX_IMPORT_ROWS:,} at a time"})
        ready: list[tuple[Service, int | None]] = []
        seen: set[str] = set()
        existing = {s.id: s for s in self.store.services()}
        for n, (data, version, row_errors) in enumerate(rows, start=1):
            for k, v in row_errors.items():
                errors[f"{label} {n}.{k}"] = v
            if row_errors:
                continue
            current = existing.get(str(data.get("id") or ""))
            try:
                svc = self.validate(data, current=current, confirm_outside_lsc=bool(data.get("confirm_outside_lsc")))
            except ServiceError as exc:
                for k, v in exc.errors.items():
                    errors[f"{label} {n}.{k}"] = v
                continue
            if version is not None and not 0 < version <= MAX_VERSION:
                errors[f"{label} {n}.version"] = "must be the whole number exported"
                continue
            if svc.id in seen:
                errors[f"{label} {n}.id"] = f"{svc.id!r} appears more than once in the file"
            seen.add(svc.id)
            if not perm.can_create_at(user, svc.lat, svc.lon) or (current and not perm.can_edit_service(user, current)):
                errors[f"{label} {n}.id"] = f"{svc.id!r} is outside your areas; you may not import it"
            ready.append((svc, version))
        if not rows:
            errors["file"] = "has no services in it"
        if errors:
            raise ServiceError(errors)
        counts = self.store.apply_import(ready, user=user.username, source=source)
        self.on_change()
        return counts
