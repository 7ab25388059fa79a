"""The OpenAPI document is served, valid OpenAPI 3.1, and the source of docs/api.md's shapes."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_app
from web import openapi

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("openapi")).test_client()


def test_served_document_is_the_built_one(client):
    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200 and resp.is_json
    doc = resp.get_json()
    assert doc["openapi"] == "3.1.0"
    assert "UTC_4H" in doc["components"]["schemas"]["RouteRequest"]["properties"]["disposition"]["enum"]


def test_document_validates_as_openapi_3_1(client):
    from openapi_spec_validator import validate
    validate(client.get("/api/v1/openapi.json").get_json())


def test_docs_api_md_shapes_are_generated_from_the_document():
    from triage import load_rules
    rules = load_rules()
    expected = openapi.markdown(openapi.build(dispositions=sorted(rules.dispositions),
                                              complaints=sorted(rules.complaints)))
    text = (ROOT / "docs" / "api.md").read_text()
    start, end = text.index(openapi.BEGIN), text.index(openapi.END) + len(openapi.END)
    assert text[start:end] == expected, "docs/api.md is out of date: paste the output of `python -m web.openapi`"


def test_bounds_in_the_document_are_the_validators():
    from uec import core, inputs
    doc = openapi.build(dispositions=["X"], complaints=["fall"])
    props = doc["components"]["schemas"]["TriageRequest"]["properties"]
    assert props["complaint"]["maxLength"] == core.MAX_COMPLAINT_TEXT <= inputs.TEXT_LIMITS["complaint"]
    assert props["complaints"]["maxItems"] == core.MAX_COMPLAINTS
    assert props["answers"]["maxProperties"] == inputs.MAX_ITEMS
