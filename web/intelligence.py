"""Intelligence pages and JSON: the dashboard, the coverage map, what-if scenarios, the service chosen."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta

from flask import Blueprint, Response, abort, current_app, g, jsonify, render_template, request, url_for

from directory.model import SERVICE_TYPES
from directory.opening import DAYS, LONDON
from geodata.areas import LAD_NAMES, PLACES
from uec.directory_service import Forbidden
from uec.inputs import InputError
from web import auth

bp = Blueprint("intelligence", __name__)


@bp.errorhandler(Forbidden)
def _forbidden(exc: Forbidden):
    if request.path.startswith("/api/"):
        return jsonify({"error": "forbidden", "message": str(exc)}), 403
    from werkzeug.exceptions import Forbidden as HTTPForbidden
    return current_app.handle_http_exception(HTTPForbidden(description=str(exc)))
DAY_LABELS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _care():
    return current_app.extensions["uec"]


def _intel():
    from uec.intelligence.service import Intelligence
    care = _care()
    intel = care.__dict__.get("_intelligence")
    if intel is None:
        intel = care._intelligence = Intelligence(care)
    return intel


def _viewer() -> auth.User | None:
    """A signed-in user (any role) or a bearer token's user."""
    return auth.current_user() or auth.api_user()


def _api_guard():
    user = _viewer()
    if user is None:
        resp = jsonify({"error": "unauthorised", "message": "sign in to /admin, or send 'Authorization: Bearer <token>' "
                                                            "(any role, viewer upwards; 'uec create-token USERNAME')"})
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = 'Bearer realm="uec"'
        return resp
    g.intel_user = user
    return None


def _csv(columns, rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    for r in rows:  # a cell starting = + - @ would run as a formula in a spreadsheet
        w.writerow([("'" + c) if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in r])
    return buf.getvalue()


def _page_args():
    return {"places": PLACES, "districts": LAD_NAMES, "types": SERVICE_TYPES, "days": DAY_LABELS}


# -- the dashboard ----------------------------------------------------------------------------
@bp.get("/admin/intelligence")
@auth.login_required
def dashboard():
    try:
        f = _intel().filters(request.args)
    except InputError as exc:
        f = _intel().filters({})
        return render_template("admin/intelligence.html", f=f, figures=[], errors=exc.errors, **_page_args()), 400
    figs = [_intel().figures.figure(name, f) for name in _intel().figures.NAMES]
    return render_template("admin/intelligence.html", f=f, figures=figs, errors={}, **_page_args())


@bp.get("/admin/intelligence/<name>.<fmt>")
@auth.login_required
def figure(name: str, fmt: str):
    intel = _intel()
    if name not in intel.figures.NAMES or fmt not in ("json", "csv", "svg"):
        abort(404, description=f"Figures are {', '.join(intel.figures.NAMES)}; formats json, csv and svg.")
    f = intel.filters(request.args)
    fig = intel.figures.figure(name, f)
    if fmt == "json":
        return jsonify({**fig.as_dict(), "filters": f.as_args()})
    if fmt == "csv":
        return Response(_csv(fig.columns, fig.rows), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=intelligence-{name}.csv"})
    return Response(intel.chart(fig), mimetype="image/svg+xml")


# -- the coverage map -------------------------------------------------------------------------
def _map_request(args):
    """(type, at, place) from day=mon..sun, time=HH:MM, type=, place=; errors name the field."""
    errors = {}
    stype = args.get("type") or "urgent_treatment_centre"
    if stype not in SERVICE_TYPES:
        errors["type"] = f"must be one of {', '.join(SERVICE_TYPES)}"
    day = (args.get("day") or "wed").lower()[:3]
    if day not in DAYS:
        errors["day"] = "must be a day: mon, tue, wed, thu, fri, sat or sun"
    raw = args.get("time") or "14:00"
    try:
        hh, mm = (int(x) for x in raw.split(":"))
        clock = time(hh, mm)
    except (ValueError, TypeError):
        errors["time"] = "must be a time like 14:00 or 02:30"
        clock = time(14)
    place = args.get("place") or None
    if place and place not in PLACES and place not in LAD_NAMES:
        errors["place"] = f"must be one of {', '.join(PLACES)} or a district code"
    if errors:
        raise InputError(errors)
    return stype, _intel().next_weekday(day, clock), place


@bp.get("/admin/intelligence/map")
@auth.login_required
def coverage_map():
    try:
        stype, at, place = _map_request(request.args)
    except InputError as exc:
        return render_template("admin/intelligence_map.html", errors=exc.errors, args=request.args, cov=None,
                               svg=None, at=None, **_page_args()), 400
    cov, svg = _intel().coverage_map(stype, at, place)
    return render_template("admin/intelligence_map.html", errors={}, args=request.args, cov=cov, svg=svg, at=at,
                           stype=stype, place=place, **_page_args())


@bp.get("/admin/intelligence/map.svg")
@auth.login_required
def coverage_map_svg():
    stype, at, place = _map_request(request.args)
    return Response(_intel().coverage_map(stype, at, place)[1], mimetype="image/svg+xml")


# -- JSON for other systems -------------------------------------------------------------------
@bp.get("/api/v1/intelligence/summary")
def api_summary():
    denied = _api_guard()
    if denied:
        return denied
    known = ("from", "to", "place", "type")
    errors = {k: "give it once" for k in known if len(request.args.getlist(k)) > 1}
    errors |= {k[:64]: f"is not a filter; use {', '.join(known)}" for k in request.args if k not in known}
    if errors:
        raise InputError(errors)
    f = _intel().filters(request.args)
    return jsonify({"api_version": "1", **_intel().figures.summary(f)})


@bp.post("/api/v1/outcomes/<ref>/chosen")
def api_chosen(ref: str):
    """The call handler records which offered service the caller was given (keyed by the answer's outcome_ref)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InputError({"body": "must be a JSON object like {\"service\": \"rph-utc\"}"})
    try:
        return jsonify(_care().recorder.chosen(ref, body.get("service"))), 200
    except LookupError as exc:
        return jsonify({"error": "not found", "message": str(exc.args[0])}), 404


# -- what-if ----------------------------------------------------------------------------------
def _form_changes(form) -> list[dict]:
    """One change from the what-if form."""
    action, sid = form.get("action", ""), form.get("service", "")
    if action == "close":
        return [{"service": sid, "close": True}]
    if action == "open":
        return [{"service": sid, "open": True}]
    if action == "hours":
        return [{"service": sid, "hours": form.get("hours", "")}]
    if action == "add":
        return [{"add": {"type": form.get("add_type", ""), "postcode": form.get("postcode", ""),
                         "hours": form.get("hours") or "24/7"}}]
    raise InputError({"action": "choose close, open, change hours or add a site"})


@bp.route("/admin/intelligence/whatif", methods=["GET", "POST"])
@auth.login_required
def whatif():
    intel, user = _intel(), auth.current_user()
    result, errors, form = None, {}, request.form
    if request.method == "POST":
        try:
            weeks = int(form.get("weeks") or 4)
        except ValueError:
            weeks = -1
        name = form.get("name", "").strip()
        if name:  # refused before the scenario is run, not after
            auth.require(auth.can_manage_scenarios(user), "save scenarios")
        try:
            body = {"changes": _form_changes(form), "weeks": weeks} | ({"name": name} if name else {})
            result = intel.whatif(body)
            if name:
                intel.save_whatif(name, body, result, user=user)
        except InputError as exc:
            errors = exc.errors
    services = sorted(_care().snapshot().services, key=lambda s: s.name)
    return render_template("admin/intelligence_whatif.html", result=result, errors=errors, form=form,
                           services=services, saved=intel.saved_whatifs(), types=SERVICE_TYPES,
                           can_save=auth.can_manage_scenarios(user)), 400 if errors else 200


@bp.post("/api/v1/whatif")
def api_whatif():
    denied = _api_guard()
    if denied:
        return denied
    body = request.get_json(silent=True)
    saving = isinstance(body, dict) and "name" in body
    if saving and not auth.can_manage_scenarios(g.intel_user):  # refused before the scenario is run
        raise Forbidden(g.intel_user, "save scenarios")
    result = _intel().whatif(body)  # checks every field, the name too
    if saving:
        result["saved_id"] = _intel().save_whatif(body["name"], body, result, user=g.intel_user)
    return jsonify({"api_version": "1", **result})
