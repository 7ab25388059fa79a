"""Areas: LSC districts and places from LSOA-built polygons; point lookups, unions and the LSOA table."""

from __future__ import annotations

import time

import pytest
import shapely
from pyproj import Geod

from geodata.areas import LAD_NAMES, PLACE_OF_LAD, PLACES, AreaHit, Areas
from geodata.postcodes import DATA_DIR, Gazetteer

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def areas() -> Areas:
    return Areas.default()


def area_km2(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e6


def test_sixteen_districts_and_four_places(areas):
    assert areas.lads() == LAD_NAMES
    places = areas.places()
    assert set(places) == set(PLACES)
    assert sorted(places["South Cumbria"]) == ["E07000027", "E07000031"]
    assert places["Blackpool"] == ["E06000009"] and places["Blackburn with Darwen"] == ["E06000008"]
    assert len(places["Lancashire"]) == 12


def test_every_lsoa_centroid_falls_in_its_own_district(areas):
    rows = areas.lsoas()
    assert len(rows) == 1049
    wrong = [(r.code, r.lad, areas.area_of(r.lat, r.lon)) for r in rows
             if (hit := areas.area_of(r.lat, r.lon)) is None or hit.lad_code != r.lad]
    assert wrong == []


@pytest.mark.parametrize(
    "name, lat, lon, lad, place",
    [
        ("Preston", 53.7590, -2.6990, "E07000123", "Lancashire"),
        ("Ulverston", 54.1934, -3.0906, "E07000031", "South Cumbria"),
        ("Barrow", 54.1108, -3.2261, "E07000027", "South Cumbria"),
        ("Blackpool Tower", 53.8159, -3.0553, "E06000009", "Blackpool"),
        ("Darwen", 53.6980, -2.4610, "E06000008", "Blackburn with Darwen"),
        ("Skelmersdale", 53.5500, -2.7760, "E07000127", "Lancashire"),
        ("Sedbergh", 54.3230, -2.5280, "E07000031", "South Cumbria"),
    ],
)
def test_points_in_known_places(areas, name, lat, lon, lad, place):
    hit = areas.area_of(lat, lon)
    assert hit == AreaHit(lad, LAD_NAMES[lad], place)
    assert areas.in_lsc(lat, lon)


@pytest.mark.parametrize(
    "name, lat, lon",
    [("Manchester", 53.4808, -2.2426), ("Carlisle", 54.8925, -2.9329), ("Southport", 53.6450, -3.0100),
     ("Wigan", 53.5450, -2.6320), ("Skipton", 53.9620, -2.0170), ("Irish Sea", 54.0, -3.6), ("Keswick", 54.6013, -3.1347),
     ("Millom", 54.2110, -3.2710), ("London", 51.5074, -0.1278)],
)
def test_points_outside_lsc(areas, name, lat, lon):
    assert areas.area_of(lat, lon) is None
    assert not areas.in_lsc(lat, lon)


def test_hospitals_in_expected_districts(areas):
    g = Gazetteer.default()
    expected = {"PR2 9HT": "E07000123", "BB2 3HH": "E06000008", "FY3 8NR": "E06000009", "LA1 4RP": "E07000121",
                "LA14 4LF": "E07000027", "PR7 1PP": "E07000118", "LA9 7RG": "E07000031", "BB10 2PQ": "E07000117"}
    for pc, lad in expected.items():
        p = g.locate_postcode(pc)
        assert areas.area_of(p.lat, p.lon).lad_code == lad, pc


def test_authored_towns_lie_in_their_district(areas):
    import csv

    with open(DATA_DIR / "places.csv", newline="") as fh:
        towns = [r for r in csv.DictReader(fh) if r["kind"] == "town"]
    assert len(towns) >= 80
    misplaced = []
    for r in towns:
        hit = areas.area_of(float(r["lat"]), float(r["lon"]))
        poly = areas.polygon(r["lad_code"])
        near = poly.distance(shapely.Point(float(r["lon"]), float(r["lat"]))) < 0.005  # ~350-550 m
        if not ((hit and hit.lad_code == r["lad_code"]) or near):
            misplaced.append(r["name"])
    assert misplaced == []


def test_place_polygons_are_unions_of_their_districts(areas):
    for place, codes in areas.places().items():
        union = areas.polygon(place)
        parts = sum(area_km2(areas.polygon(c)) for c in codes)
        assert area_km2(union) == pytest.approx(parts, rel=0.005), place
        for c in codes:
            inter = area_km2(union.intersection(areas.polygon(c)))
            assert inter == pytest.approx(area_km2(areas.polygon(c)), rel=0.005)
    total = sum(area_km2(areas.polygon(p)) for p in PLACES)
    assert 4500 < total < 4900  # Lancashire (with its unitaries) ~3,075 km² + South Cumbria ~1,610 km²
    assert 1450 < area_km2(areas.polygon("South Lakeland")) < 1650


def test_polygon_lookup_by_code_name_and_errors(areas):
    assert areas.polygon("E07000123").equals(areas.polygon("Preston"))
    assert areas.polygon("south cumbria").equals(areas.polygon("South Cumbria"))
    with pytest.raises(KeyError, match="E07000123"):
        areas.polygon("Narnia")
    assert areas.place_of("E07000031") == "South Cumbria"


def test_area_of_is_fast(areas):
    rows = areas.lsoas()
    t = time.perf_counter()
    for r in rows:
        areas.area_of(r.lat, r.lon)
    areas.area_of(53.48, -2.24)
    per = (time.perf_counter() - t) / (len(rows) + 1)
    assert per < 0.0002


def test_lsoa_table(areas):
    rows = areas.lsoas()
    assert {r.lad for r in rows} == set(LAD_NAMES)
    assert all(r.place == PLACE_OF_LAD[r.lad] for r in rows)
    total = sum(r.population for r in rows)
    assert 1_550_000 < total < 1_750_000  # 2011-based, about 1.67 million
    # the collated ranks run past England's 32,844 (to 34,675): see docs/geography.md
    assert all(1 <= r.imd_income_rank <= 34_753 for r in rows)
    assert any(r.imd_income_rank <= 100 for r in rows)  # LSC holds some of England's most deprived LSOAs


def test_area_of_answers_as_the_polygons_do(areas):
    """The box-then-polygon lookup finds the district whose polygon covers the point, as the STRtree
    query it replaced did, for random points over the region and its edges."""
    import random
    rng = random.Random(5)
    x0, y0, x1, y1 = shapely.total_bounds(areas._geoms)
    for _ in range(3000):
        lat, lon = rng.uniform(y0 - 0.05, y1 + 0.05), rng.uniform(x0 - 0.05, x1 + 0.05)
        covering = [areas._codes[int(i)] for i in areas._tree.query(shapely.Point(lon, lat), predicate="intersects")]
        hit = areas.area_of(lat, lon)
        if covering:
            assert hit is not None and hit.lad_code in covering
        elif hit is not None:  # only the edge tolerance may place a point no polygon covers
            geom = areas._lads[hit.lad_code][2]
            assert shapely.distance(geom, shapely.Point(lon, lat)) < 0.01
