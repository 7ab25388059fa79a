"""ONSPD / Code-Point Open importer: round trip, terminated postcodes, malformed rows, idempotence."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from pyproj import Transformer

from geodata.onspd import import_postcodes, main
from geodata.postcodes import Gazetteer

REPO = Path(__file__).resolve().parents[1]
LSOA_CSV = REPO.parent / "shared" / "data" / "lsoa" / "lsc_lsoa.csv"
pytestmark = pytest.mark.skipif(not LSOA_CSV.exists(), reason=f"shared open data not found at {LSOA_CSV}")
ONSPD_HEADER = ["pcd", "pcd2", "pcds", "dointr", "doterm", "usertype", "oseast1m", "osnrth1m", "osgrdind",
                "oslaua", "lat", "long"]

_to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)


def _haversine_m(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(a))


def _lsoas():
    with open(LSOA_CSV, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _pcd7(pc: str) -> str:
    out, inw = pc.split(" ")
    return f"{out:<4}{inw}"


def _onspd_row(pc, east, north, lad, *, doterm="", lat=None, lon=None):
    return [_pcd7(pc), f"{pc.split()[0]:<5}{pc.split()[1]}", pc, "198001", doterm, "0",
            "" if east is None else str(east), "" if north is None else str(north), "1", lad,
            f"{lat:.6f}" if lat is not None else "99.999999", f"{lon:.6f}" if lon is not None else "0.000000"]


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory):
    """An ONSPD-format file built from the 1,049 LSC LSOA postcodes, plus terminated and malformed rows."""
    d = tmp_path_factory.mktemp("onspd")
    rows = []
    truth = {}
    for r in _lsoas():
        lat, lon = float(r["lat"]), float(r["lon"])
        e, n = _to_bng.transform(lon, lat)
        rows.append(_onspd_row(r["postcode"], round(e), round(n), r["lad_code"], lat=lat, lon=lon))
        truth[r["postcode"]] = (lat, lon)
    # terminated postcodes: one alone in its own sector, and one that shares a live postcode's sector
    e, n = _to_bng.transform(-2.70, 53.76)
    rows.append(_onspd_row("PR1 0ZZ", round(e), round(n), "E07000123", doterm="201501"))
    e2, n2 = _to_bng.transform(-3.20, 54.12)
    rows.append(_onspd_row("LA14 1ZZ", round(e2), round(n2), "E07000027", doterm="200312"))
    # the same postcode twice: an old terminated record far away, and the live one
    first = next(iter(truth))
    # a terminated postcode, far away, in a sector that has live postcodes
    e5, n5 = _to_bng.transform(-1.5, 52.5)
    rows.append(_onspd_row(first[:-2] + "ZZ", round(e5), round(n5), "E06000008", doterm="200001"))
    e3, n3 = _to_bng.transform(-1.0, 52.0)
    rows.append(_onspd_row(first, round(e3), round(n3), "E07000123", doterm="199901"))
    # malformed and unusable rows
    rows.append(["NOTAPC", "NOTAPC", "NOTAPC", "198001", "", "0", "1", "1", "1", "x", "0", "0"])
    rows.append(_onspd_row("PR1 1QQ", None, None, "E07000123"))  # no grid reference, lat 99.999999
    rows.append(["", "", "", "", "", "", "", "", "", "", "", ""])
    # outside the default areas
    e4, n4 = _to_bng.transform(-2.24, 53.48)
    rows.append(_onspd_row("M1 1AE", round(e4), round(n4), "E08000003"))
    src = d / "onspd.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(ONSPD_HEADER)
        w.writerows(rows)
    return src, truth, d


def _read(path: Path) -> dict[str, dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["postcode"]: r for r in csv.DictReader(fh)}


def test_round_trip_accuracy_under_two_metres(fixture_files):
    src, truth, d = fixture_files
    out = d / "out.csv"
    stats = import_postcodes(src, out, progress=None)
    table = _read(out)
    worst = max(_haversine_m(lat, lon, float(table[pc]["lat"]), float(table[pc]["lon"])) for pc, (lat, lon) in truth.items())
    assert worst < 2.0
    assert stats.format == "onspd"
    assert stats.kept == len(truth) + 3  # + the three terminated-only postcodes
    assert stats.malformed_postcode >= 2 and stats.no_coordinates == 1 and stats.outside_areas == 1
    assert stats.duplicates == 1
    assert "M1 1AE" not in table and "PR1 1QQ" not in table


def test_terminated_kept_marked_and_live_record_wins(fixture_files):
    src, truth, d = fixture_files
    out = d / "out2.csv"
    import_postcodes(src, out, progress=None)
    table = _read(out)
    assert table["PR1 0ZZ"]["terminated"] == "1"
    first = next(iter(truth))
    assert table[first]["terminated"] == "0"
    assert abs(float(table[first]["lat"]) - truth[first][0]) < 1e-4


def test_gazetteer_uses_imported_table_and_labels_terminated(fixture_files):
    src, truth, d = fixture_files
    out = d / "out3.csv"
    import_postcodes(src, out, progress=None)
    g = Gazetteer.from_files(postcodes=out)
    pc, (lat, lon) = next(iter(truth.items()))
    p = g.locate_postcode(pc.lower().replace(" ", ""))
    assert p.precision == "postcode" and _haversine_m(lat, lon, p.lat, p.lon) < 2
    t = g.locate_postcode("PR1 0ZZ")
    assert t.precision == "postcode" and "terminated" in t.label
    # a sector whose only known postcode is terminated still gives an estimate, from it
    s = g.locate_postcode("LA14 1AB")
    assert s.precision == "sector"
    # a terminated postcode does not move a sector that has live postcodes
    sector = pc[:-2]
    live = [(la, lo) for p_, (la, lo) in truth.items() if p_.startswith(sector)]
    sec = g.locate_postcode(sector + "AB")
    assert sec.precision == "sector" and f"from {len(live)} postcode" in sec.label
    assert abs(sec.lat - sum(x[0] for x in live) / len(live)) < 1e-5


def test_idempotent_and_atomic(fixture_files):
    src, _, d = fixture_files
    out = d / "idem.csv"
    import_postcodes(src, out, progress=None)
    first = out.read_bytes()
    import_postcodes(src, out, progress=None)
    assert out.read_bytes() == first
    assert not [p for p in d.iterdir() if p.name.startswith(".idem.csv")]


def test_progress_callback_and_area_filter(fixture_files):
    src, _, d = fixture_files
    seen = []
    stats = import_postcodes(src, d / "la.csv", areas=["LA"], progress=lambda rows, rate: seen.append((rows, rate)), chunk_rows=300)
    assert len(seen) >= 3 and seen[-1][0] == stats.rows
    assert all(pc.startswith("LA") for pc in _read(d / "la.csv"))
    stats_all = import_postcodes(src, d / "all.csv", areas=None, progress=None)
    assert "M1 1AE" in _read(d / "all.csv") and stats_all.outside_areas == 0


def test_codepoint_open_format(tmp_path):
    lsoas = _lsoas()[:50]
    src = tmp_path / "pr.csv"
    with open(src, "w", newline="") as fh:
        w = csv.writer(fh)
        for r in lsoas:
            e, n = _to_bng.transform(float(r["lon"]), float(r["lat"]))
            w.writerow([r["postcode"].replace(" ", ""), 10, round(e), round(n), "E92000001", "", "", "", r["lad_code"], ""])
        w.writerow(["PR11ZZ", 90, 0, 0, "E92000001", "", "", "", "", ""])  # no coordinates
    out = tmp_path / "cp.csv"
    stats = import_postcodes(src, out, progress=None)
    table = _read(out)
    assert stats.format == "codepoint" and stats.kept == 50 and stats.no_coordinates == 1
    for r in lsoas:
        t = table[r["postcode"]]
        assert _haversine_m(float(r["lat"]), float(r["lon"]), float(t["lat"]), float(t["lon"])) < 2
        assert t["lad_code"] == r["lad_code"] and t["terminated"] == "0"


def test_cli(fixture_files, capsys):
    src, truth, d = fixture_files
    assert main([str(src), str(d / "cli.csv"), "--quiet"]) == 0
    stats = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert stats["kept"] == len(truth) + 3
    assert main([str(d / "missing.csv"), str(d / "x.csv"), "--quiet"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_rejects_unknown_format(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    with pytest.raises(ValueError, match="ONSPD"):
        import_postcodes(bad, tmp_path / "o.csv", progress=None)
