"""Commissioners' admin pages: directory, edits without lost updates, capacity, users, rankings, gaps, scenarios."""
from __future__ import annotations

import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any, Mapping

from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)
from rapidfuzz import fuzz, process
from sqlalchemy.exc import DBAPIError

from directory import exports
from directory import scenarios as sc
from uec.directory_service import Forbidden
from directory.model import CAPACITY, REFERRAL_ROLES, SERVICE_TYPES, Service, ServiceError, utcnow
from directory.opening import DAYS, LONDON, OpeningError, OpeningTimes, format_session, is_bank_holiday, next_bank_holiday
from accounts import ROLES, AccountError
from directory.store import ConflictError, NotFound, Quarantined
from web import auth
from web.admin_errors import error_summary

bp = Blueprint("admin", __name__, url_prefix="/admin")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DUE_WITHIN_DAYS = 14


def _care():
    return current_app.extensions["uec"]


def _store():
    return _care().store


def _directory():
    return _care().directory


@bp.errorhandler(Forbidden)
def _forbidden(exc: Forbidden):
    from werkzeug.exceptions import Forbidden as HTTPForbidden
    return current_app.handle_http_exception(HTTPForbidden(description=str(exc)))


@bp.errorhandler(DBAPIError)
def _database_down(exc: DBAPIError):
    """The database is unreachable: say so and what to do, never a bare 500 (routing goes on from its snapshot)."""
    current_app.logger.error("admin: database unavailable: %s", exc.__class__.__name__)
    message = ("The directory database cannot be reached, so this page could not be read and nothing was changed. "
               "Call routing carries on from the last loaded directory. Wait a minute and try again; if it goes on, "
               "tell the service's operators (the database server may be down, or DATABASE_URL may be wrong).")
    if request.accept_mimetypes.best == "application/json":
        resp = jsonify({"error": "database unavailable", "message": message})
    else:
        resp = current_app.response_class(render_template("admin/unavailable.html", message=message),
                                          mimetype="text/html")
    resp.status_code = 503
    resp.headers["Retry-After"] = "60"
    return resp


@bp.app_context_processor
def _globals():
    try:
        user = auth.current_user() if request.path.startswith("/admin") else None
    except DBAPIError:  # the 503 page itself must still render
        user = None
    return {"admin_user": user, "SERVICE_TYPES": SERVICE_TYPES, "auth": auth, "error_summary": error_summary}


def _get(service_id: str) -> Service:
    try:
        return _directory().get(service_id)
    except NotFound:
        abort(404, description=f"There is no service {service_id!r}. Go back to the directory list.")
    except Quarantined as q:
        abort(409, description=f"{q.name} is quarantined: it is left out of routing until it is repaired. "
                               f"Open /admin/services/{service_id}/edit to fix: "
                               + "; ".join(f"{k}: {v}" for k, v in q.reasons.items()))


def _quarantined(service_id: str) -> Quarantined:
    try:
        _store().get(service_id)
    except Quarantined as q:
        return q
    abort(404)


# -- sign-in ---------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        user = auth.sign_in(request.form.get("username", "").strip(), request.form.get("password", ""))
        if user:
            target = request.args.get("next") or ""
            ok = len(target) <= 2000 and not any(ord(c) < 32 or ord(c) == 127 for c in target)
            return redirect(auth.safe_next(target if ok else None))
        error = ("The username or password is not right, or the account is locked for a few minutes after "
                 "repeated failures. Check them and try again later.")
    return render_template("admin/login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    auth.sign_out()
    flash("You have signed out.")
    return redirect(url_for("admin.login"))


# -- directory list and search ---------------------------------------------------------------
def fuzzy_search(services: list[Service], query: str, *, limit: int = 50) -> list[Service]:
    """Services matching `query` by name, postcode, type or provider, typos tolerated, best first."""
    q = query.strip().lower()
    if not q:
        return services
    texts = {s.id: " ".join((s.name, s.postcode, s.postcode.replace(" ", ""), s.type.replace("_", " "),
                             SERVICE_TYPES[s.type], s.provider, s.id)).lower() for s in services}
    by_id = {s.id: s for s in services}
    scored: dict[str, float] = {}
    for sid, text in texts.items():
        if q in text:
            scored[sid] = 200.0 - text.index(q) / 100
    for text, score, sid in process.extract(q, texts, scorer=fuzz.WRatio, limit=limit, score_cutoff=75):
        scored[sid] = max(scored.get(sid, 0.0), score)
    for text, score, sid in process.extract(q, texts, scorer=fuzz.partial_ratio, limit=limit, score_cutoff=85):
        scored[sid] = max(scored.get(sid, 0.0), score)
    return [by_id[sid] for sid, _ in sorted(scored.items(), key=lambda kv: -kv[1])][:limit]


@bp.get("/")
@auth.login_required
def index():
    q = request.args.get("q", "")
    usable, quarantined = _store().services_and_quarantine()
    services = fuzzy_search(usable, q)
    return render_template("admin/index.html", services=services, q=q, today=_today(), quarantined=quarantined)


def _today() -> date:
    return datetime.now(LONDON).date()


# -- the week as the commissioner will see it ---------------------------------------------------
def _session_label(s: tuple[int, int]) -> str:
    a, b = s
    if b <= a:
        return f"{format_session(s)[:5]} to {format_session(s)[6:]} the next day (overnight)"
    if a == 0 and b == 24 * 60:
        return "all day"
    return format_session(s).replace("-", " to ")


def week_view(opening: OpeningTimes, start: date) -> list[dict[str, Any]]:
    """The next 7 days from `start`, each with its sessions and why (weekly, bank holiday, dated)."""
    from directory.opening import bank_holidays
    import holidays as _h
    names = _h.country_holidays("GB", subdiv="ENG", years=[start.year, start.year + 1])
    out = []
    for i in range(7):
        day = start + timedelta(days=i)
        if opening.always:
            why, sessions = "24/7", ((0, 24 * 60),)
        else:
            sessions = opening.sessions_on(day)
            why = ("dated change" if day in opening.dates else
                   f"bank holiday: {names.get(day)}" if opening.bank_holiday is not None and day in bank_holidays(day.year)
                   else (f"bank holiday ({names.get(day)}): usual {DAY_NAMES[day.weekday()]} hours" if is_bank_holiday(day) else ""))
        out.append({"date": day, "day": DAY_NAMES[day.weekday()], "why": why,
                    "sessions": [_session_label(s) for s in sessions] or ["closed"]})
    return out


def next_bh_view(opening: OpeningTimes, start: date) -> dict[str, Any]:
    day, name = next_bank_holiday(start)
    sessions = ((0, 24 * 60),) if opening.always else opening.sessions_on(day)
    return {"date": day, "name": name, "sessions": [_session_label(s) for s in sessions] or ["closed"],
            "rule": "24/7" if opening.always else ("dated change" if day in opening.dates else
                                                   "usual weekday hours" if opening.bank_holiday is None
                                                   else "bank holiday hours")}


# -- form <-> service ------------------------------------------------------------------------------
def opening_to_form(o: OpeningTimes) -> dict[str, str]:
    f: dict[str, str] = {"opening_always": "1" if o.always else ""}
    for i, d in enumerate(DAYS):
        f[f"opening_{d}"] = ", ".join(format_session(s) for s in o.weekly.get(i, ()))
    f["opening_bank_mode"] = "weekday" if o.bank_holiday is None else "sessions"
    f["opening_bank"] = ", ".join(format_session(s) for s in (o.bank_holiday or ()))
    f["opening_dates"] = "\n".join(f"{k.isoformat()}: {', '.join(format_session(s) for s in v) or 'closed'}"
                                   for k, v in sorted(o.dates.items()))
    return f


def service_to_form(s: Service) -> dict[str, Any]:
    d = s.to_dict()
    f = {k: ("" if v is None else v) for k, v in d.items() if not isinstance(v, (dict, list))}
    f.update(version=s.version, referral_routes=list(s.referral_routes), accepts=list(s.accepts or ()),
             catchment_lads=" ".join(s.catchment_lads), referral_only="1" if s.referral_only else "",
             age_min=f"{s.age_min:g}", age_max="" if s.age_max is None else f"{s.age_max:g}")
    f.update(opening_to_form(s.opening))
    return f


def _sessions(text: str) -> list[str]:
    t = (text or "").strip()
    if not t or t.lower() == "closed":
        return []
    return [x.strip() for x in t.replace(";", ",").split(",") if x.strip()]


def form_opening(form: Mapping[str, str], errors: dict[str, str]) -> Any:
    if form.get("opening_always"):
        return {"always": True}
    weekly = {d: _sessions(form.get(f"opening_{d}", "")) for d in DAYS}
    o: dict[str, Any] = {"weekly": weekly}
    if form.get("opening_bank_mode") == "sessions":
        o["bank_holidays"] = _sessions(form.get("opening_bank", ""))
    dates: dict[str, list[str]] = {}
    for n, line in enumerate((form.get("opening_dates") or "").splitlines(), start=1):
        if not line.strip():
            continue
        day, sep, rest = line.partition(":")
        if not sep:
            errors["opening.dates"] = f"line {n}: write a date, a colon, then sessions or 'closed', e.g. '2026-12-25: closed'"
            continue
        dates[day.strip()] = _sessions(rest)
    if dates:
        o["dates"] = dates
    return o


def form_to_data(form, base: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The service input a submitted form describes (fields not on the form keep `base`'s values)."""
    errors: dict[str, str] = {}
    data = dict(base)
    for k in ("id", "name", "type", "provider", "address", "postcode", "phone_public", "phone_professional", "sex",
              "source", "notes", "verified_on"):
        if k in form:
            data[k] = form.get(k, "").strip() or None
    for k in ("lat", "lon", "age_min", "age_max", "last_arrival_minutes", "verify_interval_days"):
        if k in form:
            v = form.get(k, "").strip()
            data[k] = None if v == "" else v
    if "postcode" in form and "lat" in form and not form.get("lat", "").strip():
        data["lat"] = data["lon"] = None  # located from the postcode
    if form.get("referral_routes_present"):
        data["referral_routes"] = form.getlist("referral_routes") or []
        if not data["referral_routes"]:
            errors["referral_routes"] = "tick at least one route by which patients may reach the service"
        data["referral_only"] = bool(form.get("referral_only"))
    if form.get("accepts_present"):
        data["accepts"] = form.getlist("accepts") or None
    if "catchment_lads" in form:
        lads = auth.split_list(form.get("catchment_lads"), words=True)
        data["catchment"] = {"lads": lads} if lads else None
    if form.get("opening_present"):
        data["opening"] = form_opening(form, errors)
    for k in ("age_min", "lat", "lon", "last_arrival_minutes", "verify_interval_days", "age_max"):
        if isinstance(data.get(k), str):
            try:
                data[k] = float(data[k]) if k in ("lat", "lon", "age_min", "age_max") else int(data[k])
            except ValueError:
                errors[k] = "must be a number"
                data[k] = None
    return data, errors


def _opening_preview(data: Mapping[str, Any]) -> tuple[list | None, dict | None]:
    try:
        o = OpeningTimes.from_dict(data.get("opening"))
    except OpeningError:
        return None, None
    return week_view(o, _today()), next_bh_view(o, _today())


def _form_page(template: str, *, form: Mapping[str, Any], errors: Mapping[str, str], service: Service | None,
               data: Mapping[str, Any] | None = None, status: int = 200, **extra):
    week, bh = _opening_preview(data or {}) if data else (None, None)
    if week is None and service is not None:
        week, bh = week_view(service.opening, _today()), next_bh_view(service.opening, _today())
    classes = sorted({d.cls for d in _care().rules.dispositions.values()})
    return render_template(template, form=form, errors=errors, service=service, week=week, bank_holiday=bh,
                           days=list(zip(DAYS, DAY_NAMES)), referral_roles=REFERRAL_ROLES, classes=classes,
                           **extra), status


# -- service pages -----------------------------------------------------------------------------
@bp.get("/services/<service_id>")
@auth.login_required
def service(service_id: str):
    try:
        _store().get(service_id)
    except Quarantined:
        return redirect(url_for("admin.edit_service", service_id=service_id))
    except NotFound:
        pass
    s = _get(service_id)
    user = auth.current_user()
    cap, age = s.capacity.effective(utcnow())
    return render_template("admin/service.html", s=s, week=week_view(s.opening, _today()),
                           bank_holiday=next_bh_view(s.opening, _today()), history=_store().audit_log(service_id=s.id),
                           capacity=cap, capacity_age=age, can_edit=auth.can_edit_service(user, s),
                           can_capacity=auth.can_set_capacity(user, s), today=_today())


@bp.route("/services/new", methods=["GET", "POST"])
@auth.login_required
def new_service():
    user = auth.current_user()
    auth.require(auth.can_import(user), "create services")
    blank = {"type": "urgent_treatment_centre", "sex": "any", "age_min": "0", "last_arrival_minutes": "30",
             "verify_interval_days": "90", "referral_routes": list(REFERRAL_ROLES), "accepts": [],
             **opening_to_form(OpeningTimes.from_dict({"weekly": {"daily": ["08:00-20:00"]}}))}
    if request.method == "GET":
        return _form_page("admin/edit.html", form=blank, errors={}, service=None, data=None, creating=True)
    data, errors = form_to_data(request.form, {"verified_on": _today().isoformat()})
    confirm = bool(request.form.get("confirm_outside_lsc"))
    try:
        if request.form.get("action") == "preview" or errors:
            _directory().validate(data, confirm_outside_lsc=confirm)
        else:
            created = _directory().create(data, user=user, confirm_outside_lsc=confirm)
            flash(f"Created {created.name}.")
            return redirect(url_for("admin.service", service_id=created.id))
    except ServiceError as exc:
        errors.update({k: v for k, v in exc.errors.items() if k not in errors})
    return _form_page("admin/edit.html", form=request.form, errors=errors, service=None, data=data, creating=True,
                      status=400 if errors else 200)


def _conflict(s_id: str, exc: ConflictError, endpoint: str, mine: Mapping[str, Any]):
    """Both versions side by side; re-applying posts the user's values against the current version."""
    theirs = exc.current.to_dict()
    keys = [k for k in theirs if k != "id"]
    rows = [{"field": k, "mine": mine.get(k), "theirs": theirs.get(k), "differs": mine.get(k) != theirs.get(k)}
            for k in keys]
    hidden = [(k, v) for k in request.form if k not in ("csrf_token", "version", "action")
              for v in request.form.getlist(k)]
    last = _store().audit_log(service_id=s_id, limit=1)
    return render_template("admin/conflict.html", s=exc.current, rows=rows, hidden=hidden, endpoint=endpoint,
                           current_version=exc.current.version, last=last[0] if last else None), 409


def raw_to_form(data: Any) -> dict[str, Any]:
    """A quarantined record's stored fields as form values, so an editor can see and repair them."""
    data = data if isinstance(data, Mapping) else {}
    f: dict[str, Any] = {k: ("" if v is None else str(v)[:5000]) for k, v in data.items()
                         if not isinstance(v, (dict, list))}
    f["referral_routes"] = [r for r in (data.get("referral_routes") or []) if isinstance(r, str)] \
        if isinstance(data.get("referral_routes"), list) else list(REFERRAL_ROLES)
    f["accepts"] = [a for a in data.get("accepts") or [] if isinstance(a, str)] if isinstance(data.get("accepts"), list) else []
    catchment = data.get("catchment") if isinstance(data.get("catchment"), Mapping) else {}
    f["catchment_lads"] = " ".join(x for x in catchment.get("lads") or [] if isinstance(x, str))
    f["referral_only"] = "1" if data.get("referral_only") is True else ""
    try:
        f.update(opening_to_form(OpeningTimes.from_dict(data.get("opening"))))
    except Exception:
        f.update(opening_to_form(OpeningTimes(always=False)))
    return f


@bp.route("/services/<service_id>/edit", methods=["GET", "POST"])
@auth.login_required
def edit_service(service_id: str):
    user = auth.current_user()
    try:
        s = _directory().editable(service_id, user, f"edit {service_id}")
        quarantine = None
    except NotFound:
        abort(404, description=f"There is no service {service_id!r}. Go back to the directory list.")
    if s is None:  # a quarantined record: edited from what is stored, its problems shown as errors
        quarantine = _quarantined(service_id)
    if request.method == "GET":
        if s is not None:
            form = service_to_form(s)
            if _care().geo.areas.area_of(s.lat, s.lon) is None:
                form["confirm_outside_lsc"] = "1"
        else:
            form = raw_to_form(quarantine.data) | {"version": quarantine.version}
        return _form_page("admin/edit.html", form=form, errors=quarantine.reasons if quarantine else {}, service=s,
                          creating=False, quarantine=quarantine, service_id=service_id)
    base = s.to_dict() if s is not None else (dict(quarantine.data) if isinstance(quarantine.data, Mapping) else {})
    data, errors = form_to_data(request.form, base)
    data["id"] = service_id
    confirm = bool(request.form.get("confirm_outside_lsc"))
    try:
        if request.form.get("action") == "preview" or errors:
            _directory().validate(data, current=s, confirm_outside_lsc=confirm)
        else:
            new = _directory().update(service_id, data, user=user, expected_version=request.form.get("version"),
                                      confirm_outside_lsc=confirm)
            flash(f"Saved {new.name} (version {new.version}).")
            return redirect(url_for("admin.service", service_id=service_id))
    except ServiceError as exc:
        errors.update({k: v for k, v in exc.errors.items() if k not in errors})
    except ConflictError as exc:
        return _conflict(service_id, exc, "admin.edit_service", data)
    return _form_page("admin/edit.html", form=request.form, errors=errors, service=s, data=data, creating=False,
                      status=400 if errors else 200, quarantine=quarantine, service_id=service_id)


@bp.route("/services/<service_id>/close", methods=["GET", "POST"])
@auth.login_required
def close_service(service_id: str):
    s = _get(service_id)
    user = auth.current_user()
    auth.require(auth.can_edit_service(user, s), f"close {s.name}")
    form: Mapping[str, Any] = {"version": s.version, "closed_from": _today().isoformat(), "closed_reason": "",
                               "closed_until": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        try:
            _directory().close(s.id, user=user, expected_version=form.get("version"),
                               reason=form.get("closed_reason", ""), closed_from=form.get("closed_from"),
                               closed_until=form.get("closed_until"))
            flash(f"{s.name} is temporarily closed.")
            return redirect(url_for("admin.service", service_id=s.id))
        except ServiceError as exc:
            errors = exc.errors
        except ConflictError as exc:
            data = s.to_dict() | {"status": "temporarily_closed", "closed_reason": form.get("closed_reason"),
                                  "closed_from": form.get("closed_from"), "closed_until": form.get("closed_until")}
            return _conflict(s.id, exc, "admin.close_service", data)
    return render_template("admin/close.html", s=s, form=form, errors=errors), (400 if errors else 200)


@bp.post("/services/<service_id>/reopen")
@auth.login_required
def reopen_service(service_id: str):
    s = _get(service_id)
    try:
        _directory().reopen(s.id, user=auth.current_user(), expected_version=request.form.get("version"))
    except ConflictError as exc:
        data = s.to_dict() | {"status": "active", "closed_reason": None, "closed_from": None, "closed_until": None}
        return _conflict(s.id, exc, "admin.reopen_service", data)
    except ServiceError as exc:
        flash(f"{s.name} was not reopened: {exc}", "error")
        return redirect(url_for("admin.service", service_id=s.id)), 303
    flash(f"{s.name} is open again.")
    return redirect(url_for("admin.service", service_id=s.id))


def _back(default: str) -> str:
    """Where to go after a form: a same-site /admin path from 'back', checked BEFORE anything is saved."""
    target = request.form.get("back") or ""
    if not target or len(target) > 2000 or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    return auth.safe_next(target)


@bp.post("/services/<service_id>/verify")
@auth.login_required
def verify_service(service_id: str):
    s = _get(service_id)
    back = _back(url_for("admin.verification"))
    _directory().confirm_verified(s.id, user=auth.current_user())
    flash(f"Recorded that {s.name} is still correct.")
    return redirect(back)


@bp.route("/services/<service_id>/capacity", methods=["POST"])
@auth.login_required
def set_capacity(service_id: str):
    s = _get(service_id)
    back = _back(url_for("admin.capacity"))  # a bad redirect target is refused before the change is saved
    status = request.form.get("status", "")
    try:
        new = _directory().set_capacity(s.id, status, user=auth.current_user(),
                                        reset_minutes=request.form.get("reset_minutes") or 240)
        flash(f"{s.name}: capacity {status} (resets to green after {new.capacity.reset_minutes} minutes).")
    except ServiceError as exc:
        flash(f"Capacity not changed: {exc}", "error")
        return redirect(url_for("admin.capacity")), 303
    return redirect(back)


@bp.get("/capacity")
@auth.login_required
def capacity():
    user = auth.current_user()
    mine = [s for s in _store().services() if auth.can_set_capacity(user, s)]
    now = utcnow()
    rows = [{"s": s, "status": s.capacity.effective(now)[0], "age": s.capacity.effective(now)[1]} for s in mine]
    return render_template("admin/capacity.html", rows=rows, statuses=CAPACITY)


# -- verification -----------------------------------------------------------------------------------
@bp.get("/verification")
@auth.login_required
def verification():
    today = _today()
    rows = []
    for s in _store().services():
        due = s.verification_due()
        if due is None or due <= today + timedelta(days=DUE_WITHIN_DAYS):
            rows.append({"s": s, "due": due, "overdue": due is None or due < today})
    rows.sort(key=lambda r: (r["due"] or date.min, r["s"].name))
    return render_template("admin/verification.html", rows=rows, today=today, within=DUE_WITHIN_DAYS)


# -- audit --------------------------------------------------------------------------------------------
@bp.get("/audit")
@auth.login_required
def audit():
    entries = _store().audit_log(service_id=request.args.get("service") or None, limit=500)
    who = request.args.get("user")
    if who:
        entries = [e for e in entries if e["user"] == who]
    return render_template("admin/audit.html", entries=entries)


# -- users ------------------------------------------------------------------------------------------
@bp.route("/users", methods=["GET", "POST"])
@auth.login_required
def users():
    user = auth.current_user()
    auth.require(auth.can_manage_users(user), "manage users")
    errors: dict[str, str] = {}
    form: Mapping[str, Any] = {}
    if request.method == "POST":
        form = request.form
        try:
            if form.get("action") == "create":
                _care().accounts.create_user(form.get("username", "").strip(), form.get("password", ""), form.get("role", ""),
                                     areas=auth.split_list(form.get("areas")),
                                     service_ids=auth.split_list(form.get("service_ids"), words=True),
                                     requester_role=form.get("requester_role") or "nhs111", by=user.username)
                flash(f"Created {form.get('username')}.")
            else:
                _care().accounts.update_user(form.get("username", ""), role=form.get("role", ""),
                                     areas=auth.split_list(form.get("areas")),
                                     service_ids=auth.split_list(form.get("service_ids"), words=True),
                                     active=bool(form.get("active")), by=user.username)
                flash(f"Updated {form.get('username')}.")
            return redirect(url_for("admin.users"))
        except AccountError as exc:
            errors = exc.errors
    return render_template("admin/users.html", users=_care().accounts.users(), roles=ROLES, labels=auth.ROLE_LABELS,
                           errors=errors, form=form), (400 if errors else 200)


# -- commissioner rankings -----------------------------------------------------------------------------
@bp.route("/rankings", methods=["GET", "POST"])
@auth.login_required
def rankings():
    user = auth.current_user()
    areas = auth.rankable_areas(user)
    disp = _care().rules.dispositions
    keys = sorted({d.cls for d in disp.values()}) + sorted(disp)
    area = auth.canonical_area(request.values.get("area") or (areas[0] if areas else ""))
    key = request.values.get("key") or keys[0]
    errors: dict[str, str] = {}
    if request.method == "POST":
        types = [] if request.form.get("action") == "clear" else [t for t in (request.form.get(f"rank{i}") for i in range(1, 11)) if t]
        try:
            _directory().set_ranking(area, key, types, user=user, keys=keys)
            flash(f"Ranking for {key} in {area} {'cleared: the regional default applies' if not types else 'saved'}.")
            return redirect(url_for("admin.rankings", area=area, key=key))
        except ServiceError as exc:
            errors = exc.errors
    base = _care().base_rankings
    cls_of = {code: d.cls for code, d in disp.items()}
    regional = base.regional.get(key) or (base.applied(key, cls_of[key], []).types if key in cls_of else ())
    local = _store().local_rankings()
    current = list(local.get((area, key), ()))
    mine = sorted([(a, k, v) for (a, k), v in local.items() if a in areas])
    return render_template("admin/rankings.html", areas=areas, keys=keys, area=area, key=key, regional=regional,
                           current=request.form.getlist("types") if errors else current, local=mine, errors=errors,
                           can_rank=auth.can_rank(user, area) if area else False), (400 if errors else 200)


# -- gap log ------------------------------------------------------------------------------------------
def _days() -> int:
    try:
        return max(1, min(int(request.args.get("days", 30)), 366))
    except ValueError:
        return 30


def _gap_rows(days: int) -> list[dict[str, Any]]:
    return _store().gap_summary(days=days)


@bp.get("/gaps")
@auth.login_required
def gaps():
    days = _days()
    rows = _gap_rows(days)
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        t = totals.setdefault((r["service_id"], r["rule"]), {"service_id": r["service_id"], "rule": r["rule"],
                                                              "text": r["text"], "count": 0, "days": 0})
        t["count"] += r["count"]
        t["days"] += 1
    names = {s.id: s.name for s in _store().services()}
    return render_template("admin/gaps.html", rows=rows, totals=sorted(totals.values(), key=lambda t: -t["count"]),
                           names=names, days=days)


def gap_chart_svg(rows: list[dict[str, Any]]) -> str:
    """Near misses per day, stacked by rule, as an SVG drawn with matplotlib (no browser scripts)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    rules = sorted({r["rule"] for r in rows})
    for r in rows:
        per_day[r["day"]][r["rule"]] += r["count"]
    days = sorted(per_day)
    fig = Figure(figsize=(8, 3.2))
    ax = fig.subplots()
    bottom = [0] * len(days)
    for rule in rules:
        vals = [per_day[d].get(rule, 0) for d in days]
        ax.bar(days, vals, bottom=bottom, label=rule.replace("_", " "))
        bottom = [a + b for a, b in zip(bottom, vals)]
    ax.set_ylabel("services left out by one rule")
    ax.set_title("Near misses by day and rule")
    if rules:
        ax.legend(fontsize=7, loc="upper left")
    else:
        ax.text(0.5, 0.5, "no gaps logged in this period", ha="center", va="center", transform=ax.transAxes)
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    return buf.getvalue()


@bp.get("/gaps.svg")
@auth.login_required
def gaps_svg():
    days = _days()
    return Response(gap_chart_svg(_gap_rows(days)), mimetype="image/svg+xml")


# -- scenarios ----------------------------------------------------------------------------------------
@bp.route("/scenarios", methods=["GET", "POST"])
@auth.login_required
def scenarios():
    user = auth.current_user()
    errors: dict[str, str] = {}
    form: Mapping[str, Any] = {}
    if request.method == "POST":
        form = request.form
        spec = {k: form.get(k, "").strip() for k in sc.FIELDS if form.get(k, "").strip()}
        try:
            if form.get("action") == "delete":
                _directory().delete_scenario(form.get("name", ""), user=user)
                flash(f"Deleted scenario {form.get('name')!r}.")
                return redirect(url_for("admin.scenarios"))
            s = _directory().save_scenario(form.get("name", ""), spec, user=user,
                                           dispositions=_care().rules.dispositions)
            flash(f"Saved scenario {s.name!r}.")
            return redirect(url_for("admin.scenarios"))
        except sc.ScenarioError as exc:
            errors = exc.errors
    items, bad = sc.from_store(_store().scenarios(), dispositions=_care().rules.dispositions)
    return render_template("admin/scenarios.html", items=items, bad=bad, errors=errors, form=form, results=None,
                           dispositions=sorted(_care().rules.dispositions),
                           can_manage=auth.can_manage_scenarios(user)), (400 if errors else 200)


@bp.post("/scenarios/run")
@auth.login_required
def run_scenarios():
    items, bad = sc.from_store(_store().scenarios(), dispositions=_care().rules.dispositions)
    error = None
    try:
        results = sc.run(items, _care().route)
    except Exception as exc:  # e.g. road routing unavailable: say so rather than fail
        current_app.logger.exception("scenario run failed")
        results, error = [], f"The scenarios could not be run: {exc}"
    results.sort(key=lambda o: (o.ok, o.scenario.name))
    return render_template("admin/scenarios.html", items=items, bad=bad, errors={}, form={}, results=results,
                           run_error=error, dispositions=sorted(_care().rules.dispositions),
                           can_manage=auth.can_manage_scenarios(auth.current_user()))


# -- import / export ---------------------------------------------------------------------------------
@bp.get("/export/<fmt>")
@auth.login_required
def export(fmt: str):
    services = _store().services()
    stamp = _today().isoformat()
    if fmt == "csv":
        body, mime, ext = exports.to_csv(services), "text/csv", "csv"
    elif fmt == "geojson":
        body, mime, ext = exports.dumps(exports.to_geojson(services)), "application/geo+json", "geojson"
    elif fmt == "fhir":
        body, mime, ext = exports.dumps(exports.to_fhir_bundle(services)), "application/fhir+json", "fhir.json"
    else:
        from flask import abort
        abort(404, description="Export formats are csv, geojson and fhir.")
    return Response(body, mimetype=mime,
                    headers={"Content-Disposition": f'attachment; filename="lsc-directory-{stamp}.{ext}"'})


@bp.route("/import", methods=["GET", "POST"])
@auth.login_required
def import_page():
    user = auth.current_user()
    auth.require(auth.can_import(user), "import services")
    errors: dict[str, str] = {}
    counts = None
    if request.method == "POST":
        upload = request.files.get("file")
        fmt = request.form.get("format") or ""
        if upload is None or not upload.filename:
            errors["file"] = "choose a CSV or GeoJSON file exported from this directory"
        else:
            if fmt not in ("csv", "geojson"):
                fmt = "geojson" if upload.filename.lower().endswith((".geojson", ".json")) else "csv"
            try:
                text = upload.read().decode("utf-8-sig")
                counts = _directory().import_text(text, fmt, user=user, source=f"upload:{upload.filename[:200]}")
                flash(f"Imported {counts['rows']} rows: {counts['created']} new, {counts['updated']} changed, "
                      f"{counts['unchanged']} unchanged.")
            except UnicodeDecodeError:
                errors["file"] = "is not UTF-8 text; save it as CSV UTF-8 and try again"
            except ServiceError as exc:
                errors = exc.errors
    return render_template("admin/import.html", errors=errors, counts=counts), (400 if errors else 200)
