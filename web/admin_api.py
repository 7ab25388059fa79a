"""JSON admin API v1: read a service with its ETag, create, update with If-Match, set capacity, import/export.

Only HTTP is translated here; every check and write is uec.directory_service's."""
from __future__ import annotations

from typing import Any, Mapping

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy.exc import DBAPIError

from directory import exports
from directory.model import Service, ServiceError
from directory.store import ConflictError, NotFound, Quarantined
from uec.directory_service import Forbidden, parse_version
from web import auth

bp = Blueprint("admin_api", __name__, url_prefix="/api/v1")


def _care():
    return current_app.extensions["uec"]


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


@bp.errorhandler(Forbidden)
def _forbidden(exc: Forbidden) -> Response:
    role = g.api_user.role if "api_user" in g else "anonymous"
    return _error(403, "forbidden", message=f"the role {role!r} may not {exc.what}")


@bp.errorhandler(ServiceError)
def _invalid(exc: ServiceError) -> Response:
    return _field_errors(exc.errors)


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound) -> Response:
    return _error(404, "not found", message=f"no service {exc.args[0]!r}; GET /api/v1/services lists them, "
                                            "POST /api/v1/services creates one")


@bp.errorhandler(Quarantined)
def _quarantined(exc: Quarantined) -> Response:
    return _error(409, "quarantined", message="this record fails today's checks and is left out of routing; "
                                              "PUT a corrected record (If-Match: its version) to repair it",
                  current_version=exc.version, errors=exc.reasons)


@bp.errorhandler(DBAPIError)
def _database_down(exc: DBAPIError) -> Response:
    current_app.logger.error("admin API: database unavailable: %s", exc.__class__.__name__)
    resp = _error(503, "database unavailable",
                  message="the directory database cannot be reached, so nothing was read or changed; routing goes "
                          "on from the last loaded directory. Retry in a minute; if it persists, tell the service's "
                          "operators (check DATABASE_URL and that the database server is running)")
    resp.headers["Retry-After"] = "60"
    return resp


def _body() -> Any:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ServiceError({"body": "must be a JSON object (Content-Type: application/json)"})
    return data


def _with_etag(svc: Service, status: int = 200) -> Response:
    resp = jsonify(service_json(svc))
    resp.status_code = status
    resp.headers["ETag"] = f'"{svc.version}"'
    return resp


# -- routes ---------------------------------------------------------------------------------
@bp.get("/services/<service_id>")
@auth.token_required
def get_service(service_id: str):
    """The whole record for editing (its version as ETag): a token is needed, because it holds the
    professional phone line and the staff username who set the capacity; GET /api/v1/services is the
    public view of the directory."""
    return _with_etag(_care().directory.get(service_id))


@bp.post("/services")
@auth.token_required
def create_service():
    body = _body()
    created = _care().directory.create(body, user=g.api_user, confirm_outside_lsc=body.get("confirm_outside_lsc") is True,
                                       check_unknown_keys=True)
    resp = _with_etag(created, 201)
    resp.headers["Location"] = f"/api/v1/services/{created.id}"
    return resp


@bp.put("/services/<service_id>")
@auth.token_required
def put_service(service_id: str):
    directory = _care().directory
    try:
        current_version = directory.get(service_id).version
    except Quarantined as q:
        current_version = q.version
    directory.editable(service_id, g.api_user, f"edit {service_id!r}")
    raw = request.headers.get("If-Match")
    if raw is None:
        return _error(428, "precondition required",
                      message="send If-Match with the ETag from GET /api/v1/services/<id>, so no one's change is lost",
                      current_version=current_version)
    try:
        expected = parse_version(raw, field="If-Match")
    except ServiceError:
        return _field_errors({"If-Match": "must be the ETag from GET, e.g. \"3\""})
    body = _body()
    if body.get("id") not in (None, service_id):
        return _field_errors({"id": "must match the service id in the URL (ids cannot be changed)"})
    try:
        new = directory.update(service_id, body, user=g.api_user, expected_version=expected,
                               confirm_outside_lsc=body.get("confirm_outside_lsc") is True, check_unknown_keys=True)
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
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _field_errors({"body": "must be a JSON object like {\"status\": \"amber\", \"reset_minutes\": 240}"})
    errors = {str(k)[:64]: "is not a field; send status and reset_minutes" for k in body
              if k not in ("status", "reset_minutes")}
    reset = body.get("reset_minutes", 240)
    if isinstance(reset, bool) or not isinstance(reset, int):
        errors["reset_minutes"] = "must be a whole number of minutes (15-1440)"
    if errors:
        return _field_errors(errors)
    return _with_etag(_care().directory.set_capacity(service_id, body.get("status"), user=g.api_user,
                                                     reset_minutes=reset))


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
    try:
        text = request.get_data().decode("utf-8-sig")
    except UnicodeDecodeError:
        return _field_errors({"file": "is not UTF-8 text; save it as CSV UTF-8 and try again"})
    return jsonify(_care().directory.import_text(text, fmt, user=g.api_user, source=f"api:{fmt}"))
