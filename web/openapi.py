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


def build(*, dispositions: list[str], complaints: list[str]) -> dict[str, Any]:
    """The document for a rule set: disposition codes and example complaints come from the loaded rules."""
    retry = {"Retry-After": {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "LSC urgent care: triage and Directory of Services", "version": "1",
                 "description": "JSON API v1. Bad input answers 400 with errors naming each field; "
                                "never a 500. See docs/api.md."},
        "servers": [{"url": "/"}],
        "components": {
            "schemas": _schemas(dispositions=dispositions, complaints=complaints),
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
    lines = [BEGIN, "", "### Operations", "", "| operation | request | answers |", "|---|---|---|"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            params = ", ".join(f"`{p['name']}`" + ("" if p.get("required") else "?") for p in op.get("parameters", []))
            request = _type_of(body, doc) if body else (f"query {params}" if params else "")
            codes = ", ".join(op["responses"])
            lines.append(f"| `{method.upper()} {path}` | {request} | {codes} |")
    lines += ["", "### Request and answer shapes", ""]
    for name in ("TriageRequest", "RouteRequest", "TriageAnswer", "RouteAnswer", "ServiceOffer", "Excluded",
                 "ResolvedLocation", "Disposition", "Complaint", "DirectoryService", "Error"):
        lines += _fields(name, doc)
    lines += ["`Location` is one of `{\"postcode\"}`, `{\"place\"}` or `{\"lat\", \"lon\"}` "
              "(decimal degrees inside Great Britain), nothing else.", "", END]
    return "\n".join(lines)


if __name__ == "__main__":  # print the generated section of docs/api.md
    from triage import load_rules
    rules = load_rules()
    print(markdown(build(dispositions=sorted(rules.dispositions), complaints=sorted(rules.complaints))))
