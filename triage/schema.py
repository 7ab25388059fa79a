"""JSON Schemas that every rule file is validated against when it is loaded."""
from __future__ import annotations

_NUM_CMP = {k: {"type": "number"} for k in ("gte", "gt", "lte", "lt", "eq")}

CONDITION: dict = {
    "$id": "condition",
    "type": "object",
    "minProperties": 1,
    "oneOf": [
        {"required": ["yes"], "properties": {"yes": {"type": "string"}}, "additionalProperties": False},
        {"required": ["answer"], "properties": {"answer": {"type": "string"}, **_NUM_CMP,
                                                "in": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
         "additionalProperties": False},
        {"required": ["age"], "properties": {"age": {"type": "object", "properties": _NUM_CMP,
                                                     "additionalProperties": False, "minProperties": 1}},
         "additionalProperties": False},
        {"required": ["sex"], "properties": {"sex": {"enum": ["female", "male"]}}, "additionalProperties": False},
        {"required": ["tag"], "properties": {"tag": {"type": "string"}}, "additionalProperties": False},
        {"required": ["complaint"], "properties": {"complaint": {"type": "string"}}, "additionalProperties": False},
        {"required": ["vital"], "properties": {"vital": {"enum": ["respiratory_rate", "spo2", "systolic_bp",
                                                                  "heart_rate", "consciousness", "temperature",
                                                                  "on_oxygen", "spo2_scale"]},
                                               **_NUM_CMP, "in": {"type": "array", "minItems": 1}},
         "additionalProperties": False},
        {"required": ["news2"], "properties": {"news2": {"type": "object", "properties": _NUM_CMP,
                                                         "additionalProperties": False, "minProperties": 1}},
         "additionalProperties": False},
        {"required": ["news2_single"], "properties": {"news2_single": {"type": "object", "properties": _NUM_CMP,
                                                                       "additionalProperties": False, "minProperties": 1}},
         "additionalProperties": False},
        {"required": ["score"], "properties": {"score": {"type": "string"}, **_NUM_CMP},
         "additionalProperties": False},
        {"required": ["all"], "properties": {"all": {"type": "array", "items": {"$ref": "#"}, "minItems": 1}},
         "additionalProperties": False},
        {"required": ["any"], "properties": {"any": {"type": "array", "items": {"$ref": "#"}, "minItems": 1}},
         "additionalProperties": False},
    ],
}

_SOURCES = {"anyOf": [{"type": "string", "minLength": 3},
                      {"type": "array", "items": {"type": "string", "minLength": 3}, "minItems": 1}]}

QUESTION = {
    "type": "object",
    "required": ["id", "text", "type"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "text": {"type": "string", "minLength": 5},
        "type": {"enum": ["yes_no", "number", "choice"]},
        "options": {"type": "array", "minItems": 2, "items": {
            "type": "object", "required": ["id", "label"], "additionalProperties": False,
            "properties": {"id": {"type": "string", "pattern": "^[a-z0-9_]+$"}, "label": {"type": "string"}}}},
        "unit": {"type": "string"},
        "min": {"type": "number"},
        "max": {"type": "number"},
        "help": {"type": "string"},
        "when": CONDITION,
        "unsure": {"enum": ["yes", "no"]},
        "unsure_help": {"type": "string", "minLength": 5},
        "vital": {"enum": ["respiratory_rate", "spo2", "systolic_bp", "heart_rate", "temperature", "spo2_scale"]},
        "applies_to": {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
            "all": {"const": True},
            "complaints": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1}}},
    },
}

RULE = {
    "type": "object",
    "required": ["id", "if", "disposition", "reason", "source"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "if": CONDITION,
        "disposition": {"type": "string"},
        "reason": {"type": "string", "minLength": 3},
        "source": {"type": "string", "minLength": 3},
    },
}

TEST = {
    "type": "object",
    "required": ["name", "patient", "expect"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "complaint": {"type": "string"},
        "complaints": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "patient": {"type": "object", "required": ["age", "sex"], "additionalProperties": False,
                    "properties": {"age": {"type": "number", "minimum": 0, "maximum": 130},
                                   "sex": {"enum": ["female", "male"]}}},
        "answers": {"type": "object"},
        "vitals": {"type": "object"},
        "expect": {"type": "object", "minProperties": 1, "additionalProperties": False,
                   "properties": {"disposition": {"type": "string"}, "question": {"type": "string"},
                                  "not": {"type": "string"}}},
    },
}

DEFAULT = {
    "type": "object", "required": ["disposition", "reason"], "additionalProperties": False,
    "properties": {"disposition": {"type": "string"}, "reason": {"type": "string"}, "when": CONDITION},
}

COMPLAINT_FILE = {
    "type": "object",
    "required": ["id", "title", "source", "questions", "rules", "default", "tests"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "title": {"type": "string"},
        "synonyms": {"type": "array", "items": {"type": "string"}},
        "source": _SOURCES,
        "tags": {"type": "array", "items": {"type": "string"}},
        "applies_to": {"type": "object", "additionalProperties": False, "properties": {
            "min_age": {"type": "number", "minimum": 0}, "max_age": {"type": "number"},
            "sex": {"enum": ["female", "male"]}}},
        "general": {"type": "boolean"},
        "questions": {"type": "array", "items": QUESTION},
        "scores": {"type": "array", "items": {
            "type": "object", "required": ["id", "items"], "additionalProperties": False,
            "properties": {"id": {"type": "string"}, "items": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                           "source": {"type": "string"}}}},
        "rules": {"type": "array", "items": RULE},
        "default": {"anyOf": [DEFAULT, {"type": "array", "items": DEFAULT, "minItems": 1}]},
        "tests": {"type": "array", "items": TEST},
    },
}

GENERAL_FILE = {
    "type": "object", "required": ["source", "questions", "rules"], "additionalProperties": False,
    "properties": {"source": _SOURCES, "questions": {"type": "array", "items": QUESTION},
                   "rules": {"type": "array", "items": RULE}, "tests": {"type": "array", "items": TEST}},
}

DANGER_FILE = {
    "type": "object", "required": ["source", "questions", "rules", "tests"], "additionalProperties": False,
    "properties": {"source": _SOURCES, "questions": {"type": "array", "items": QUESTION},
                   "rules": {"type": "array", "items": RULE}, "tests": {"type": "array", "items": TEST}},
}

_BANDS = {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2}}
VITALS_FILE = {
    "type": "object", "required": ["source", "news2", "rules"], "additionalProperties": False,
    "properties": {
        "source": _SOURCES,
        "news2": {"type": "object", "required": ["respiratory_rate", "spo2_scale1", "spo2_scale2",
                                                 "spo2_scale2_on_oxygen", "spo2_scale2_on_air", "on_oxygen",
                                                 "systolic_bp", "heart_rate", "consciousness", "temperature"],
                  "properties": {"respiratory_rate": _BANDS, "spo2_scale1": _BANDS, "spo2_scale2": _BANDS,
                                 "spo2_scale2_on_oxygen": _BANDS, "systolic_bp": _BANDS, "heart_rate": _BANDS,
                                 "temperature": _BANDS, "consciousness": {"type": "object"}}},
        "rules": {"type": "array", "items": RULE},
        "tests": {"type": "array", "items": TEST},
    },
}

DISPOSITIONS_FILE = {
    "type": "object", "required": ["source", "acuity", "dispositions"], "additionalProperties": False,
    "properties": {
        "source": _SOURCES,
        "acuity": {"type": "object"},
        "dispositions": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["code", "label", "class", "acuity", "within_minutes"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
                "label": {"type": "string"},
                "class": {"type": "string", "pattern": "^[a-z][a-z_]*$"},
                "acuity": {"type": "integer", "minimum": 1, "maximum": 5},
                "within_minutes": {"type": ["integer", "null"], "minimum": 0},
                "advice": {"type": "string"}}}},
    },
}
