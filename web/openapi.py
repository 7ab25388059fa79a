"""The OpenAPI 3.1 document of JSON API v1, built from the validators' own bounds and catalogues."""
from __future__ import annotations

from typing import Any

from directory.model import REQUESTER_ROLES, SERVICE_TYPES
from geodata.postcodes import GB_BOUNDS
from triage.engine import CONSCIOUSNESS, VITAL_LIMITS
from uec.core import MAX_COMPLAINT_TEXT, MAX_COMPLAINTS
from uec.inputs import EARLIEST_YEAR, LATEST_YEAR, MAX_ITEMS, MAX_TEXT, TEXT_LIMITS

REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _json(schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def _errors(*codes: int) -> dict[str, Any]:
    """The error answers every operation may give, as components/responses."""
    names = {400: "BadRequest", 401: "Unauthorised", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
             413: "TooLarge", 415: "BadRequest", 429: "TooManyRequests", 503: "Unavailable"}
    return {str(c): {"$ref": f"#/components/responses/{names[c]}"} for c in codes}


def _schemas(*, dispositions: list[str], complaints: list[str]) -> dict[str, Any]:
    text = {"type": "string", "maxLength": MAX_TEXT}
    number = {"type": "number"}
    nullable = lambda s: {"anyOf": [s, {"type": "null"}]}  # noqa: E731
    vitals = {name: nullable({"type": "number", "minimum": lo, "maximum": hi})
              for name, (lo, hi) in VITAL_LIMITS.items()}
    vitals.update(consciousness=nullable({"type": "string", "enum": list(CONSCIOUSNESS)}),
                  on_oxygen=nullable({"type": "boolean"}), spo2_scale=nullable({"type": "integer", "enum": [1, 2]}))
    at = {"type": "string", "format": "date-time",
          "description": f"ISO 8601; without an offset it is UK local time; years {EARLIEST_YEAR}-{LATEST_YEAR}; "
                         "default now"}
    return {
        "Error": {
            "type": "object", "required": ["error"],
            "properties": {
                "error": {"type": "string"},
                "message": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "each bad field (dotted path) and what to fix"},
                "candidates": {"type": "array", "items": {
                    "type": "object", "required": ["id", "title", "score"],
                    "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "score": number}}},
                "suggestions": {"type": "array", "items": {"type": "string"}},
            },
        },
        "Location": {
            "description": "where the patient is: a postcode, a town or village, or coordinates",
            "oneOf": [
                {"type": "object", "required": ["postcode"], "additionalProperties": False,
                 "properties": {"postcode": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT,
                                             "examples": ["PR1 8XJ", "LA9 7RG"]}}},
                {"type": "object", "required": ["place"], "additionalProperties": False,
                 "properties": {"place": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT,
                                          "examples": ["Ulverston"]}}},
                {"type": "object", "required": ["lat", "lon"], "additionalProperties": False,
                 "description": "decimal degrees inside Great Britain",
                 "properties": {"lat": {"type": "number", "minimum": GB_BOUNDS[0], "maximum": GB_BOUNDS[1]},
                                "lon": {"type": "number", "minimum": GB_BOUNDS[2], "maximum": GB_BOUNDS[3]}}},
            ],
        },
        "RequesterRole": {"type": "string", "enum": sorted(REQUESTER_ROLES),
                          "description": "who is asking; anonymous callers may claim public or nhs111 only "
                                         "(others need a bearer token whose user has that role)"},
        "TriageRequest": {
            "type": "object", "required": ["age", "sex"], "additionalProperties": False,
            "anyOf": [{"required": ["complaint"]}, {"required": ["complaints"]}],
            "properties": {
                "age": {"type": "number", "minimum": 0, "maximum": 130, "description": "years; 0.5 = six months"},
                "sex": {"type": "string", "enum": ["female", "male", "unknown"]},
                "complaint": {"type": "string", "minLength": 1, "maxLength": MAX_COMPLAINT_TEXT,
                              "pattern": r"\S", "examples": complaints[:3] + ["fell over cant get up"],
                              "description": "a complaint id (GET /api/v1/complaints) or the caller's words"},
                "complaints": {"type": "array", "minItems": 1, "maxItems": MAX_COMPLAINTS,
                               "items": {"type": "string", "minLength": 1, "maxLength": MAX_COMPLAINT_TEXT,
                                         "pattern": r"\S"},
                               "description": "several complaints in one call: ids or the caller's words; "
                                              "their questions are asked once each, the most urgent outcome wins"},
                "answers": {"type": "object", "maxProperties": MAX_ITEMS,
                            "additionalProperties": {"anyOf": [{"type": "boolean"}, number, text]},
                            "description": "question id to answer: true/false, a number or an option id"},
                "vitals": {"type": "object", "additionalProperties": False, "properties": vitals},
                "location": _ref("Location"),
                "at": at,
                "requester_role": _ref("RequesterRole"),
                "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            },
        },
        "RouteRequest": {
            "type": "object", "required": ["disposition", "location"], "additionalProperties": False,
            "properties": {
                "disposition": {"type": "string", "enum": dispositions},
                "location": _ref("Location"),
                "age": {"type": "number", "minimum": 0, "maximum": 130},
                "sex": {"type": "string", "enum": ["female", "male", "unknown"]},
                "at": at,
                "limit": {"type": "integer", "minimum": 1, "maximum": 50},
                "requester_role": _ref("RequesterRole"),
                "include_geometry": {"type": "boolean"},
            },
        },
        "Disposition": {
            "type": "object", "required": ["code", "label", "class", "within_minutes", "acuity"],
            "properties": {"code": {"type": "string"}, "label": {"type": "string"}, "class": {"type": "string"},
                           "within_minutes": nullable({"type": "integer"}), "acuity": {"type": "integer"},
                           "advice": {"type": "string"}},
        },
        "Complaint": {
            "type": "object", "required": ["id", "title"],
            "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                           "age_range": {"type": "array", "items": nullable(number)},
                           "synonyms": {"type": "array", "items": {"type": "string"}},
                           "sources": {"type": "array", "items": {"type": "string"}}},
        },
        "ResolvedLocation": {
            "type": "object", "required": ["lat", "lon", "precision", "label", "in_lsc"],
            "properties": {"lat": number, "lon": number, "precision": {"type": "string"}, "label": {"type": "string"},
                           "postcode": nullable({"type": "string"}), "lad_code": nullable({"type": "string"}),
                           "place": nullable({"type": "string"}), "in_lsc": {"type": "boolean"},
                           "out_of_area": {"type": "boolean"}},
        },
        "ServiceOffer": {
            "type": "object",
            "required": ["id", "name", "type", "travel_direction", "open_now", "rank", "capacity", "flags"],
            "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"},
                "phone": nullable({"type": "string",
                                   "description": "the professional line only for authenticated professional "
                                                  "callers, else the public one"}),
                "travel_minutes": nullable(number), "distance_km": nullable(number),
                "travel_direction": {"type": "string", "enum": ["caller_to_service", "team_to_caller", "phone"]},
                "open_now": {"type": "boolean"}, "open_until": nullable({"type": "string"}),
                "opens_at": nullable({"type": "string"}), "rank": nullable({"type": "integer"}),
                "capacity": {"type": "object", "required": ["status"], "properties": {
                    "status": {"type": "string"},
                    "set_by": nullable({"type": "string",
                                        "description": "staff username: only for authenticated professionals"})}},
                "flags": {"type": "array", "items": {"type": "string"}},
                "geometry": {"type": "array", "items": {"type": "array", "items": number}},
            },
        },
        "Excluded": {
            "type": "object", "required": ["id", "name", "rule", "reason"],
            "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "rule": {"type": "string"},
                           "reason": {"type": "string"}, "reasons": {"type": "array", "items": {"type": "string"}}},
        },
        "RouteAnswer": {
            "type": "object",
            "required": ["location", "at", "disposition", "requester_role", "services", "excluded", "ranking",
                         "catch_all", "directory_version"],
            "properties": {
                "api_version": {"const": "1"},
                "location": _ref("ResolvedLocation"), "at": {"type": "string"},
                "disposition": _ref("Disposition"), "requester_role": {"type": "string"},
                "services": {"type": "array", "minItems": 1, "items": _ref("ServiceOffer"),
                             "description": "never empty: the catch-all gives the nearest open EDs"},
                "excluded": {"type": "array", "items": _ref("Excluded")},
                "ranking": {"type": "object"}, "catch_all": {"type": "boolean"},
                "escalation": nullable({"type": "string"}),
                "notes": {"type": "array", "items": {"type": "string"}},
                "directory_version": {"type": "integer"},
            },
        },
        "TriageAnswer": {
            "type": "object", "required": ["api_version", "status", "complaint"],
            "properties": {
                "api_version": {"const": "1"},
                "status": {"type": "string", "enum": ["question", "complete"]},
                "complaint": _ref("Complaint"),
                "question": {"type": "object", "required": ["id", "text", "type"],
                             "properties": {"id": {"type": "string"}, "text": {"type": "string"},
                                            "type": {"type": "string"},
                                            "options": {"type": "array", "items": {"type": "object"}},
                                            "unit": {"type": "string"}, "min": number, "max": number}},
                "answered": {"type": "integer"},
                "outcome": {"type": "object", "required": ["acuity", "disposition", "reasons"],
                            "properties": {"acuity": {"type": "integer"}, "disposition": _ref("Disposition"),
                                           "reasons": {"type": "array", "items": {"type": "object"}},
                                           "news2": nullable({"type": "integer"})}},
                "services": {"type": "array", "items": _ref("ServiceOffer")},
                "location": _ref("ResolvedLocation"),
                "note": {"type": "string"},
            },
        },
        "DirectoryService": {
            "type": "object", "required": ["id", "name", "type", "status", "version", "capacity"],
            "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"},
                "status": {"type": "string"}, "version": {"type": "integer"}, "capacity": {"type": "string"},
                "lat": nullable(number), "lon": nullable(number),
                "phone_public": nullable({"type": "string"}),
                "phone_professional": nullable({"type": "string",
                                                "description": "null unless an authenticated professional asks"}),
            },
        },
    }


# -- the admin API and intelligence JSON (bearer token) -------------------------------------------
TOKEN = [{"bearer": []}]


def _admin_schemas() -> dict[str, Any]:
    from directory.model import ACCESS, CAPACITY, MAX_TEXT as SERVICE_TEXT, STATUSES
    from uec.intelligence.whatif import MAX_CHANGES, MAX_WEEKS
    nullable = lambda s: {"anyOf": [s, {"type": "null"}]}  # noqa: E731
    text = lambda k: nullable({"type": "string", "description": f"at most {SERVICE_TEXT[k]} characters once trimmed"})  # noqa: E731
    numeric = {"type": ["number", "string"], "description": "a number (numeric text is read)"}
    service = {
        "id": {"type": "string", "description": "2-64 lowercase letters, digits or hyphens, e.g. `rph-ed`"},
        "name": text("name"), "type": {"type": "string", "enum": list(SERVICE_TYPES)},
        "provider": text("provider"), "address": text("address"),
        "postcode": {"type": "string", "description": "a full UK postcode we know; it sets lat/lon when they are left out"},
        "lat": nullable(numeric), "lon": nullable(numeric),
        "phone_public": text("phone_public"), "phone_professional": text("phone_professional"),
        "age_min": nullable(numeric), "age_max": nullable(numeric),
        "sex": nullable({"type": "string", "enum": ["any", "female", "male"]}),
        "referral_routes": nullable({"type": "array", "items": {"type": "string"}}),
        "referral_only": nullable({"type": "boolean"}),
        "opening": {"anyOf": [{"type": "object"}, {"const": "24/7"}],
                    "description": "`{\"always\": true}` or `{\"weekly\": {...}, \"bank_holidays\": [...], \"dates\": {...}}`"},
        "last_arrival_minutes": nullable(numeric),
        "catchment": nullable({"type": "object", "description": "`{\"lads\": [codes]}` and/or `{\"polygon\": GeoJSON}`"}),
        "mobile": nullable({"type": "object", "description": "`{\"bases\": [{\"name\", \"postcode\", \"lat\", \"lon\"}]}`"}),
        "accepts": nullable({"type": "array", "items": {"type": "string"},
                             "description": "disposition classes or codes; null: the type's ranking decides"}),
        "access": nullable({"type": "string", "enum": list(ACCESS)}),
        "status": nullable({"type": "string", "enum": list(STATUSES)}),
        "closed_reason": text("closed_reason"), "closed_from": nullable({"type": "string"}),
        "closed_until": nullable({"type": "string"}), "source": text("source"), "notes": text("notes"),
        "verified_on": nullable({"type": "string"}), "verify_interval_days": nullable(numeric),
        "version": {"description": "ignored (send the version in If-Match)"},
        "capacity": {"description": "ignored (PUT .../capacity sets it)"},
        "confirm_outside_lsc": {"description": "true: the point is outside LSC on purpose (a border service)"},
    }
    record = {k: v for k, v in service.items() if k not in ("version", "capacity", "confirm_outside_lsc")}
    required_fields = ["name", "type", "provider", "address", "postcode", "opening"]
    counts = {"type": "integer", "minimum": 0}
    access_figures = {"type": "object", "additionalProperties": {"type": "integer"}}
    return {
        "ServiceInput": {"type": "object", "required": ["id", *required_fields], "additionalProperties": False,
                         "properties": service},
        "ServiceUpdate": {"type": "object", "required": required_fields, "additionalProperties": False,
                          "properties": service | {"id": {"type": "string",
                                                          "description": "if given, the id in the URL"}}},
        "ServiceRecord": {
            "type": "object", "required": ["id", "name", "type", "version", "capacity"],
            "properties": record | {
                "version": {"type": "integer", "minimum": 1},
                "capacity": {"type": "object", "required": ["status"], "properties": {
                    "status": {"type": "string", "enum": [*CAPACITY, "unknown"]},
                    "set_at": nullable({"type": "string"}),
                    "set_by": nullable({"type": "string", "description": "staff username: only with a token"}),
                    "reset_minutes": nullable({"type": "integer"})}}}},
        "CapacityRequest": {
            "type": "object", "required": ["status"], "additionalProperties": False,
            "properties": {"status": {"type": "string", "enum": list(CAPACITY)},
                           "reset_minutes": {"type": "integer", "minimum": 15, "maximum": 1440,
                                             "description": "back to unknown after this long; default 240"}}},
        "ImportCounts": {"type": "object", "required": ["rows", "created", "updated", "unchanged"],
                         "properties": {"rows": counts, "created": counts, "updated": counts, "unchanged": counts}},
        "ChosenRequest": {"type": "object", "required": ["service"],
                          "properties": {"service": {"type": "string", "minLength": 1, "maxLength": 64,
                                                     "description": "one of the services offered with the answer"}}},
        "WhatIfChange": {
            "description": "close, open or re-time a service, or add a site",
            "oneOf": [
                {"type": "object", "required": ["service", "close"], "additionalProperties": False,
                 "properties": {"service": {"type": "string"}, "close": {"const": True}}},
                {"type": "object", "required": ["service", "open"], "additionalProperties": False,
                 "properties": {"service": {"type": "string"}, "open": {"const": True}}},
                {"type": "object", "required": ["service", "hours"], "additionalProperties": False,
                 "properties": {"service": {"type": "string"},
                                "hours": {"anyOf": [{"type": "string"}, {"type": "object"}],
                                          "description": "`daily 08:00-20:00`, `24/7`, `closed` or an opening object"}}},
                {"type": "object", "required": ["add"], "additionalProperties": False,
                 "properties": {"add": {"type": "object", "required": ["type", "postcode"], "properties": {
                     "type": {"type": "string", "enum": list(SERVICE_TYPES)}, "postcode": {"type": "string"},
                     "name": {"type": "string", "maxLength": 200},
                     "hours": {"anyOf": [{"type": "string"}, {"type": "object"}]}}}}},
            ]},
        "WhatIfRequest": {
            "type": "object", "required": ["changes"], "additionalProperties": False,
            "properties": {
                "changes": {"type": "array", "minItems": 1, "maxItems": MAX_CHANGES, "items": _ref("WhatIfChange")},
                "weeks": {"type": "integer", "minimum": 0, "maximum": MAX_WEEKS,
                          "description": "weeks of logged answers to replay; default 4, 0: none"},
                "threshold_minutes": {"type": "number", "minimum": 5, "maximum": 180,
                                      "description": "road minutes that count as within reach; default 30"},
                "name": {"type": "string", "minLength": 1, "maxLength": 120, "pattern": r"\S",
                         "description": "saves and shares the scenario (commissioners and administrators)"}}},
        "WhatIfAnswer": {
            "type": "object", "required": ["api_version", "changes", "types", "threshold_minutes", "access"],
            "properties": {
                "api_version": {"const": "1"}, "changes": {"type": "array", "items": {"type": "object"}},
                "types": {"type": "array", "items": {"type": "string"}}, "threshold_minutes": {"type": "number"},
                "access": {"type": "object", "description": "per service type, `day` and `night`: `overall` and "
                                                            "`places`, people gaining or losing reach",
                           "additionalProperties": {"type": "object", "additionalProperties": {
                               "type": "object", "required": ["at", "overall", "places"],
                               "properties": {"at": {"type": "string"}, "overall": access_figures,
                                              "places": {"type": "object",
                                                         "additionalProperties": access_figures}}}}},
                "replay": {"type": "object", "description": "the last `weeks` of logged answers re-run"},
                "saved_id": {"type": "integer"}}},
        "IntelligenceSummary": {
            "type": "object", "required": ["api_version", "from", "to", "calls", "by_class", "by_place"],
            "properties": {
                "api_version": {"const": "1"}, "from": {"type": "string", "format": "date"},
                "to": {"type": "string", "format": "date"}, "place": nullable({"type": "string"}),
                "type": nullable({"type": "string"}), "calls": {"type": "integer"},
                "streamed_away_from_ed": {"type": "integer"},
                "share_streamed_away_from_ed": nullable({"type": "number"}),
                "by_class": {"type": "object", "additionalProperties": {"type": "integer"}},
                "by_place": {"type": "object"}, "by_hour": {"type": "object"}, "ed_reasons": {"type": "object"}}},
    }


def _admin_paths() -> dict[str, Any]:
    from directory.model import SERVICE_TYPES as TYPES
    sid = {"name": "service_id", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
    etag = {"ETag": {"description": "the record's version, for If-Match", "required": True,
                     "schema": {"type": "string"}}}
    record = lambda status, why, **h: _json(_ref("ServiceRecord"), why, {**etag, **h})  # noqa: E731
    body = lambda name: {"required": True, "content": {"application/json": {"schema": _ref(name)}}}  # noqa: E731
    day = {"type": "string", "description": "YYYY-MM-DD; left out: the last 28 days"}
    return {
        "/api/v1/services/{service_id}": {
            "get": {"operationId": "getService", "summary": "One directory record with its version as ETag "
                    "(a token is needed: it holds the professional line; GET /api/v1/services is the public view)",
                    "parameters": [sid], "security": TOKEN,
                    "responses": {"200": record(200, "the record"), **_errors(401, 404, 429),
                                  "409": {"$ref": "#/components/responses/Quarantined"},
                                  **_errors(503)}},
            "put": {"operationId": "putService", "summary": "Replace a record if nobody changed it since If-Match",
                    "security": TOKEN,
                    "parameters": [sid, {"name": "If-Match", "in": "header", "required": False,
                                         "description": "the ETag from GET (without it the answer is 428)",
                                         "schema": {"type": "string"}}],
                    "requestBody": body("ServiceUpdate"),
                    "responses": {"200": record(200, "the new record"), **_errors(400, 401, 403, 404),
                                  "409": {"$ref": "#/components/responses/Quarantined"},
                                  "412": _json(_ref("Error"), "changed by someone else: `current` is the record now",
                                               etag),
                                  "428": _json(_ref("Error"), "send If-Match"), **_errors(413, 429, 503)}},
        },
        "/api/v1/services": {"post": {
            "operationId": "createService", "summary": "Create a service (commissioners in their areas, administrators)",
            "security": TOKEN, "requestBody": body("ServiceInput"),
            "responses": {"201": record(201, "created", Location={"required": True, "schema": {"type": "string"},
                                                                  "description": "its address"}),
                          **_errors(400, 401, 403, 413, 429, 503)}}},
        "/api/v1/services/{service_id}/capacity": {"put": {
            "operationId": "putCapacity", "summary": "Set a service's capacity (green, amber, red) for a while",
            "security": TOKEN, "parameters": [sid], "requestBody": body("CapacityRequest"),
            "responses": {"200": record(200, "the record with its new capacity"),
                          **_errors(400, 401, 403, 404), "409": {"$ref": "#/components/responses/Quarantined"},
                          **_errors(413, 429, 503)}}},
        "/api/v1/export/{fmt}": {"get": {
            "operationId": "export", "summary": "The whole directory as CSV, GeoJSON or a FHIR R4 bundle",
            "security": TOKEN,
            "parameters": [{"name": "fmt", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": ["csv", "geojson", "fhir"]}}],
            "responses": {"200": {"description": "the directory", "content": {
                "text/csv": {"schema": {"type": "string"}}, "application/geo+json": {"schema": {"type": "object"}},
                "application/fhir+json": {"schema": {"type": "object"}}}},
                **_errors(401, 404, 429, 503)}}},
        "/api/v1/import/{fmt}": {"post": {
            "operationId": "import", "summary": "Create or replace many services, all or nothing",
            "description": "Every row is checked (fields, geography, the token user's areas) before any is written.",
            "security": TOKEN,
            "parameters": [{"name": "fmt", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": ["csv", "geojson"]}}],
            "requestBody": {"required": True, "content": {
                "text/csv": {"schema": {"type": "string", "description": "as GET /api/v1/export/csv gives"}},
                "application/geo+json": {"schema": {"type": "object",
                                                    "description": "as GET /api/v1/export/geojson gives"}}}},
            "responses": {"200": _json(_ref("ImportCounts"), "imported"), **_errors(400, 401, 403, 404, 413, 429, 503)}}},
        "/api/v1/intelligence/summary": {"get": {
            "operationId": "intelligenceSummary", "summary": "Calls, streaming away from ED, by class, place and hour",
            "description": "Any role's bearer token (or a signed-in admin session). Other query parameters, "
                           "or one given twice, answer 400 naming it.", "security": TOKEN,
            "parameters": [{"name": "from", "in": "query", "required": False, "schema": day},
                           {"name": "to", "in": "query", "required": False, "schema": day},
                           {"name": "place", "in": "query", "required": False,
                            "schema": {"type": "string", "description": "a place or a district code"}},
                           {"name": "type", "in": "query", "required": False,
                            "description": "a service type; empty or left out: every type",
                            "schema": {"anyOf": [{"type": "string", "enum": list(TYPES)}, {"const": ""}]}}],
            "responses": {"200": _json(_ref("IntelligenceSummary"), "the figures"), **_errors(400, 401, 429, 503)}}},
        "/api/v1/whatif": {"post": {
            "operationId": "whatif", "summary": "Who gains and loses reach if services close, open, re-time or are added",
            "description": "On a copy of the directory; the live one is never changed. Any role's bearer token "
                           "(or a signed-in admin session); `name` saves the scenario and needs a commissioner "
                           "or administrator.", "security": TOKEN,
            "requestBody": body("WhatIfRequest"),
            "responses": {"200": _json(_ref("WhatIfAnswer"), "the effect"),
                          **_errors(400, 401, 403, 413, 429, 503)}}},
        "/api/v1/outcomes/{ref}/chosen": {"post": {
            "operationId": "chosen", "summary": "Record which offered service the caller was given",
            "parameters": [{"name": "ref", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,32}$"},
                            "description": "the answer's outcome_ref"}],
            "requestBody": body("ChosenRequest"),
            "responses": {"200": _json({"type": "object", "required": ["ref", "chosen"],
                                        "properties": {"ref": {"type": "string"}, "chosen": {"type": "string"}}},
                                       "recorded"), **_errors(400, 404, 413, 429, 503)}}},
    }


def build(*, dispositions: list[str], complaints: list[str]) -> dict[str, Any]:
    """The document for a rule set: disposition codes and example complaints come from the loaded rules."""
    return _with_admin(_build(dispositions=dispositions, complaints=complaints))


def _build(*, dispositions: list[str], complaints: list[str]) -> dict[str, Any]:
    retry = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "LSC urgent care: triage and Directory of Services", "version": "1",
                 "description": "JSON API v1. Bad input answers 400 with errors naming each field; "
                                "never a 500. See docs/api.md."},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": _schemas(dispositions=dispositions, complaints=complaints) | _admin_schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "a token from 'uec create-token USER'"}},
            "responses": {
                "BadRequest": _json(_ref("Error"), "bad input: `errors` names each field and what to fix"),
                "Unauthorised": _json(_ref("Error"), "no valid bearer token"),
                "Forbidden": _json(_ref("Error"), "the caller may not claim this requester role, or the token's role "
                                                    "does not allow this (`errors` names the field)"),
                "NotFound": _json(_ref("Error"), "no such address or record"),
                "MethodNotAllowed": _json(_ref("Error"), "this address does not take that method"),
                "TooLarge": _json(_ref("Error"), "the body is over the size limit (`errors.body` says the limit)"),
                "TooManyRequests": _json(_ref("Error"), "rate limit reached: wait `Retry-After` seconds", retry),
                "Unavailable": _json(_ref("Error"), "the directory cannot be read just now; try again shortly"),
                "Quarantined": _json(_ref("Error"), "the record fails today's checks and is left out of routing: "
                                                    "`errors` says why; PUT a corrected record to repair it"),
            },
        },
        "security": [{}, {"bearer": []}],
        "paths": {
            "/api/v1/triage": {"post": {
                "operationId": "triage", "summary": "The next question, or the outcome with services",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("TriageRequest")}}},
                "responses": {"200": _json(_ref("TriageAnswer"), "a question, or the outcome"),
                              **_errors(400, 403, 405, 413, 429, 503)},
            }},
            "/api/v1/route": {"post": {
                "operationId": "route", "summary": "The nearest appropriate open services for a disposition",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("RouteRequest")}}},
                "responses": {"200": _json(_ref("RouteAnswer"), "services in the order to offer them"),
                              **_errors(400, 403, 405, 413, 429, 503)},
            }},
            "/api/v1/complaints": {"get": {
                "operationId": "complaints", "summary": "Presenting complaints",
                "responses": {"200": _json({"type": "object", "required": ["complaints"], "properties": {
                    "complaints": {"type": "array", "items": _ref("Complaint")}}}, "every complaint"),
                    **_errors(429)},
            }},
            "/api/v1/dispositions": {"get": {
                "operationId": "dispositions", "summary": "Dispositions, most urgent first",
                "responses": {"200": _json({"type": "object", "required": ["dispositions"], "properties": {
                    "dispositions": {"type": "array", "items": _ref("Disposition")}}}, "every disposition"),
                    **_errors(429)},
            }},
            "/api/v1/services": {"get": {
                "operationId": "services", "summary": "The directory as routing sees it now",
                "description": "Professional-only phone numbers and staff usernames only with a bearer token "
                               "of a professional role.",
                "parameters": [{"name": "type", "in": "query", "required": False,
                                "schema": {"type": "string", "enum": list(SERVICE_TYPES)}}],
                "responses": {"200": _json({"type": "object", "required": ["directory_version", "count", "services"],
                                            "properties": {"directory_version": {"type": "integer"},
                                                           "count": {"type": "integer"},
                                                           "services": {"type": "array",
                                                                        "items": _ref("DirectoryService")},
                                                           "types": {"type": "object"}}}, "the services"),
                              **_errors(400, 429, 503)},
            }},
            "/api/v1/coverage": {"get": {
                "operationId": "coverage", "summary": "Population within 15/30/45/60 minutes of an open service",
                "parameters": [
                    {"name": "type", "in": "query", "required": True,
                     "schema": {"type": "string", "enum": list(SERVICE_TYPES)}},
                    {"name": "at", "in": "query", "required": False,
                     "description": "ISO 8601; empty or left out: now",
                     "schema": {"anyOf": [{"type": "string", "format": "date-time"}, {"const": ""}]}}],
                "responses": {"200": _json({"type": "object", "required": ["type", "at", "services"]},
                                           "coverage shares overall and per place"),
                              **_errors(400, 429, 503)},
            }},
            "/api/v1/health": {"get": {
                "operationId": "health", "summary": "Directory version, worker and snapshot state",
                "responses": {"200": _json({"type": "object", "required": ["status"]}, "the service answers"),
                              "503": _json({"type": "object", "required": ["status"]}, "the service is degraded")},
            }},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi", "summary": "This document",
                "responses": {"200": _json({"type": "object", "required": ["openapi", "paths"]}, "OpenAPI 3.1")},
            }},
        },
    }


def _with_admin(doc: dict[str, Any]) -> dict[str, Any]:
    for path, ops in _admin_paths().items():  # GET /api/v1/services and POST /api/v1/services share a path
        doc["paths"].setdefault(path, {}).update(ops)
    return doc


def for_care(care: Any) -> dict[str, Any]:
    """The document for a running application service (its loaded rules)."""
    return build(dispositions=sorted(care.rules.dispositions), complaints=sorted(care.rules.complaints))


# -- docs/api.md's shapes are rendered from the document ------------------------------------------
BEGIN, END = "<!-- openapi:begin (generated by `python -m web.openapi`; do not edit) -->", "<!-- openapi:end -->"


def _type_of(schema: dict[str, Any], doc: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[1]}`"
    if "anyOf" in schema:
        return " or ".join(_type_of(s, doc) for s in schema["anyOf"])
    if "enum" in schema:
        values = schema["enum"]
        if len(values) > 8:  # catalogues that grow with the rules: the served document lists them
            return "a code listed in the served document"
        return "one of " + ", ".join(f"`{v}`" for v in values)
    out = schema.get("type", "any")
    if isinstance(out, list):
        out = " or ".join(out)
    bounds = [f"{k} {schema[k]}" for k in ("minimum", "maximum", "minLength", "maxLength", "maxProperties")
              if k in schema]
    return out + (f" ({', '.join(bounds)})" if bounds else "")


def _fields(name: str, doc: dict[str, Any]) -> list[str]:
    schema = doc["components"]["schemas"][name]
    required = set(schema.get("required", ()))
    lines = [f"`{name}`" + (" (no other fields)" if schema.get("additionalProperties") is False else "") + ":", "",
             "| field | type | required | notes |", "|---|---|---|---|"]
    for field, sub in schema.get("properties", {}).items():
        note = sub.get("description", "")
        lines.append(f"| `{field}` | {_type_of(sub, doc)} | {'yes' if field in required else ''} | {note} |")
    return lines + [""]


def markdown(doc: dict[str, Any]) -> str:
    """The request and response shapes section of docs/api.md."""
    lines = [BEGIN, "", "### Operations", "", "| operation | request | token | answers |", "|---|---|---|---|"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            params = ", ".join(f"{p['in'] if p['in'] != 'query' else ''} `{p['name']}`".strip()
                               + ("" if p.get("required") else "?")
                               for p in op.get("parameters", []) if p["in"] != "path")
            request = (_type_of(body, doc) if body else " or ".join(f"`{m}`" for m in content)) + \
                (", " if content and params else "") + (params if params.startswith("header") else
                                                       f"query {params}" if params else "")
            token = {0: "", 1: "required"}.get(len(op.get("security", doc["security"])), "optional")
            codes = ", ".join(sorted(op["responses"]))
            lines.append(f"| `{method.upper()} {path}` | {request} | {token} | {codes} |")
    lines += ["", "### Request and answer shapes", ""]
    for name in ("TriageRequest", "RouteRequest", "TriageAnswer", "RouteAnswer", "ServiceOffer", "Excluded",
                 "ResolvedLocation", "Disposition", "Complaint", "DirectoryService", "ServiceInput", "ServiceRecord",
                 "CapacityRequest", "ImportCounts", "WhatIfRequest", "WhatIfAnswer", "IntelligenceSummary",
                 "ChosenRequest", "Error"):
        lines += _fields(name, doc)
    lines += ["`Location` is one of `{\"postcode\"}`, `{\"place\"}` or `{\"lat\", \"lon\"}` "
              "(decimal degrees inside Great Britain), nothing else.", "",
              "`ServiceUpdate` is `ServiceInput` with `id` optional (it must be the id in the URL if given).", "",
              "`WhatIfChange` is one of `{\"service\", \"close\": true}`, `{\"service\", \"open\": true}`, "
              "`{\"service\", \"hours\"}` or `{\"add\": {\"type\", \"postcode\", \"name\"?, \"hours\"?}}`.", "", END]
    return "\n".join(lines)


if __name__ == "__main__":  # print the generated section of docs/api.md
    from triage import load_rules
    rules = load_rules()
    print(markdown(build(dispositions=sorted(rules.dispositions), complaints=sorted(rules.complaints))))
