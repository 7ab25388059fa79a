"""Postcode normalisation and the Gazetteer: postcodes, sectors, districts, places, coordinates."""

from __future__ import annotations

import csv
import math
import time

import pytest

from geodata.postcodes import (
    DATA_DIR,
    Gazetteer,
    LocationError,
    Point,
    PostcodeError,
    normalise_postcode,
    validate_coordinates,
)


def km(a_lat, a_lon, b_lat, b_lon):
    p1, p2 = math.radians(a_lat), math.radians(b_lat)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b_lon - a_lon) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.default()


# ------------------------------------------------------------------ normalisation
@pytest.mark.parametrize(
    "text, expected",
    [
        ("pr18xj", "PR1 8XJ"),
        (" PR1  8XJ ", "PR1 8XJ"),
        ("PR1 8XJ", "PR1 8XJ"),
        ("pr1\t8xj", "PR1 8XJ"),
        ("la144lf", "LA14 4LF"),
        ("L1 8JQ", "L1 8JQ"),
        ("bb10 2pq", "BB10 2PQ"),
        ("EC1A1BB", "EC1A 1BB"),
        ("w1a 0ax", "W1A 0AX"),
        ("M1 1AE", "M1 1AE"),
        ("PR1 OXJ", "PR1 0XJ"),  # letter O where the inward digit must be
        ("gir0aa", "GIR 0AA"),
        ("pr1", "PR1"),
        (" la14 ", "LA14"),
        ("L1", "L1"),
        ("PR1 8", "PR1 8"),
    ],
)
def test_normalise_postcode(text, expected):
    assert normalise_postcode(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "PR", "12345", "PR1 8X", "PR1 8XJJ", "PR1 8CJ", "QR1 8XJ", "PRR1 8XJ", "P-R1 8XJ", "PR1 8X1", "Preston",
     "PR18XJPR18XJ", "1PR 8XJ", None, 123],
)
def test_malformed_postcodes_name_the_field_and_say_what_is_valid(text):
    with pytest.raises(PostcodeError) as exc:
        normalise_postcode(text, field="caller.postcode")
    assert exc.value.field == "caller.postcode"
    assert "caller.postcode" in str(exc.value)
    assert "looks like" in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_postcode_error_default_field():
    with pytest.raises(PostcodeError) as exc:
        normalise_postcode("nonsense!")
    assert exc.value.field == "location.postcode"


# ------------------------------------------------------------------ postcodes
# Published positions of the sites (independent of the embedded table): Wikipedia infobox coordinates
# or the trust's map pin, to about 100 m.
HOSPITAL_SITES = {
    "PR2 9HT": (53.7920, -2.7060),  # Royal Preston
    "BB2 3HH": (53.7340, -2.4620),  # Royal Blackburn
    "FY3 8NR": (53.8215, -3.0140),  # Blackpool Victoria
    "LA1 4RP": (54.0425, -2.7990),  # Royal Lancaster Infirmary
    "LA14 4LF": (54.1375, -3.2050),  # Furness General
    "PR7 1PP": (53.6660, -2.6350),  # Chorley and South Ribble
    "LA9 7RG": (54.3087, -2.7358),  # Westmorland General
    "BB10 2PQ": (53.8079, -2.2255),  # Burnley General
}


@pytest.mark.parametrize("postcode, site", list(HOSPITAL_SITES.items()))
def test_hospital_postcodes_resolve_within_1km_of_the_site(gaz, postcode, site):
    p = gaz.locate_postcode(postcode.lower().replace(" ", ""))
    assert p.precision == "postcode" and p.postcode == postcode
    assert km(p.lat, p.lon, *site) < 1.0


def test_every_lsoa_postcode_resolves_exactly(gaz):
    with open(DATA_DIR / "lsoa.csv", newline="") as fh:
        lsoas = {r["code"]: r for r in csv.DictReader(fh)}
    with open(DATA_DIR / "postcodes.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["source"] == "lsoa-centroid"]
    assert len(rows) == len(lsoas) == 1049
    for r in rows:
        p = gaz.locate_postcode(r["postcode"])
        assert (p.lat, p.lon, p.precision) == (float(r["lat"]), float(r["lon"]), "postcode")


def test_sector_fallback_states_precision(gaz):
    # BB1 1 has known postcodes; BB1 1AA is not one of them
    p = gaz.locate_postcode("bb1 1aa")
    assert p.precision == "sector"
    assert p.label.startswith("BB1 1 (sector")
    assert p.postcode == "BB1 1AA"
    assert km(p.lat, p.lon, 53.748, -2.482) < 3  # Blackburn centre


def test_district_fallback_when_sector_unknown(gaz):
    # PR1 has known postcodes in sectors 0,1,3-9 but none in PR1 2
    assert gaz.locate_postcode("PR1 1AA").precision == "sector"
    p = gaz.locate_postcode("PR1 2ZZ")
    assert p.precision == "district" and p.label == "PR1 (district centroid)" and p.postcode == "PR1 2ZZ"
    assert km(p.lat, p.lon, 53.759, -2.699) < 3


def test_outward_code_only_gives_district(gaz):
    p = gaz.locate_postcode("la9")
    assert p.precision == "district" and p.postcode is None
    assert km(p.lat, p.lon, 54.328, -2.746) < 5  # Kendal


def test_border_district_outside_lsc_still_located(gaz):
    p = gaz.locate_postcode("CA1 1AA")  # Carlisle: a border district we hold a centroid for
    assert p.precision == "district"
    assert km(p.lat, p.lon, 54.89, -2.93) < 10


def test_postcode_in_no_known_district_raises_with_suggestions(gaz):
    with pytest.raises(LocationError) as exc:
        gaz.locate_postcode("M1 1AE")
    e = exc.value
    assert e.field == "location.postcode"
    assert "M1" in e.message and "town" in e.message
    assert e.suggestions and all(isinstance(s, str) for s in e.suggestions)
    with pytest.raises(LocationError) as exc2:
        gaz.locate_postcode("PR99 1AA")
    assert "PR9" in exc2.value.suggestions


def test_locate_postcode_rejects_malformed_with_field(gaz):
    with pytest.raises(PostcodeError) as exc:
        gaz.locate_postcode("PR1 8CJ", field="location.postcode")
    assert exc.value.field == "location.postcode"


def test_lookup_is_fast(gaz):
    queries = ["pr18xj", " PR1  8XJ ", "PR2 9HT", "la9", "bb1 1aa"] * 2000
    t = time.perf_counter()
    for q in queries:
        gaz.locate_postcode(q)
    per = (time.perf_counter() - t) / len(queries)
    assert per < 0.001  # well under 1 ms (typically a few µs)


# ------------------------------------------------------------------ places
@pytest.mark.parametrize(
    "text, name",
    [("Ulverston", "Ulverston"), ("ulverston", "Ulverston"), ("KENDAL", "Kendal"), ("Barrow", "Barrow-in-Furness"),
     ("barrow in furness", "Barrow-in-Furness"), ("Bowness", "Bowness-on-Windermere"), ("Skem", "Skelmersdale"),
     ("lytham st annes", "Lytham St Annes"), ("St Anne's", "St Annes"), ("Saint Annes", "St Annes"),
     ("Thornton Cleveleys", "Thornton-Cleveleys"), ("poulton le fylde", "Poulton-le-Fylde")],
)
def test_place_names_exact_and_aliases(gaz, text, name):
    p = gaz.locate_place(text)
    assert p.precision == "place" and p.label == name and p.postcode is None


@pytest.mark.parametrize("typo, name", [("Ulverstone", "Ulverston"), ("Lancater", "Lancaster"), ("Morcambe", "Morecambe"),
                                         ("Prestn", "Preston"), ("Accrington ", "Accrington")])
def test_clear_typos_resolve_and_say_what_was_matched(gaz, typo, name):
    p = gaz.locate_place(typo)
    assert p.label.startswith(name)
    if typo.strip() != name:
        assert "matched from" in p.label


@pytest.mark.parametrize("text, expected", [("Blackbrun", "Blackburn"), ("Skelmerdale town", "Skelmersdale"),
                                            ("Grange over sand", "Grange-over-Sands"), ("Kirkby Lonsdal", "Kirkby Lonsdale")])
def test_uncertain_names_raise_with_ranked_suggestions(gaz, text, expected):
    try:
        p = gaz.locate_place(text)
    except LocationError as e:
        assert e.field == "location.place"
        assert expected in e.suggestions[:3]
        assert "suggestions" in e.message
    else:  # confident enough to resolve: it must then be the right place
        assert p.label.startswith(expected)


def test_unknown_place_and_ambiguous_ward(gaz):
    with pytest.raises(LocationError) as exc:
        gaz.locate_place("Xyzzyville")
    assert exc.value.field == "location.place"
    with pytest.raises(LocationError) as exc:
        gaz.locate_place("Central")  # a ward name in three districts
    assert len(exc.value.suggestions) >= 2 and "say which" in exc.value.message
    with pytest.raises(LocationError):
        gaz.locate_place("   ")


def test_ward_names_resolve_as_wards(gaz):
    p = gaz.locate_place("Kendal Castle")
    assert p.precision == "place" and "ward" in p.label
    assert km(p.lat, p.lon, 54.328, -2.746) < 3


def test_locate_accepts_postcode_place_or_coordinates(gaz):
    assert gaz.locate("pr2 9ht").precision == "postcode"
    assert gaz.locate("PR1 8").precision == "sector"
    assert gaz.locate("LA9").precision == "district"
    assert gaz.locate("Ulverston").precision == "place"
    c = gaz.locate("54.1956, -3.0920")
    assert c == Point(54.1956, -3.092, "coordinates", "54.19560, -3.09200", None)
    with pytest.raises(LocationError) as exc:
        gaz.locate("M1")  # outward code of a district we hold nothing for
    assert exc.value.field == "location"
    with pytest.raises(LocationError):
        gaz.locate("")


# ------------------------------------------------------------------ coordinates
def test_validate_coordinates_ok():
    assert validate_coordinates("53.76", -2.70) == (53.76, -2.70)


@pytest.mark.parametrize(
    "lat, lon, field",
    [(91, -2.7, "location.lat"), (53.7, 181, "location.lon"), ("abc", -2.7, "location.lat"), (53.7, None, "location.lon"),
     (float("nan"), -2.7, "location.lat"), (True, -2.7, "location.lat"), (-2.7, 53.7, "location.lat"),
     (53.7, 12.5, "location.lon")],
)
def test_validate_coordinates_names_the_field(lat, lon, field):
    with pytest.raises(LocationError) as exc:
        validate_coordinates(lat, lon)
    assert exc.value.field == field and field in exc.value.message


def test_validate_coordinates_worldwide_when_asked():
    assert validate_coordinates(40.7, -74.0, within_gb=False) == (40.7, -74.0)


def test_from_files_defaults_match_default(gaz):
    g2 = Gazetteer.from_files()
    assert len(g2) == len(gaz) and g2.locate("PR2 9HT") == gaz.locate("PR2 9HT")
