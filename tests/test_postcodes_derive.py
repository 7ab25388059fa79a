"""The derivation script: deterministic, reproduces the committed tables, and adds directory service postcodes."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMMITTED = REPO / "geodata" / "data"
TABLES = ["postcodes.csv", "sectors.csv", "districts.csv", "places.csv", "lsoa.csv", "areas.geojson", "accuracy.json"]


@pytest.fixture(scope="module")
def derive():
    spec = importlib.util.spec_from_file_location("derive_geography", REPO / "scripts" / "derive_geography.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not (Path(__file__).resolve().parents[1].parent / "shared" / "data").exists(),
                    reason="shared open data not found beside the repository")
def test_rebuild_matches_committed_tables_and_adds_services(derive, tmp_path):
    services = tmp_path / "services.yaml"
    services.write_text(
        "services:\n"
        "  - {id: a, postcode: 'la12 7bb', lat: 54.1950, lon: -3.0930}\n"
        "  - {id: b, postcode: 'PR2 9HT', lat: 0.0, lon: 0.0}\n"  # already known: the hospital point stays
        "  - {id: c, postcode: 'not a postcode', lat: 54.0, lon: -2.8}\n"
        "mobile:\n"
        "  bases:\n"
        "    - {postcode: 'FY8 1AB', lat: 53.7520, lon: -3.0290}\n"
    )
    out = tmp_path / "data"
    assert derive.main(["--services", str(services), "--out", str(out)]) == 0
    with open(out / "postcodes.csv", newline="") as fh:
        rows = {r["postcode"]: r for r in csv.DictReader(fh)}
    assert rows["LA12 7BB"]["source"] == "service" and rows["LA12 7BB"]["lad_code"] == "E07000031"
    assert rows["FY8 1AB"]["source"] == "service" and rows["FY8 1AB"]["lad_code"] == "E07000119"
    assert rows["PR2 9HT"]["source"] == "hospital" and float(rows["PR2 9HT"]["lat"]) > 53
    # everything but the postcode-derived tables is byte-identical to what is committed
    for name in ["districts.csv", "places.csv", "lsoa.csv", "areas.geojson"]:
        assert (out / name).read_bytes() == (COMMITTED / name).read_bytes(), name
    # and without services the rebuild reproduces the committed postcodes too (when no directory file exists)
    if not (REPO / "directory" / "data" / "lsc_services.yaml").exists():
        out2 = tmp_path / "plain"
        assert derive.main(["--services", str(tmp_path / "none.yaml"), "--out", str(out2)]) == 0
        for name in TABLES:
            assert (out2 / name).read_bytes() == (COMMITTED / name).read_bytes(), name
