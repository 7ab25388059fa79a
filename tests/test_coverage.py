"""Coverage figures: population and most-deprived-fifth shares within N minutes, overall and per place."""

from __future__ import annotations

import math

import pytest

from geodata.areas import Areas, LsoaRow
from geodata.coverage import DEPRIVED_RANK_MAX, coverage


def toy_rows():
    return [
        LsoaRow("A", "a", "E07000123", 53.76, -2.70, 1000.0, 100, "Urban"),  # Preston, deprived
        LsoaRow("B", "b", "E07000123", 53.80, -2.70, 3000.0, 20000, "Urban"),  # Preston
        LsoaRow("C", "c", "E06000009", 53.82, -3.05, 2000.0, 6569, "Urban"),  # Blackpool, deprived (boundary rank)
        LsoaRow("D", "d", "E07000031", 54.33, -2.75, 4000.0, 6570, "Rural"),  # South Cumbria, not deprived
    ]


def test_toy_figures_by_hand():
    minutes = {53.76: 10.0, 53.80: 25.0, 53.82: 40.0, 54.33: None}
    out = coverage(lambda lat, lon: minutes[lat], lsoas=toy_rows())
    assert out["thresholds"] == [15, 30, 45, 60]
    o = out["overall"]
    assert o["population"] == 10000 and o["deprived_population"] == 3000 and o["lsoas"] == 4
    assert o["within"][15] == {"population": 1000, "share": 0.1, "deprived_population": 1000, "deprived_share": round(1 / 3, 4)}
    assert o["within"][30]["share"] == 0.4 and o["within"][30]["deprived_share"] == round(1 / 3, 4)
    assert o["within"][45]["share"] == 0.6 and o["within"][45]["deprived_share"] == 1.0
    assert o["within"][60]["share"] == 0.6
    assert o["unreachable_share"] == 0.4 and o["deprived_unreachable_share"] == 0.0
    pl = out["places"]
    assert pl["Lancashire"]["within"][15]["share"] == 0.25
    assert pl["Blackpool"]["within"][30]["share"] == 0.0 and pl["Blackpool"]["within"][45]["deprived_share"] == 1.0
    assert pl["South Cumbria"]["unreachable_share"] == 1.0 and pl["South Cumbria"]["deprived_population"] == 0
    assert pl["South Cumbria"]["within"][60]["deprived_share"] is None  # no deprived people there: no share
    assert pl["Blackburn with Darwen"]["population"] == 0


def test_deprived_quintile_threshold():
    assert DEPRIVED_RANK_MAX == 6569  # 32,844 / 5, rounded down
    out = coverage(lambda lat, lon: 0.0, lsoas=toy_rows(), deprived_rank_max=6950)
    assert out["overall"]["deprived_population"] == 7000 and out["deprived_rank_max"] == 6950


def test_real_lsoas_distance_based_travel():
    # toy travel: 1.5 minutes per km as the crow flies to the nearest of two points
    sites = [(53.7913, -2.7074), (54.1364, -3.2079)]  # Royal Preston, Furness General

    def minutes(lat, lon):
        best = min(math.dist((lat, lon * math.cos(math.radians(lat))), (s[0], s[1] * math.cos(math.radians(s[0])))) for s in sites)
        return best * 111.2 * 1.5

    out = coverage(minutes, thresholds=(30, 60, 90))
    o = out["overall"]
    assert o["lsoas"] == 1049 and 1_550_000 < o["population"] < 1_750_000
    shares = [o["within"][t]["share"] for t in (30, 60, 90)]
    assert shares == sorted(shares) and 0 < shares[0] < shares[-1] <= 1.0
    assert set(out["places"]) == {"Lancashire", "Blackpool", "Blackburn with Darwen", "South Cumbria"}
    # Blackpool is ~20 km from Royal Preston: all of it within 60 minutes at 1.5 min/km
    assert out["places"]["Blackpool"]["within"][60]["share"] == 1.0
    assert sum(p["population"] for p in out["places"].values()) == pytest.approx(o["population"], abs=4)


def test_everyone_and_no_one():
    rows = Areas.default().lsoas()
    all_in = coverage(lambda lat, lon: 0.0, lsoas=rows)
    assert all(v["share"] == 1.0 and v["deprived_share"] == 1.0 for v in all_in["overall"]["within"].values())
    none = coverage(lambda lat, lon: None, lsoas=rows)
    assert none["overall"]["unreachable_share"] == 1.0
    assert all(v["share"] == 0.0 for v in none["overall"]["within"].values())


def test_bad_inputs():
    with pytest.raises(ValueError, match="thresholds"):
        coverage(lambda a, b: 1.0, thresholds=(), lsoas=toy_rows())
    with pytest.raises(ValueError, match="minutes_to_nearest"):
        coverage(lambda a, b: -5.0, lsoas=toy_rows())
