"""JSON API v1 for dispatch systems: triage, route and the catalogues."""
from __future__ import annotations

import os
import time

from flask import Blueprint, current_app, jsonify, request

from uec.inputs import InputError

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _care():
    return current_app.extensions["uec"]


def _body():
    data = request.get_json(silent=True)
    if data is None:
        raise InputError({"body": "must be a JSON object sent with Content-Type: application/json"})
    return data


def _caller() -> dict | None:
    """The API key's user, if one is presented."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return _care().accounts.user_for_token(auth[7:].strip())
    return None


def _caller_role(user: dict | None | bool = False) -> str:
    """The default requester role of the API key, if one is presented (`user`: already looked up)."""
    user = _caller() if user is False else user
    return (user or {}).get("requester_role") or "nhs111"


@bp.post("/triage")
def triage():
    body = _body()
    if isinstance(body, dict) and "requester_role" not in body:
        body = {**body, "requester_role": _caller_role()}
    return jsonify(_care().triage(body))


@bp.post("/route")
def route():
    user = _caller()  # a trusted (token-holding) caller's gaps are logged for any date, others' only near now
    return jsonify(_care().route(_body(), default_role=_caller_role(user), trusted=user is not None))


@bp.get("/complaints")
def complaints():
    return jsonify({"complaints": _care().complaints()})


@bp.get("/dispositions")
def dispositions():
    return jsonify({"dispositions": _care().dispositions()})


@bp.get("/health")
def health():
    """Whether routing is answering, from which directory version, and which records it leaves out and why."""
    care = _care()
    snap = care.snapshot()
    quarantined = [q.as_dict() for q in getattr(snap, "quarantined", ())]
    return jsonify({"status": "degraded" if quarantined else "ok", "directory_version": snap.version,
                    "services": len(snap.services), "worker_pid": os.getpid(),
                    "snapshot_age_s": round(time.time() - snap.built_at, 1), "snapshot": care.snapshot_status(),
                    "quarantined": quarantined})


@bp.get("/services")
def services():
    """The directory as routing sees it now (GET /api/v1/services?type=urgent_treatment_centre)."""
    snap = _care().snapshot()
    wanted = request.args.get("type")
    items = [s.to_dict() | {"version": s.version, "capacity": s.capacity.status if s.capacity.set_at else "unknown"}
             for s in snap.services if not wanted or s.type == wanted]
    return jsonify({"directory_version": snap.version, "count": len(items), "services": items,
                    "types": _care().service_types()})


@bp.get("/coverage")
def coverage():
    """Shared intelligence: population share within 15/30/45/60 min of an open service of a type."""
    from uec.inputs import parse_at
    errors: dict[str, str] = {}
    at = parse_at(request.args.get("at"), errors)
    if errors:
        raise InputError(errors)
    return jsonify(_care().coverage(request.args.get("type", ""), at=at))
