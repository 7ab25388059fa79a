"""Postcodes, areas and road travel times for Lancashire and South Cumbria."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from geodata.areas import AreaHit, Areas
from geodata.postcodes import Gazetteer, LocationError, Point, PostcodeError, validate_coordinates

__all__ = ["AreaHit", "Areas", "Gazetteer", "Geo", "Location", "LocationError", "Point", "PostcodeError"]


@dataclass(frozen=True)
class Location:
    """Where a caller is: the point, how precisely it is known, and the area it falls in."""
    lat: float
    lon: float
    precision: str
    label: str
    postcode: str | None
    lad_code: str | None
    lad_name: str | None
    place: str | None

    @property
    def in_lsc(self) -> bool:
        return self.lad_code is not None

    def as_dict(self) -> dict:
        return {"lat": round(self.lat, 6), "lon": round(self.lon, 6), "precision": self.precision,
                "label": self.label, "postcode": self.postcode, "lad_code": self.lad_code,
                "lad_name": self.lad_name, "place": self.place, "in_lsc": self.in_lsc,
                "out_of_area": not self.in_lsc}


class Geo:
    """One entry point to the embedded (or imported) geography: locate callers, route by road."""

    def __init__(self, *, gazetteer: Gazetteer | None = None, areas: Areas | None = None, network=None):
        self._gazetteer, self._areas, self._network = gazetteer, areas, network

    @cached_property
    def gazetteer(self) -> Gazetteer:
        return self._gazetteer or Gazetteer.default()

    @cached_property
    def areas(self) -> Areas:
        return self._areas or Areas.default()

    @cached_property
    def network(self):
        if self._network is not None:
            return self._network
        from geodata.routing import RoadNetwork
        return RoadNetwork.default()

    def locate(self, *, postcode: str | None = None, place: str | None = None,
               lat: object = None, lon: object = None) -> Location:
        """Resolve a postcode, a town or village name, or coordinates; errors name the field."""
        if postcode not in (None, ""):
            point = self.gazetteer.locate(postcode, field="location.postcode")
        elif place not in (None, ""):
            point = self.gazetteer.locate_place(place, field="location.place")
        elif lat is not None or lon is not None:
            la, lo = validate_coordinates(lat, lon)
            point = Gazetteer.coordinates(la, lo)
        else:
            raise LocationError("give location.postcode, location.place, or location.lat and location.lon",
                                field="location")
        return self.at_point(point)

    def at_point(self, point: Point) -> Location:
        hit = self.areas.area_of(point.lat, point.lon)
        return Location(point.lat, point.lon, point.precision, point.label, point.postcode,
                        hit.lad_code if hit else None, hit.lad_name if hit else None, hit.place if hit else None)
