"""Directory import/export: CSV and GeoJSON (round-trippable) and a FHIR R4 Bundle of HealthcareService + Location."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from typing import Any, Iterable, Sequence

import holidays as _holidays

from directory.model import SERVICE_TYPES, Service
from directory.opening import DAYS, bank_holidays, format_session

# -- CSV ----------------------------------------------------------------------------------
#: one column per field; lists are space-separated, opening times and mobile bases are JSON
CSV_COLUMNS = ("id", "version", "name", "type", "provider", "address", "postcode", "lat", "lon", "phone_public",
               "phone_professional", "age_min", "age_max", "sex", "referral_routes", "referral_only",
               "last_arrival_minutes", "catchment_lads", "accepts", "access", "status", "closed_reason", "closed_from",
               "closed_until", "verified_on", "verify_interval_days", "opening", "mobile_bases", "source", "notes",
               "catchment_polygon")
#: accepted on import only: 'yes' confirms that a new point outside LSC is a border service
OPTIONAL_COLUMNS = ("confirm_outside_lsc",)
_LISTS = ("referral_routes", "catchment_lads", "accepts", "catchment_polygon")  # handled after the loop
_JSON = ("opening", "mobile_bases")
_NUMBERS = ("lat", "lon", "age_min", "age_max")
_INTS = ("last_arrival_minutes", "verify_interval_days")


def dumps(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False)


def _flat(s: Service) -> dict[str, str]:
    d = s.to_dict()
    row: dict[str, Any] = {k: d.get(k) for k in CSV_COLUMNS if k in d}
    row["version"] = s.version
    row["referral_routes"] = " ".join(s.referral_routes)
    row["catchment_lads"] = " ".join(s.catchment_lads)
    row["accepts"] = "" if s.accepts is None else " ".join(s.accepts)
    row["referral_only"] = "yes" if s.referral_only else "no"
    row["opening"] = json.dumps(d["opening"], separators=(",", ":"))
    row["mobile_bases"] = json.dumps(d["mobile"]["bases"], separators=(",", ":")) if d["mobile"] else ""
    polygon = (d["catchment"] or {}).get("polygon")
    row["catchment_polygon"] = json.dumps(polygon, separators=(",", ":")) if polygon else ""
    return {k: "" if row.get(k) is None else str(row[k]) for k in CSV_COLUMNS}


#: a spreadsheet treats a cell starting with one of these as a formula (CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str, column: str = "") -> str:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe; numbers stay numbers."""
    if not cell.startswith(_FORMULA_START):
        return cell
    if column in _NUMBERS + _INTS:
        try:
            float(cell)
            return cell  # e.g. a longitude of -2.7 is a number, not a formula
        except ValueError:
            pass
    return "'" + cell


def to_csv(services: Iterable[Service]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for s in services:
        w.writerow({k: neutralise(v, k) for k, v in _flat(s).items()})
    return out.getvalue()


ParsedRow = tuple[dict[str, Any], "int | None", dict[str, str]]


def _unflatten(row: dict[str, str]) -> ParsedRow:
    """One CSV row as service input, its version (if exported with one) and what could not be read."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    for k, v in row.items():
        if k is None:
            errors["columns"] = "the row has more cells than the header"
            continue
        v = (v or "").strip()
        if v.startswith("'") and v[1:2] in _FORMULA_START:  # undo the export's formula neutralising
            v = v[1:]
        if k in _LISTS:
            continue
        if k in _JSON:
            if not v:
                data[k] = None
                continue
            try:
                data[k] = json.loads(v)
            except json.JSONDecodeError as exc:
                errors[k] = f"is not valid JSON ({exc.msg} at character {exc.pos})"
            continue
        data[k] = v or None
    data["referral_routes"] = row.get("referral_routes", "").split() or None
    lads = (row.get("catchment_lads") or "").split()
    polygon_text = (row.get("catchment_polygon") or "").strip()
    polygon = None
    if polygon_text:
        try:
            polygon = json.loads(polygon_text)
        except json.JSONDecodeError as exc:
            errors["catchment_polygon"] = f"is not valid GeoJSON ({exc.msg} at character {exc.pos})"
    data["catchment"] = ({"lads": lads, **({"polygon": polygon} if polygon else {})}
                         if lads or polygon else None)
    data["accepts"] = (row.get("accepts") or "").split() or None
    data["confirm_outside_lsc"] = (row.get("confirm_outside_lsc") or "").strip().lower() in ("yes", "true", "1")
    ro = (row.get("referral_only") or "").strip().lower()
    if ro not in ("", "yes", "no", "true", "false", "1", "0"):
        errors["referral_only"] = "must be yes or no"
    data["referral_only"] = ro in ("yes", "true", "1")
    bases = data.pop("mobile_bases", None)
    data["mobile"] = {"bases": bases} if bases else None
    for keys, convert, what in ((_NUMBERS, float, "a number"), (_INTS, int, "a whole number")):
        for k in keys:
            if data.get(k) is not None:
                try:
                    data[k] = convert(data[k])
                except ValueError:
                    errors[k] = f"{data[k]!r} is not {what}"
                    data[k] = None
    version = None
    raw_version = data.pop("version", None)
    if raw_version:
        try:
            version = int(raw_version)
        except ValueError:
            errors["version"] = "must be the whole number exported, or empty for a new service"
    return data, version, errors


MAX_CELL = 131_072  # the csv module's field limit: a longer cell is an error naming its row, never a crash


def parse_csv(text: str) -> list[ParsedRow]:
    """Rows of a CSV export (the header names the columns; unknown columns are an error).

    Any line ending is read (LF, CRLF or old Mac CR-only); a row with fewer cells than the header,
    or a cell over 131,072 characters, is reported against its row."""
    if not isinstance(text, str):
        return [({}, None, {"file": "must be CSV text"})]
    # newline=None: universal newlines, so CR-only files split into rows like any other
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=None))
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        return [({}, None, {"header": f"cannot be read as CSV ({exc})"})]
    missing = [c for c in ("id", "name", "type", "postcode", "opening") if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        msg = []
        if missing:
            msg.append(f"missing columns {missing}")
        if unknown:
            msg.append(f"unknown columns {unknown}")
        return [({}, None, {"header": "; ".join(msg) + f"; the columns are {', '.join(CSV_COLUMNS)}"})]
    rows: list[ParsedRow] = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            n = len(rows) + 1
            why = (f"has a cell longer than {MAX_CELL:,} characters" if "field larger" in str(exc)
                   else f"cannot be read as CSV ({exc})")
            rows.append(({}, None, {"row": f"{why}; the import stopped at row {n}"}))
            break
        if not any(c.strip() for c in cells):
            continue  # blank lines
        if len(cells) < len(header):
            rows.append(({}, None, {"columns": f"the row has {len(cells)} cells but the header has {len(header)}; "
                                               "fill every column (leave a cell empty rather than leaving it out)"}))
            continue
        row: dict[Any, str] = dict(zip(header, cells))
        if len(cells) > len(header):
            row[None] = ",".join(cells[len(header):])
        rows.append(_unflatten(row))
    return rows


# -- GeoJSON ------------------------------------------------------------------------------
def to_geojson(services: Iterable[Service]) -> dict[str, Any]:
    feats = []
    for s in services:
        props = {k: v for k, v in s.to_dict().items() if k not in ("lat", "lon")}
        props["version"] = s.version
        feats.append({"type": "Feature", "id": s.id,
                      "geometry": {"type": "Point", "coordinates": [round(s.lon, 6), round(s.lat, 6)]},
                      "properties": props})
    return {"type": "FeatureCollection", "features": feats}


def parse_geojson(text: str) -> list[ParsedRow]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return [({}, None, {"file": f"is not valid JSON ({exc.msg}, line {exc.lineno})"})]
    except RecursionError:
        return [({}, None, {"file": "is nested too deeply to be a GeoJSON FeatureCollection"})]
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        return [({}, None, {"file": "must be a GeoJSON FeatureCollection of Point features"})]
    out: list[ParsedRow] = []
    for f in doc["features"]:
        errors: dict[str, str] = {}
        props = dict((f or {}).get("properties") or {}) if isinstance(f, dict) else {}
        geom = f.get("geometry") if isinstance(f, dict) else None
        coords = geom.get("coordinates") if isinstance(geom, dict) and geom.get("type") == "Point" else None
        if isinstance(coords, list) and len(coords) >= 2:
            props["lon"], props["lat"] = coords[0], coords[1]
        else:
            errors["geometry"] = "must be a Point with [longitude, latitude]"
        version = props.pop("version", None)
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            errors["version"] = "must be the whole number exported"
            version = None
        out.append((props, version, errors))
    return out


# -- FHIR R4 ------------------------------------------------------------------------------
#: where our own codes and extensions are defined (documented in docs/admin.md)
BASE = "https://lsc-uec.example.nhs.uk/fhir"
TYPE_SYSTEM = f"{BASE}/CodeSystem/service-type"
ROLE_SYSTEM = f"{BASE}/CodeSystem/referral-role"
EXT_REFERRAL_ROLES = f"{BASE}/StructureDefinition/referral-roles"
EXT_LAST_ARRIVAL = f"{BASE}/StructureDefinition/last-arrival-minutes"
REFERRAL_METHOD_SYSTEM = "http://terminology.hl7.org/CodeSystem/service-referral-method"
_FHIR_DAYS = dict(zip(range(7), DAYS))


def _t(minutes: int) -> str:
    minutes = min(minutes, 24 * 60 - 1)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def _available_time(s: Service) -> list[dict[str, Any]]:
    """Weekly sessions as FHIR availableTime; an overnight session is split at midnight
    (FHIR times stop at 23:59:59), so '22:00-08:00' on Monday is Mon 22:00-23:59:59 + Tue 00:00-08:00."""
    if s.opening.always:
        return [{"daysOfWeek": list(DAYS), "allDay": True}]
    pieces: dict[tuple[str, str] | str, list[str]] = {}
    for i in range(7):
        for a, b in s.opening.weekly.get(i, ()):
            day, nxt = DAYS[i], DAYS[(i + 1) % 7]
            if b > a and a == 0 and b >= 24 * 60:
                pieces.setdefault("allDay", []).append(day)
            elif b > a:
                pieces.setdefault((_t(a), _t(b) if b < 24 * 60 else "23:59:59"), []).append(day)
            else:  # past midnight
                pieces.setdefault((_t(a), "23:59:59"), []).append(day)
                if b > 0:
                    pieces.setdefault(("00:00:00", _t(b)), []).append(nxt)
    out = []
    for key, days in pieces.items():
        days = [d for d in DAYS if d in set(days)]
        if key == "allDay":
            out.append({"daysOfWeek": days, "allDay": True})
        else:
            out.append({"daysOfWeek": days, "availableStartTime": key[0], "availableEndTime": key[1]})
    return out


def _sessions_text(sessions: Sequence[tuple[int, int]]) -> str:
    return "closed" if not sessions else "open " + ", ".join(format_session(x) for x in sessions)


def _not_available(s: Service, today: date) -> list[dict[str, Any]]:
    """Temporary closure, dated exceptions, and the next 12 months' bank holidays when they differ."""
    out = []
    if s.status == "temporarily_closed":
        period: dict[str, str] = {}
        if s.closed_from:
            period["start"] = s.closed_from.isoformat()
        if s.closed_until:
            period["end"] = s.closed_until.isoformat()
        item: dict[str, Any] = {"description": f"Temporarily closed: {s.closed_reason or 'no reason given'}"}
        if period:
            item["during"] = period
        out.append(item)
    if s.opening.always:
        return out
    for day, sessions in sorted(s.opening.dates.items()):
        if day >= today - timedelta(days=1):
            out.append({"description": f"{day.isoformat()}: {_sessions_text(sessions)} instead of the usual hours",
                        "during": {"start": day.isoformat(), "end": day.isoformat()}})
    if s.opening.bank_holiday is not None:
        names = {}
        for y in (today.year, today.year + 1):
            names.update(_holidays.country_holidays("GB", subdiv="ENG", years=y))
        for day in sorted(d for y in (today.year, today.year + 1) for d in bank_holidays(y)):
            if today <= day <= today + timedelta(days=366) and day not in s.opening.dates:
                out.append({"description": f"Bank holiday ({names.get(day, 'bank holiday')}): "
                                           f"{_sessions_text(s.opening.bank_holiday)} instead of the usual hours",
                            "during": {"start": day.isoformat(), "end": day.isoformat()}})
    return out


def _telecom(s: Service) -> list[dict[str, Any]]:
    out = []
    if s.phone_public:
        out.append({"system": "phone", "value": s.phone_public, "use": "work"})
    if s.phone_professional:
        out.append({"system": "phone", "value": s.phone_professional, "use": "work", "rank": 1,
                    "extension": [{"url": f"{BASE}/StructureDefinition/professional-only", "valueBoolean": True}]})
    return out


def _fhir_id(sid: str) -> str:
    return sid[:64]


def healthcare_service(s: Service, *, today: date) -> dict[str, Any]:
    eligibility = []
    age = f"Ages {s.age_min:g}" + (f" to {s.age_max:g}" if s.age_max is not None else " and over")
    eligibility.append({"code": {"coding": [{"system": f"{BASE}/CodeSystem/eligibility", "code": "age"}],
                                 "text": "age"}, "comment": age + " (years)"})
    if s.sex != "any":
        eligibility.append({"code": {"coding": [{"system": f"{BASE}/CodeSystem/eligibility", "code": "sex"}],
                                     "text": "sex"}, "comment": f"{s.sex} patients only"})
    # how referrals are made (FHIR's value set); WHO may refer is in the referral-roles extension
    methods = [{"coding": [{"system": REFERRAL_METHOD_SYSTEM, "code": "phone", "display": "Phone"}]}]
    hs: dict[str, Any] = {
        "resourceType": "HealthcareService",
        "id": _fhir_id(s.id),
        "meta": {"versionId": str(s.version)},
        "identifier": [{"system": f"{BASE}/service-id", "value": s.id}],
        "active": s.status == "active",
        "providedBy": {"display": s.provider},
        "type": [{"coding": [{"system": TYPE_SYSTEM, "code": s.type, "display": SERVICE_TYPES[s.type]}],
                  "text": SERVICE_TYPES[s.type]}],
        "name": s.name,
        "location": [{"reference": f"Location/{_fhir_id(s.id)}-loc"}],
        "telecom": _telecom(s),
        "eligibility": eligibility,
        "referralMethod": methods,
        "appointmentRequired": s.referral_only,
        "availableTime": _available_time(s),
        "extension": [
            {"url": EXT_REFERRAL_ROLES, "extension": [
                {"url": "role", "valueCoding": {"system": ROLE_SYSTEM, "code": r}} for r in s.referral_routes]},
            {"url": EXT_LAST_ARRIVAL, "valueInteger": s.last_arrival_minutes},
        ],
    }
    if s.notes:
        hs["comment"] = s.notes[:1000]
    if s.catchment_lads:
        hs["coverageArea"] = [{"display": f"Local authority district {code}"} for code in s.catchment_lads]
    na = _not_available(s, today)
    if na:
        hs["notAvailable"] = na
    if not s.opening.always:
        if s.opening.bank_holiday is None:
            hs["availabilityExceptions"] = "Bank holidays: usual weekday hours."
        else:
            hs["availabilityExceptions"] = f"Bank holidays (England): {_sessions_text(s.opening.bank_holiday)}."
    if not hs["availableTime"]:  # no weekly sessions at all (e.g. a unit kept listed while closed)
        del hs["availableTime"]
        hs["availabilityExceptions"] = "No regular opening sessions: not open unless a dated exception says so."
    if not hs["telecom"]:
        del hs["telecom"]
    return hs


def location(s: Service) -> dict[str, Any]:
    loc: dict[str, Any] = {
        "resourceType": "Location",
        "id": f"{_fhir_id(s.id)[:60]}-loc",
        "status": {"active": "active", "temporarily_closed": "suspended", "closed": "inactive"}[s.status],
        "name": s.name,
        "mode": "instance",
        "address": {"use": "work", "text": f"{s.address}, {s.postcode}", "line": [s.address],
                    "postalCode": s.postcode, "country": "GB"},
        "position": {"longitude": round(s.lon, 6), "latitude": round(s.lat, 6)},
    }
    if s.phone_public:
        loc["telecom"] = [{"system": "phone", "value": s.phone_public, "use": "work"}]
    return loc


def to_fhir_bundle(services: Iterable[Service], *, today: date | None = None) -> dict[str, Any]:
    """A FHIR R4 (4.0.1) collection Bundle: one HealthcareService and one Location per service."""
    from directory.model import utcnow
    now = utcnow()
    today = today or now.date()
    entries = []
    for s in services:
        hs, loc = healthcare_service(s, today=today), location(s)
        hs["location"] = [{"reference": f"Location/{loc['id']}"}]
        entries.append({"fullUrl": f"{BASE}/HealthcareService/{hs['id']}", "resource": hs})
        entries.append({"fullUrl": f"{BASE}/Location/{loc['id']}", "resource": loc})
    return {"resourceType": "Bundle", "type": "collection",
            "timestamp": now.isoformat(timespec="seconds"), "entry": entries}
