"""Call-handler pages: an NHS 111-style form asking the engine's questions one at a time."""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from flask import Blueprint, current_app, render_template, request

from directory.opening import LONDON
from uec import maps
from uec.handover import handover
from uec.inputs import InputError, parse_uk_date_time
from web.auth import current_user
from web.assets import init_app, nhsuk_loader

bp = Blueprint("handler", __name__)
bp.jinja_loader = nhsuk_loader()  # `nhsuk/...` templates for every page that extends base.html
bp.record_once(lambda state: init_app(state.app))

VITALS = ("respiratory_rate", "spo2", "spo2_scale", "on_oxygen", "systolic_bp", "heart_rate",
          "consciousness", "temperature")
STEP1 = ("age", "age_months", "sex", "location", "complaint", "at_date", "at_time", *VITALS)
# the call's reference and timer start, and the words the answers were given for (kept in the page, never stored)
CARRIED = ("ref", "started", "prev_complaint")

# Form field (an element id on the start page) and its label, for each API error key.
FIELD_LABELS = {
    "age": "Age", "sex": "Sex", "complaint": "Presenting complaint", "location": "Location",
    "at": "Date of the call", "at_date": "Date of the call", "at_time": "Time of the call", "respiratory_rate": "Respiratory rate", "spo2": "Oxygen saturation (SpO2)",
    "spo2_scale": "SpO2 scale 2", "on_oxygen": "Air or oxygen", "systolic_bp": "Systolic blood pressure",
    "heart_rate": "Heart rate", "consciousness": "Level of consciousness (ACVPU)",
    "temperature": "Temperature", "answer": "Answer",
}
FLAG_LABELS = {
    "capacity_red": ("Capacity red", "red"), "capacity_unknown": ("Capacity not reported", "grey"),
    "verification_overdue": ("Verification overdue", "orange"), "opens_later": ("Opens later", "yellow"),
    "referral_only": ("Referral only", "purple"), "catch_all": ("Catch-all", "red"),
}
MISSING_LOCATION = "Enter where the patient is: a postcode, a town or village, or latitude, longitude"
EMPTY_MESSAGES = {
    "age": "Enter the patient's age in years, or in months for a baby",
    "sex": "Select female, male or not known",
    "complaint": "Enter the presenting complaint in the caller's words, or choose one from the list",
}
_LATLON = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*[, ]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
_POSTCODE = re.compile(r"^\s*[A-Za-z]{1,2}\d[A-Za-z\d]?(?:\s*\d(?:[A-Za-z]{1,2})?)?\s*$")


def case_reference() -> str:
    """A reference for the call's summary, made up on the spot: nothing about the call is stored here."""
    return f"LSC-{datetime.now(LONDON):%y%m%d-%H%M}-{secrets.token_hex(2).upper()}"


def _care():
    return current_app.extensions["uec"]


def _number(text: str | None) -> Any:
    """A form string as a number; '' is None; anything else goes to the core as is, to be named."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def field_of(key: str) -> str:
    """The start-page field that an API error key is about."""
    if key.startswith("location"):
        return "location"
    if key == "at":
        return "at_date"
    if key.startswith("vitals."):
        name = key.split(".", 1)[1]
        return name if name in VITALS else "respiratory_rate"
    return key if key in FIELD_LABELS else ""


def message_for(key: str, text: str) -> str:
    """Core messages read 'must be ...'; give them their field's name."""
    label = FIELD_LABELS.get(field_of(key) or key, key.replace("_", " ").capitalize())
    if key.startswith("answers."):
        label = "Answer"
    if text.startswith(key + " "):  # "location.place 'X' is not ..." reads "Location 'X' is not ..."
        return f"{label} {text[len(key) + 1:]}"
    if text[:1].islower():
        return f"{label} {text}"
    return text


@dataclass
class Call:
    """One call as the form carries it: the first page's values and the answers so far, in order."""
    values: dict[str, str] = field(default_factory=dict)
    complaint_id: str = ""  # the matched complaint(s), comma-separated, fixed once the engine has recognised the words
    trail: list[dict[str, Any]] = field(default_factory=list)  # [{"q": id, "a": answer, "t": question text}]
    damaged: bool = False

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> "Call":
        call = cls({k: (form.get(k) or "").strip() for k in (*STEP1, *CARRIED)},
                   (form.get("complaint_id") or "").strip())
        raw = form.get("answers") or "[]"
        try:
            trail = json.loads(raw)
            if not isinstance(trail, list) or not all(
                    isinstance(t, dict) and isinstance(t.get("q"), str) and "a" in t for t in trail):
                raise ValueError
        except (ValueError, RecursionError):  # RecursionError: a forged field nested thousands deep
            trail, call.damaged = [], True
        call.trail = trail
        return call

    @property
    def answers_json(self) -> str:
        return json.dumps(self.trail, separators=(",", ":"))

    def hidden(self) -> list[tuple[str, str]]:
        """The hidden fields that carry this call to the next step."""
        out = [(k, self.values.get(k, "")) for k in (*STEP1, *CARRIED) if self.values.get(k)]
        if self.complaint_id:
            out.append(("complaint_id", self.complaint_id))
        out.append(("answers", self.answers_json))
        return out

    def location(self) -> dict[str, Any] | None:
        text = self.values.get("location", "")
        if not text:
            return None
        m = _LATLON.match(text)
        if m:
            return {"lat": float(m.group(1)), "lon": float(m.group(2))}
        if _POSTCODE.match(text):
            return {"postcode": text}
        return {"place": text}

    def age(self) -> Any:
        years, months = _number(self.values.get("age")), _number(self.values.get("age_months"))
        if months is None:
            return years
        if years is None:
            years = 0
        if isinstance(years, str) or isinstance(months, str):
            return years if isinstance(years, str) else months
        return round(years + months / 12, 3)

    def vitals(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("respiratory_rate", "spo2", "systolic_bp", "heart_rate", "temperature"):
            value = _number(self.values.get(name))
            if value is not None:
                out[name] = value
        if self.values.get("spo2_scale"):
            out["spo2_scale"] = 2
        oxygen = self.values.get("on_oxygen")
        if oxygen in ("air", "oxygen"):
            out["on_oxygen"] = oxygen == "oxygen"
        elif oxygen:
            out["on_oxygen"] = oxygen
        if self.values.get("consciousness"):
            out["consciousness"] = self.values["consciousness"]
        return out

    def at(self, errors: dict[str, str] | None = None) -> str | None:
        """The call's UK date and 24-hour time as an ISO local time, or None for now."""
        return parse_uk_date_time(self.values.get("at_date", ""), self.values.get("at_time", ""),
                                  errors if errors is not None else {})

    def started_ms(self) -> int | None:
        try:
            return int(self.values.get("started", ""))
        except ValueError:
            return None

    def body(self) -> dict[str, Any]:
        """The API v1 triage request for this call."""
        body: dict[str, Any] = {
            "age": self.age(), "sex": self.values.get("sex") or None,
            "answers": {t["q"]: t["a"] for t in self.trail},
            "vitals": self.vitals(), "requester_role": "nhs111",
        }
        ids = [i for i in self.complaint_id.split(",") if i]
        if len(ids) > 1:
            body["complaints"] = ids
        else:
            body["complaint"] = ids[0] if ids else self.values.get("complaint", "")
        if self.location() is not None:
            body["location"] = self.location()
        at = self.at()
        if at:
            body["at"] = at
        return body


# -- pages --------------------------------------------------------------------------------
@bp.after_request
def _no_store(resp):
    """Call pages carry patient details: no browser or proxy may keep a copy."""
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


@bp.get("/complaints/suggestions.json")
def complaint_suggestions():
    """Complaint titles and synonyms for the complaint field's suggestions: fetched once, then cached."""
    complaints = _care().complaints()
    titles = sorted({c["title"] for c in complaints} | {s for c in complaints for s in c.get("synonyms", [])})
    body = json.dumps(titles, separators=(",", ":")).encode()
    resp = current_app.response_class(body, mimetype="application/json")
    resp.set_etag(hashlib.sha256(body).hexdigest()[:16])
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp.make_conditional(request)


@bp.get("/map/boundaries.geojson")
def boundaries():
    """The LSC district boundaries the option maps draw on: one small file, cached by the browser."""
    body, etag = maps.boundaries()
    resp = current_app.response_class(body, mimetype="application/geo+json")
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp.make_conditional(request)


@bp.get("/")
def start():
    call = Call()
    call.values["started"] = str(int(time.time() * 1000))  # the call timer starts with the new call
    call.values["ref"] = case_reference()
    return _start_page(call, status=200)


@bp.post("/")
def step():
    form = request.form
    action = form.get("action", "start")
    call = Call.from_form(form)
    if call.damaged:
        return _start_page(call, errors={"answers": "The answers so far could not be read. Check the "
                                                    "details and continue to ask the questions again."})
    if action == "edit":  # the answers are kept, and used again if the complaint is not changed
        call.values["prev_complaint"] = call.values.get("complaint", "")
        return _start_page(call, status=200)
    if action == "start":
        titles = {c["id"]: c["title"] for c in _care().complaints()}
        choice = [c for c in dict.fromkeys(form.getlist("complaint_choice")) if c in titles]
        if choice or call.values.get("complaint") != call.values.get("prev_complaint"):
            call.trail = []  # a different complaint asks its own questions from the start
            call.complaint_id = ""  # the words are matched again
        call.values["prev_complaint"] = ""
        if choice:  # every complaint ticked in a tie, none preselected
            call.complaint_id = ",".join(choice)
            call.values["complaint"] = " and ".join(titles[c] for c in choice)
        if form.get("location_choice"):
            call.values["location"] = form["location_choice"]
        at_errors: dict[str, str] = {}
        call.at(at_errors)
        if not call.values.get("location") or at_errors:  # asked for before the questions
            errors, candidates = {}, None
            try:
                _care().triage(call.body())
            except InputError as exc:
                errors, candidates = dict(exc.errors), exc.extra.get("candidates")
            if not call.values.get("location"):
                errors["location"] = MISSING_LOCATION
            errors.update(at_errors)
            return _start_page(call, errors=errors, candidates=candidates)
        return _advance(call)
    if action == "summary":  # the outcome again, its summary naming the service chosen
        return _advance(call, chosen=form.get("chosen_service", ""))
    if action == "back":
        if not call.trail:
            return _start_page(call, status=200)
        last = call.trail.pop()  # asked again with the answer given shown, not lost
        return _advance(call, preselect=(last["q"], str(last["a"])))
    if action == "answer":
        qid, value = form.get("question", ""), (form.get("answer") or "").strip()
        if form.get("answer_unknown"):  # "not sure" / not measured, beside a number field
            value = "unknown"
        if not qid:
            return _advance(call)
        if not value:
            return _advance(call, answer_error=("Select an answer" if form.get("question_type") != "number"
                                                else "Enter a number"))
        call.trail = [t for t in call.trail if t["q"] != qid]
        call.trail.append({"q": qid, "a": value, "t": form.get("question_text", "")})
        return _advance(call)
    return _start_page(call, errors={"action": "Unknown step: start the call again"})


def _advance(call: Call, *, answer_error: str | None = None, bad_value: str = "",
             preselect: tuple[str, str] | None = None, chosen: str = "") -> Any:
    """Ask the engine for the next question or the outcome, and show it."""
    services_error = None
    try:
        result = _care().triage(call.body())
    except InputError as exc:
        return _input_error(call, exc)
    except Exception:  # the directory or routing failed: still give the triage outcome, and say so
        current_app.logger.exception("service search failed during a call")
        body = call.body()
        body.pop("location", None)
        try:
            result = _care().triage(body)
        except InputError as exc:
            return _input_error(call, exc)
        services_error = ("The directory could not be searched just now, so no services are shown. "
                          "Act on the outcome above and find a service through your escalation route.")
    complaint = result["complaint"]
    complaints = result.get("complaints") or [complaint]
    if not call.complaint_id:
        call.complaint_id = ",".join(c["id"] for c in complaints)
    if result["status"] == "question":
        errors = {"answer": answer_error} if answer_error else {}
        if preselect and preselect[0] == result["question"]["id"] and not bad_value:
            bad_value = preselect[1]
        return render_template("handler/question.html", call=call, result=result, question=result["question"],
                               complaint=complaint, complaints=complaints, errors=errors,
                               bad_value=bad_value), 400 if errors else 200
    professional = current_user() is not None
    _care().recorder.record_chosen(result, chosen)  # the outcome log (no patient details) notes the choice
    return render_template("handler/outcome.html", call=call, result=result, complaint=complaint,
                           complaints=complaints, question_texts={t["q"]: t.get("t", "") for t in call.trail},
                           outcome=result["outcome"], services=result.get("services", []),
                           location=result.get("location") or {}, flag_labels=FLAG_LABELS,
                           services_error=services_error, chosen=chosen,
                           handover=handover(result, _care().snapshot().by_id if result.get("services") else {},
                                             professional=professional),
                           map_data=maps.option_map(_care(), result))


def _input_error(call: Call, exc: InputError) -> Any:
    errors = dict(exc.errors)
    answer_keys = [k for k in errors if k.startswith("answers.")]
    if answer_keys and len(answer_keys) == len(errors):
        # A bad answer: go back to the first question answered badly and ask it again.
        bad = {k.split(".", 1)[1] for k in answer_keys}
        index = next((i for i, t in enumerate(call.trail) if t["q"] in bad), None)
        if index is not None:
            wrong = call.trail[index]
            del call.trail[index:]
            return _advance(call, answer_error=message_for(f"answers.{wrong['q']}", errors[f"answers.{wrong['q']}"]),
                            bad_value=str(wrong["a"]))
    return _start_page(call, errors=errors, candidates=exc.extra.get("candidates"))


def _start_page(call: Call, *, errors: Mapping[str, str] | None = None,
                candidates: list[dict[str, Any]] | None = None, status: int | None = None) -> Any:
    errors = dict(errors or {})
    errors.pop("_suggestions", None)
    suggestions = _suggestions(call) if any(k.startswith("location") for k in errors) else []
    if suggestions:  # offered as choices below the field instead
        errors = {k: re.sub(r"\s*Did you mean: .*\?$", "", v) if k.startswith("location") else v
                  for k, v in errors.items()}
    field_errors: dict[str, str] = {}
    summary: list[dict[str, str]] = []
    for key, text in errors.items():
        target = field_of(key)
        msg = EMPTY_MESSAGES.get(key) if key in EMPTY_MESSAGES and not _given(call, key) else message_for(key, text)
        summary.append({"text": msg, "href": f"#{target or 'call-form'}"})
        if target and target not in field_errors:
            field_errors[target] = msg
    from uec.inputs import MAX_TEXT, TEXT_LIMITS
    for key, text in call.values.items():  # an over-long field is named in the errors, not echoed whole
        call.values[key] = text[:TEXT_LIMITS.get(key, MAX_TEXT)]
    code = status if status is not None else (400 if errors else 200)
    return render_template("handler/start.html", call=call, values=call.values, errors=field_errors,
                           summary=summary, candidates=candidates or [], suggestions=suggestions), code


def _suggestions(call: Call) -> list[str]:
    """The gazetteer's ranked suggestions for the location typed (names may contain commas)."""
    where = call.location()
    try:
        _care().geo.locate(**(where or {}))
    except Exception as exc:  # LocationError / PostcodeError carry the list
        return list(getattr(exc, "suggestions", None) or [])
    return []


def _given(call: Call, key: str) -> bool:
    if key == "age":
        return bool(call.values.get("age") or call.values.get("age_months"))
    return bool(call.values.get(key))


# -- template helpers ---------------------------------------------------------------------
bp.add_app_template_global(maps.service_map, "service_map")


@bp.app_template_global("time_used")
def time_used(call: Call, at: str | None = None) -> dict[str, str]:
    """The date and time opening hours are judged at, in UK time: the one entered, or now."""
    entered = call.at()
    if at:
        dt = datetime.fromisoformat(at).astimezone(LONDON)
    elif entered:
        dt = datetime.fromisoformat(entered)
    else:
        dt = datetime.now(LONDON)
    return {"text": dt.strftime("%a %-d %b %Y, %H:%M"), "iso": dt.strftime("%Y-%m-%dT%H:%M"),
            "source": "entered" if entered else "now"}


@bp.app_template_filter("clock")
def clock(value: str | None) -> str:
    """'2026-01-05T22:00+00:00' as '22:00', or 'Mon 5 Jan 08:00' when not today."""
    if not value:
        return ""
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return value
    now = datetime.now(dt.tzinfo)
    if dt.date() == now.date():
        return dt.strftime("%H:%M")
    return dt.strftime("%a %-d %b %H:%M")


@bp.app_template_filter("elapsed")
def elapsed(started_ms: int) -> str:
    """Milliseconds since the epoch as the time since then, 'm:ss' (or 'h:mm:ss')."""
    seconds = max(0, int(time.time() - started_ms / 1000))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


@bp.app_template_filter("minutes")
def minutes(value: Any) -> str:
    """60 as '1 hour', 240 as '4 hours', 40 as '40 minutes'."""
    try:
        m = int(value)
    except (TypeError, ValueError):
        return str(value)
    if m >= 60 and m % 60 == 0:
        return f"{m // 60} hour{'s' if m != 60 else ''}"
    return f"{m} minutes"


@bp.app_template_filter("answer_label")
def answer_label(value: Any) -> str:
    if value is True or (isinstance(value, str) and value.lower() in ("yes", "true")):
        return "Yes"
    if value is False or (isinstance(value, str) and value.lower() in ("no", "false")):
        return "No"
    if isinstance(value, str) and value.lower() == "unknown":
        return "Not sure"
    return str(value)
