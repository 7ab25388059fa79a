"""What the offline option maps draw: the LSC district boundaries, the caller, each option and its road route."""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any, Mapping

from geodata import Location
from geodata.postcodes import DATA_DIR

#: Simplification of the embedded district boundaries for drawing (degrees; about 100 m): plenty at
#: the scale of a county map, and a tenth of the size.
SIMPLIFY_DEGREES = 0.001
ATTRIBUTION = ("Boundaries: contains OS and ONS data © Crown copyright and database right 2016 "
               "(Open Government Licence v3.0)")


@lru_cache(maxsize=1)
def boundaries() -> tuple[bytes, str]:
    """The 16 LSC districts as a small GeoJSON FeatureCollection (name, code, place), and its ETag."""
    from shapely.geometry import mapping, shape
    raw = json.loads((DATA_DIR / "areas.geojson").read_text())
    features = []
    for f in raw["features"]:
        props = f["properties"]
        if props.get("kind") != "lad":
            continue
        geom = shape(f["geometry"]).simplify(SIMPLIFY_DEGREES, preserve_topology=True)
        features.append({"type": "Feature", "geometry": _rounded(mapping(geom)),
                         "properties": {"code": props["code"], "name": props["name"], "place": props["place"]}})
    body = json.dumps({"type": "FeatureCollection", "features": features, "attribution": ATTRIBUTION},
                      separators=(",", ":")).encode()
    return body, hashlib.sha256(body).hexdigest()[:16]


def _rounded(geom: Mapping[str, Any]) -> dict[str, Any]:
    def r(c: Any) -> Any:
        if isinstance(c, (list, tuple)) and c and isinstance(c[0], (int, float)):
            return [round(c[0], 4), round(c[1], 4)]
        return [r(x) for x in c]
    return {"type": geom["type"], "coordinates": r(geom["coordinates"])}


def _location(d: Mapping[str, Any]) -> Location:
    return Location(d["lat"], d["lon"], d.get("precision", ""), d.get("label", ""), d.get("postcode"),
                    d.get("lad_code"), d.get("lad_name"), d.get("place"))


def option_map(care: Any, result: Mapping[str, Any]) -> dict[str, Any] | None:
    """The map of a completed triage answer: the caller's point, each offered service numbered as in the
    table, and the road route to each (from the team's base for teams that come out). None without a
    location. Telephone services have no place on the map and are listed as such."""
    where = result.get("location")
    if not where or not result.get("services"):
        return None
    loc = _location(where)
    options, phone_only = [], []
    for n, s in enumerate(result["services"], start=1):
        if s.get("travel_direction") == "phone":
            phone_only.append({"n": n, "name": s["name"]})
            continue
        try:
            line = care.route_geometry(s["id"], loc)
        except Exception:  # a route that cannot be drawn must never cost the outcome page
            line = []
        options.append({"n": n, "id": s["id"], "name": s["name"], "lat": s["lat"], "lon": s["lon"],
                        "minutes": s.get("travel_minutes"), "team": s.get("travel_direction") == "team_to_caller",
                        "route": [[round(a, 5), round(b, 5)] for a, b in line]})
    return {"caller": {"lat": loc.lat, "lon": loc.lon, "label": where.get("label") or "Caller"},
            "options": options, "phone_only": phone_only}


def service_map(service: Any) -> dict[str, Any]:
    """The map of one directory service (admin): its site and any bases its team works from."""
    options = [{"n": 1, "id": service.id, "name": service.name, "lat": service.lat, "lon": service.lon,
                "minutes": None, "team": False, "route": []}]
    for i, b in enumerate(getattr(service, "mobile_bases", ()) or (), start=2):
        options.append({"n": i, "id": f"{service.id}#base{i - 2}", "name": f"Base: {b.name}", "lat": b.lat,
                        "lon": b.lon, "minutes": None, "team": True, "route": []})
    return {"caller": None, "options": options, "phone_only": []}
