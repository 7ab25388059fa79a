"""Scenario bundles: named routing checks (who, where, when, which service must come first) run on the live directory."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import yaml

from directory.model import REQUESTER_ROLES, FieldErrors
from directory.opening import DAYS, LONDON, is_bank_holiday, next_bank_holiday

BUNDLED = Path(__file__).resolve().parent / "data" / "scenarios.yaml"
FIELDS = ("disposition", "postcode", "place", "age", "sex", "requester_role", "when", "expect", "notes")


class ScenarioError(FieldErrors):
    """A scenario that cannot be run."""


@dataclass(frozen=True)
class Scenario:
    """`when` is a local date-time ('2026-12-25T03:00') or a day and time ('mon 14:00',
    'bank_holiday 03:00': the next such day, weekdays skipping bank holidays). `expect` is the
    id of the service that must be offered first, or 'not <id>': that service must not be offered."""
    name: str
    disposition: str
    when: str
    expect: str
    postcode: str | None = None
    place: str | None = None
    age: float | None = None
    sex: str | None = None
    requester_role: str = "nhs111"
    notes: str = ""

    @property
    def negative(self) -> bool:
        return self.expect.startswith("not ")

    @property
    def target(self) -> str:
        return self.expect[4:].strip() if self.negative else self.expect.strip()

    def at(self, today: date) -> datetime:
        """The moment this scenario asks about, in UK local time."""
        text = self.when.strip()
        day_part, _, time_part = text.partition(" ")
        if day_part in DAYS or day_part == "bank_holiday":
            hh, mm = (int(x) for x in time_part.split(":"))
            if day_part == "bank_holiday":
                day = next_bank_holiday(today)[0]
            else:
                day = today
                while DAYS[day.weekday()] != day_part or is_bank_holiday(day):
                    day += timedelta(days=1)
            return datetime.combine(day, time(hh, mm), tzinfo=LONDON)
        dt = datetime.fromisoformat(text)
        return dt if dt.tzinfo else dt.replace(tzinfo=LONDON)

    def request(self, today: date) -> dict[str, Any]:
        body: dict[str, Any] = {"disposition": self.disposition, "at": self.at(today).isoformat(),
                                "requester_role": self.requester_role,
                                "location": {"postcode": self.postcode} if self.postcode else {"place": self.place}}
        if self.age is not None:
            body["age"] = self.age
        if self.sex:
            body["sex"] = self.sex
        return body

    def spec(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in FIELDS if getattr(self, k) not in (None, "")}


def parse(name: str, spec: Mapping[str, Any], *, dispositions: Iterable[str] | None = None) -> Scenario:
    """A Scenario from its stored or typed-in fields, or ScenarioError naming each bad field."""
    errors: dict[str, str] = {}
    if not str(name or "").strip():
        errors["name"] = "is required"
    unknown = set(spec) - set(FIELDS)
    if unknown:
        errors["fields"] = f"unknown {sorted(unknown)}; use {', '.join(FIELDS)}"
    disp = str(spec.get("disposition") or "").strip()
    known = set(dispositions) if dispositions is not None else None
    if not disp or (known is not None and disp not in known):
        errors["disposition"] = "must be a disposition code, e.g. ED_1H (see GET /api/v1/dispositions)"
    postcode, place = spec.get("postcode") or None, spec.get("place") or None
    if not postcode and not place:
        errors["postcode"] = "give a postcode (or a place)"
    age = spec.get("age")
    if age not in (None, ""):
        try:
            age = float(age)
            if not 0 <= age <= 130:
                raise ValueError
        except (TypeError, ValueError):
            errors["age"] = "must be a number of years from 0 to 130"
            age = None
    else:
        age = None
    sex = spec.get("sex") or None
    if sex not in (None, "female", "male", "unknown"):
        errors["sex"] = "must be female, male or unknown"
    role = spec.get("requester_role") or "nhs111"
    if role not in REQUESTER_ROLES:
        errors["requester_role"] = f"must be one of {', '.join(sorted(REQUESTER_ROLES))}"
    expect = str(spec.get("expect") or "").strip()
    if not expect or expect == "not":
        errors["expect"] = "give the id of the service that must come first, or 'not <id>'"
    sc = Scenario(name=str(name).strip(), disposition=disp, when=str(spec.get("when") or "").strip(), expect=expect,
                  postcode=postcode, place=place, age=age, sex=sex, requester_role=role,
                  notes=str(spec.get("notes") or ""))
    try:
        sc.at(date.today())
    except (ValueError, LookupError):
        errors["when"] = "must be a local date-time like 2026-12-25T03:00, or a day and time like 'mon 14:00' or 'bank_holiday 03:00'"
    if errors:
        raise ScenarioError(errors)
    return sc


def load_file(path: Path = BUNDLED, *, dispositions: Iterable[str] | None = None) -> list[Scenario]:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    out, errors = [], {}
    for item in doc.get("scenarios") or []:
        name = item.get("name", "")
        try:
            out.append(parse(name, {k: v for k, v in item.items() if k != "name"}, dispositions=dispositions))
        except ScenarioError as exc:
            errors.update({f"{name or '?'}.{k}": v for k, v in exc.errors.items()})
    if errors:
        raise ScenarioError(errors)
    return out


@dataclass
class Outcome:
    scenario: Scenario
    ok: bool
    first: str | None = None
    offered: list[str] = field(default_factory=list)
    message: str = ""
    at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.scenario.name, "ok": self.ok, "expect": self.scenario.expect, "first": self.first,
                "offered": self.offered, "message": self.message, "at": self.at}


def run(scenarios: Sequence[Scenario], route: Callable[[dict[str, Any]], Mapping[str, Any]], *,
        today: date | None = None) -> list[Outcome]:
    """Route every scenario (`route` takes a /route request body) and compare with its expectation."""
    today = today or datetime.now(LONDON).date()
    out = []
    for sc in scenarios:
        at = sc.at(today)
        try:
            result = route(sc.request(today))
        except Exception as exc:  # a bad postcode etc. is a difference to show, not a crash
            errs = getattr(exc, "errors", None)
            out.append(Outcome(sc, False, message=f"could not route: {errs or exc}", at=at.isoformat()))
            continue
        offered = [s["id"] for s in result.get("services") or []]
        first = offered[0] if offered else None
        if sc.negative:
            ok = sc.target not in offered
            msg = "as expected" if ok else f"{sc.target} was offered (position {offered.index(sc.target) + 1})"
        else:
            ok = first == sc.target
            msg = "as expected" if ok else f"expected {sc.target} first, got {first or 'nothing'}"
        if result.get("catch_all"):
            msg += " (catch-all to the nearest emergency departments)"
        out.append(Outcome(sc, ok, first, offered, msg, at.isoformat()))
    return out


def from_store(rows: Iterable[Mapping[str, Any]], *, dispositions: Iterable[str] | None = None) -> tuple[list[Scenario], dict[str, str]]:
    """Scenarios saved in the database (rows of Store.scenarios()), and the errors of any that no longer parse."""
    out, errors = [], {}
    for r in rows:
        try:
            out.append(parse(r["name"], r["spec"], dispositions=dispositions))
        except ScenarioError as exc:
            errors[r["name"]] = str(exc)
    return out, errors
