"""JSON admin API v1: read a service with its ETag, create, update with If-Match, set capacity, import/export."""
from __future__ import annotations

from typing import Any, Mapping

from flask import Blueprint, Response, current_app, g, jsonify, request

from directory import exports
from directory.model import SERVICE_TYPES, Service, ServiceError, service_from_dict
from directory.store import ConflictError, NotFound
from web import auth

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")

SERVICE_KEYS = {"id", "name", "type", "provider", "address", "postcode", "lat", "lon", "phone_public",
                "phone_professional", "age_min", "age_max", "sex", "referral_routes", "referral_only", "opening",
                "last_arrival_minutes", "catchment", "mobile", "accepts", "access", "status", "closed_reason", "closed_from",
                "closed_until", "source", "notes", "verified_on", "verify_interval_days"}
READ_ONLY_KEYS = {"version", "capacity", "confirm_outside_lsc"}
_SHAPES = {"catchment": (dict, "an object like {\"lads\": [\"E07000123\"]} or null"),
           "mobile": (dict, "an object like {\"bases\": [{\"name\": .., \"lat\": .., \"lon\": ..}]} or null"),
           "referral_routes": (list, "a list of referral routes"), "accepts": (list, "a list of disposition classes or codes, or null"),
           "opening": ((dict, str), "{\"always\": true} or {\"weekly\": {...}, \"bank_holidays\": [...], \"dates\": {...}}")}


# -- validation shared by the admin pages, the API and imports -------------------------------
def _care():
    return current_app.extensions["uec"]


def validate_service(data: Mapping[str, Any], *, current: Service | None = None, confirm_outside_lsc: bool = False,
                     check_unknown_keys: bool = False) -> Service:
    """A valid Service from input, or ServiceError naming every bad field.

    Beyond the model's own checks: opening times must be given (a missing timetable must never
    mean 24/7), the postcode must be one we know, the point must be in Lancashire and South
    Cumbria unless confirmed as a border service, and the service must be reachable by some
    disposition (an explicit `accepts`, or a type that a ranking lists)."""
    errors: dict[str, str] = {}
    data = dict(data)
    if check_unknown_keys:
        for k in data:
            if k not in SERVICE_KEYS | READ_ONLY_KEYS:
                errors[k] = f"is not a service field; fields are {', '.join(sorted(SERVICE_KEYS))}"
    for k, (types, what) in _SHAPES.items():
        if data.get(k) is not None and not isinstance(data[k], types):
            errors[k] = f"must be {what}"
            data[k] = None
    for k in ("lat", "lon", "age_min", "age_max", "last_arrival_minutes", "verify_interval_days"):
        if isinstance(data.get(k), (dict, list, bool)):
            errors[k] = "must be a number"
            data[k] = None
    if data.get("opening") in (None, ""):
        errors["opening"] = "is required: give the weekly sessions, or {\"always\": true} for a 24/7 service"
    mobile = data.get("mobile")
    if isinstance(mobile, dict) and not isinstance(mobile.get("bases") or [], list):
        errors["mobile"] = "bases must be a list"
        data["mobile"] = None
    elif isinstance(mobile, dict) and any(not isinstance(b, dict) for b in mobile.get("bases") or []):
        errors["mobile"] = "each base must be an object with name, lat and lon"
        data["mobile"] = None
    geo = _care().geo
    pc = data.get("postcode")
    if isinstance(pc, str) and pc.strip():
        try:
            point = geo.gazetteer.locate_postcode(pc, field="postcode")
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
    except (TypeError, AttributeError, ValueError) as exc:
        errors.setdefault("body", f"could not be read as a service: {exc}")
    try:
        lat, lon = float(data.get("lat")), float(data.get("lon"))
    except (TypeError, ValueError):
        lat = lon = None
    if lat is not None and "lat" not in errors:
        moved = current is None or (round(current.lat, 6), round(current.lon, 6)) != (round(lat, 6), round(lon, 6))
        if moved and not confirm_outside_lsc and geo.areas.area_of(lat, lon) is None:
            errors.setdefault("postcode", f"{data.get('postcode')} ({lat:.4f}, {lon:.4f}) is outside Lancashire and "
                                          "South Cumbria; check it, or confirm that this is a border service "
                                          "LSC patients use")
    if svc is not None and svc.accepts is None:
        ranked = {t for v in _care().base_rankings.regional.values() for t in v}
        if svc.type not in ranked:
            errors.setdefault("accepts", f"no disposition ranks {SERVICE_TYPES[svc.type]}; tick the "
                                         "disposition classes this service accepts")
    if errors:
        raise ServiceError(errors)
    return svc


def service_json(s: Service) -> dict[str, Any]:
    cap = s.capacity
    return s.to_dict() | {"version": s.version, "capacity": {
        "status": cap.status if cap.set_at else "unknown", "set_at": cap.set_at.isoformat() if cap.set_at else None,
        "set_by": cap.set_by, "reset_minutes": cap.reset_minutes}}


# -- helpers --------------------------------------------------------------------------------
def _error(status: int, error: str, **extra) -> Response:
    resp = jsonify({"error": error, **extra})
    resp.status_code = status
    return resp


def _field_errors(errors: Mapping[str, str]) -> Response:
    return _error(400, "invalid input", errors=dict(errors))


def _forbidden(what: str) -> Response:
    return _error(403, "forbidden", message=f"the role {g.api_user.role!r} may not {what}")


def _body() -> Any:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return None
    return data


def _with_etag(svc: Service, status: int = 200) -> Response:
    resp = jsonify(service_json(svc))
    resp.status_code = status
    resp.headers["ETag"] = f'"{svc.version}"'
    return resp


def _if_match() -> int | None | str:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    v = raw.strip()
    if v.startswith("W/"):
        v = v[2:]
    v = v.strip('"')
    try:
        return int(v)
    except ValueError:
        return "bad"


def _service_or_error(service_id: str, allowed, action: str):
    """The service, or the 404/403 response that explains why this user cannot `action` it."""
    try:
        current = _care().store.get(service_id)
    except NotFound:
        return _error(404, "not found", message=f"no service {service_id!r}; GET /api/v1/services lists them, "
                                               "POST /api/v1/services creates one")
    if not allowed(g.api_user, current):
        return _forbidden(action)
    return current


# -- routes ---------------------------------------------------------------------------------
@bp.get("/services/<service_id>")
def get_service(service_id: str):
    try:
        return _with_etag(_care().store.get(service_id))
    except NotFound:
        return _error(404, "not found", message=f"no service {service_id!r}; GET /api/v1/services lists them")


@bp.post("/services")
@auth.token_required
def create_service():
    body = _body()
    if body is None:
        return _field_errors({"body": "must be a JSON object (Content-Type: application/json)"})
    try:
        svc = validate_service(body, confirm_outside_lsc=bool(body.get("confirm_outside_lsc")), check_unknown_keys=True)
    except ServiceError as exc:
        return _field_errors(exc.errors)
    if not auth.can_create_at(g.api_user, svc.lat, svc.lon):
        return _forbidden("create a service at that location")
    try:
        created = _care().store.create(svc.to_dict(), user=g.api_user.username)
    except ServiceError as exc:
        return _field_errors(exc.errors)
    resp = _with_etag(created, 201)
    resp.headers["Location"] = f"/api/v1/services/{created.id}"
    return resp


@bp.put("/services/<service_id>")
@auth.token_required
def put_service(service_id: str):
    store = _care().store
    current = _service_or_error(service_id, auth.can_edit_service, f"edit {service_id!r}")
    if not isinstance(current, Service):
        return current
    expected = _if_match()
    if expected is None:
        return _error(428, "precondition required",
                      message="send If-Match with the ETag from GET /api/v1/services/<id>, so no one's change is lost",
                      current_version=current.version)
    if expected == "bad":
        return _field_errors({"If-Match": "must be the ETag from GET, e.g. \"3\""})
    body = _body()
    if body is None:
        return _field_errors({"body": "must be a JSON object (Content-Type: application/json)"})
    if body.get("id") not in (None, service_id):
        return _field_errors({"id": "must match the service id in the URL (ids cannot be changed)"})
    body = {**body, "id": service_id}
    try:
        svc = validate_service(body, current=current, confirm_outside_lsc=bool(body.get("confirm_outside_lsc")),
                               check_unknown_keys=True)
    except ServiceError as exc:
        return _field_errors(exc.errors)
    if not auth.can_create_at(g.api_user, svc.lat, svc.lon):
        return _forbidden("move a service outside your areas")
    try:
        new = store.update(service_id, svc.to_dict(), expected_version=expected, user=g.api_user.username)
    except ConflictError as exc:
        cur = exc.current
        resp = _error(412, "precondition failed",
                      message=f"the service was changed by someone else (you sent version {expected}, it is now "
                              f"{cur.version}); apply your change to the current version and send its ETag",
                      current_version=cur.version, current=service_json(cur))
        resp.headers["ETag"] = f'"{cur.version}"'
        return resp
    return _with_etag(new)


@bp.put("/services/<service_id>/capacity")
@auth.token_required
def put_capacity(service_id: str):
    store = _care().store
    current = _service_or_error(service_id, auth.can_set_capacity, f"set the capacity of {service_id!r}")
    if not isinstance(current, Service):
        return current
    body = _body()
    if body is None:
        return _field_errors({"body": "must be a JSON object like {\"status\": \"amber\", \"reset_minutes\": 240}"})
    errors = {k: "is not a field; send status and reset_minutes" for k in body if k not in ("status", "reset_minutes")}
    reset = body.get("reset_minutes", 240)
    if isinstance(reset, bool) or not isinstance(reset, int):
        errors["reset_minutes"] = "must be a whole number of minutes (15-1440)"
    if errors:
        return _field_errors(errors)
    try:
        new = store.set_capacity(service_id, str(body.get("status")), user=g.api_user.username, reset_minutes=reset)
    except ServiceError as exc:
        return _field_errors({("status" if k == "capacity" else k): v for k, v in exc.errors.items()})
    return _with_etag(new)


@bp.get("/export/<fmt>")
@auth.token_required
def export(fmt: str):
    services = _care().store.services()
    if fmt == "csv":
        return Response(exports.to_csv(services), mimetype="text/csv")
    if fmt == "geojson":
        return Response(exports.dumps(exports.to_geojson(services)), mimetype="application/geo+json")
    if fmt == "fhir":
        return Response(exports.dumps(exports.to_fhir_bundle(services)), mimetype="application/fhir+json")
    return _error(404, "not found", message="export formats: csv, geojson, fhir")


@bp.post("/import/<fmt>")
@auth.token_required
def import_(fmt: str):
    if fmt not in ("csv", "geojson"):
        return _error(404, "not found", message="import formats: csv, geojson")
    if not auth.can_import(g.api_user):
        return _forbidden("import services")
    text = request.get_data(as_text=True)
    try:
        counts = import_text(text, fmt, user=auth_user_for_import(), source=f"api:{fmt}")
    except ServiceError as exc:
        return _field_errors(exc.errors)
    return jsonify(counts)


def auth_user_for_import() -> auth.User:
    return g.api_user


def import_text(text: str, fmt: str, *, user: auth.User, source: str) -> dict[str, int]:
    """Parse, validate every row (fields, geography, the user's areas), then apply all or nothing."""
    store = _care().store
    rows = exports.parse_csv(text) if fmt == "csv" else exports.parse_geojson(text)
    label = "row" if fmt == "csv" else "feature"
    errors: dict[str, str] = {}
    ready: list[tuple[Service, int | None]] = []
    seen: set[str] = set()
    existing = {s.id: s for s in store.services()}
    for n, (data, version, row_errors) in enumerate(rows, start=1):
        for k, v in row_errors.items():
            errors[f"{label} {n}.{k}"] = v
        current = existing.get(str(data.get("id") or ""))
        try:
            svc = validate_service(data, current=current, confirm_outside_lsc=bool(data.get("confirm_outside_lsc")))
        except ServiceError as exc:
            for k, v in exc.errors.items():
                errors[f"{label} {n}.{k}"] = v
            continue
        if svc.id in seen:
            errors[f"{label} {n}.id"] = f"{svc.id!r} appears more than once in the file"
        seen.add(svc.id)
        if not auth.can_create_at(user, svc.lat, svc.lon) or (current and not auth.can_edit_service(user, current)):
            errors[f"{label} {n}.id"] = f"{svc.id!r} is outside your areas; you may not import it"
        ready.append((svc, version))
    if not rows:
        errors["file"] = "has no services in it"
    if errors:
        raise ServiceError(errors)
    return store.apply_import(ready, user=user.username, source=source)
