"""Postcode and place-name lookup: turn what a caller says into a point with its precision stated."""

from __future__ import annotations

import csv
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

from rapidfuzz import fuzz, process

__all__ = [
    "DATA_DIR",
    "Gazetteer",
    "LocationError",
    "Point",
    "PostcodeError",
    "PostcodeParts",
    "normalise_postcode",
    "parse_postcode",
    "validate_coordinates",
]

DATA_DIR = Path(__file__).resolve().parent / "data"

Precision = Literal["postcode", "sector", "district", "place", "coordinates"]

# Outward code: A9, A99, AA9, AA99, A9A, AA9A (letters restricted by position as Royal Mail does).
_OUTWARD = r"(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # C I K M O V are never used in the inward code
_FULL_RE = re.compile(rf"^(?P<out>{_OUTWARD})(?P<sector>[0-9])(?P<unit>[{_INWARD_LETTERS}]{{2}})$")
_SECTOR_RE = re.compile(rf"^(?P<out>{_OUTWARD}) (?P<sector>[0-9])$")
_OUTWARD_RE = re.compile(rf"^(?P<out>{_OUTWARD})$")
_SPACES_RE = re.compile(r"\s+")
_COORDS_RE = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*[,;\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")

_POSTCODE_HELP = (
    "A UK postcode looks like 'PR1 8XJ' or 'LA14 4LF': an outward code of 1-2 letters, "
    "1-2 digits and perhaps a letter, then a digit and two letters. "
    "The outward code alone (e.g. 'PR1') is accepted too."
)

# Great Britain's extent, generously: points outside it cannot be routed by this service.
GB_BOUNDS = (49.8, 61.0, -8.8, 2.0)


class PostcodeError(ValueError):
    """A postcode that is not well-formed; ``field`` names the input it came from."""

    def __init__(self, message: str, *, field: str = "location.postcode") -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class LocationError(ValueError):
    """A location that cannot be placed; carries the field, a message and ranked suggestions."""

    def __init__(self, message: str, *, field: str = "location", suggestions: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.suggestions: list[str] = list(suggestions)

    def __str__(self) -> str:
        if self.suggestions:
            return f"{self.message} Did you mean: {', '.join(self.suggestions)}?"
        return self.message


@dataclass(frozen=True)
class Point:
    """A located point: lat/lon (WGS84), how precise it is, what was matched, and the postcode if any."""

    lat: float
    lon: float
    precision: Precision
    label: str
    postcode: str | None = None


@dataclass(frozen=True)
class PostcodeParts:
    """A parsed postcode: outward code, sector digit (or None) and unit letters (or None)."""

    outward: str
    sector: str | None = None
    unit: str | None = None

    @property
    def area(self) -> str:
        return re.match(r"[A-Z]+", self.outward).group(0)  # type: ignore[union-attr]

    @property
    def sector_code(self) -> str | None:
        return f"{self.outward} {self.sector}" if self.sector is not None else None

    @property
    def full(self) -> str | None:
        return f"{self.outward} {self.sector}{self.unit}" if self.unit is not None else None

    def __str__(self) -> str:
        return self.full or self.sector_code or self.outward


def parse_postcode(text: object, *, field: str = "location.postcode", allow_partial: bool = True) -> PostcodeParts:
    """Parse a full postcode, a sector ('PR1 8') or an outward code ('PR1'); raise PostcodeError otherwise."""
    if not isinstance(text, str):
        raise PostcodeError(f"{field} must be text. {_POSTCODE_HELP}", field=field)
    raw = _SPACES_RE.sub(" ", text.strip().upper())
    if not raw:
        raise PostcodeError(f"{field} is empty. {_POSTCODE_HELP}", field=field)
    if raw.replace(" ", "") in ("GIR0AA",):
        return PostcodeParts("GIR", "0", "AA")
    compact = raw.replace(" ", "")
    if 5 <= len(compact) <= 7:
        head, digit, unit = compact[:-3], compact[-3], compact[-2:]
        if digit == "O":  # the inward code always starts with a digit: 'PR1 OXJ' means 'PR1 0XJ'
            digit = "0"
        m = _FULL_RE.match(head + digit + unit)
        if m:
            return PostcodeParts(m.group("out"), m.group("sector"), m.group("unit"))
    if allow_partial:
        m = _OUTWARD_RE.match(compact)
        if m and " " not in raw:
            return PostcodeParts(m.group("out"))
        m = _SECTOR_RE.match(raw)
        if m:
            return PostcodeParts(m.group("out"), m.group("sector"))
    shown = text.strip()
    if len(shown) > 40:
        shown = shown[:40] + "…"
    raise PostcodeError(f"{field} {shown!r} is not a valid UK postcode. {_POSTCODE_HELP}", field=field)


def normalise_postcode(text: object, *, field: str = "location.postcode") -> str:
    """Return the standard form ('pr18xj' -> 'PR1 8XJ', ' pr1 ' -> 'PR1'); raise PostcodeError if malformed."""
    return str(parse_postcode(text, field=field))


def validate_coordinates(
    lat: object, lon: object, *, within_gb: bool = True, field_prefix: str = "location"
) -> tuple[float, float]:
    """Check a latitude/longitude pair; return them as floats or raise LocationError naming the bad field."""
    out = []
    for name, value, lo, hi in (("lat", lat, -90.0, 90.0), ("lon", lon, -180.0, 180.0)):
        field = f"{field_prefix}.{name}"
        try:
            if isinstance(value, bool):
                raise TypeError
            f = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):  # OverflowError: an integer of hundreds of digits
            raise LocationError(f"{field} must be a number in decimal degrees, e.g. 53.7632.", field=field) from None
        if not math.isfinite(f) or not lo <= f <= hi:
            raise LocationError(f"{field} must be between {lo:g} and {hi:g} decimal degrees; got {f:g}.", field=field)
        out.append(f)
    if within_gb:
        la, lo_ = out
        lat_min, lat_max, lon_min, lon_max = GB_BOUNDS
        if not lat_min <= la <= lat_max:
            raise LocationError(
                f"location.lat {la} is outside Great Britain ({lat_min}..{lat_max}); check latitude and longitude are not swapped.",
                field=f"{field_prefix}.lat",
            )
        if not lon_min <= lo_ <= lon_max:
            raise LocationError(
                f"location.lon {lo_} is outside Great Britain ({lon_min}..{lon_max}); west of Greenwich is negative (Preston is -2.70).",
                field=f"{field_prefix}.lon",
            )
    return out[0], out[1]


def _name_key(name: str) -> str:
    """Fold a place name for matching: case, punctuation, hyphens and 'St.'/'Saint' variants."""
    s = name.lower().replace("&", " and ")
    s = re.sub(r"[-'’.,()/]", " ", s)
    s = re.sub(r"\bsaint\b", "st", s)
    return _SPACES_RE.sub(" ", s).strip()


@dataclass(frozen=True)
class _Place:
    name: str
    lat: float
    lon: float
    lad_code: str
    kind: str  # "town" or "ward"


class Gazetteer:
    """Postcode, sector, district and place-name tables with lookups that state their precision."""

    _default: "Gazetteer | None" = None
    _default_lock = threading.Lock()

    #: fuzzy score (0-100) a place name must reach to be accepted without asking
    ACCEPT_SCORE = 90.0
    #: and by how much it must beat the best different place
    ACCEPT_MARGIN = 4.0

    def __init__(
        self,
        *,
        postcodes: dict[str, tuple[float, float, bool]],
        sectors: dict[str, tuple[float, float, int]],
        districts: dict[str, tuple[float, float]],
        places: list[_Place],
        aliases: dict[str, str] | None = None,
    ) -> None:
        self._postcodes = postcodes  # "PR1 8XJ" -> (lat, lon, terminated)
        self._sectors = sectors  # "PR1 8" -> (lat, lon, count)
        self._districts = districts  # "PR1" -> (lat, lon)
        self._places = places
        self._by_key: dict[str, list[_Place]] = {}
        for p in places:
            self._by_key.setdefault(_name_key(p.name), []).append(p)
        for alias, target in (aliases or {}).items():
            akey = _name_key(alias)
            targets = [t for t in self._by_key.get(_name_key(target), []) if t.kind == "town"]
            bucket = self._by_key.setdefault(akey, [])
            bucket.extend(t for t in targets if t not in bucket)
        self._keys = list(self._by_key)
        self._postcode_keys = list(self._postcodes)

    # ----------------------------------------------------------------------------- loading
    @classmethod
    def default(cls) -> "Gazetteer":
        """The gazetteer built from the embedded tables in geodata/data (loaded once, then cached)."""
        if cls._default is None:
            with cls._default_lock:
                if cls._default is None:
                    cls._default = cls.from_files()
        return cls._default

    @classmethod
    def from_files(
        cls,
        *,
        postcodes: str | Path | None = None,
        sectors: str | Path | None = None,
        districts: str | Path | None = None,
        places: str | Path | None = None,
    ) -> "Gazetteer":
        """Load tables (CSV, as written by scripts/derive_geography.py or geodata.onspd).

        Defaults are the embedded tables. When ``postcodes`` is given and ``sectors`` is not,
        sector estimates are computed from the given postcodes (live ones first).
        """
        pc_path = Path(postcodes) if postcodes else DATA_DIR / "postcodes.csv"
        pcs = _read_postcodes(pc_path)
        if sectors is not None:
            secs = _read_sectors(Path(sectors))
        elif postcodes is not None:
            secs = sector_means(pcs)
        else:
            secs = _read_sectors(DATA_DIR / "sectors.csv")
        dists = _read_districts(Path(districts) if districts else DATA_DIR / "districts.csv")
        if postcodes is not None:  # districts only the new table knows about get a mean of its postcodes
            for d, v in _district_means(pcs).items():
                dists.setdefault(d, v)
        pl, aliases = _read_places(Path(places) if places else DATA_DIR / "places.csv")
        return cls(postcodes=pcs, sectors=secs, districts=dists, places=pl, aliases=aliases)

    # ------------------------------------------------------------------------------ sizes
    def __len__(self) -> int:
        return len(self._postcodes)

    @property
    def districts(self) -> frozenset[str]:
        return frozenset(self._districts)

    def place_names(self) -> list[str]:
        return [p.name for p in self._places]

    # ---------------------------------------------------------------------------- lookups
    def locate_postcode(self, text: object, *, field: str = "location.postcode") -> Point:
        """Full postcode if known, else its sector estimate, else its district centroid (precision says which)."""
        parts = parse_postcode(text, field=field)
        if parts.full is not None:
            hit = self._postcodes.get(parts.full)
            if hit is not None:
                lat, lon, terminated = hit
                label = parts.full + (" (terminated postcode: last known location)" if terminated else "")
                return Point(lat, lon, "postcode", label, parts.full)
        postcode = parts.full
        if parts.sector_code is not None:
            sec = self._sectors.get(parts.sector_code)
            if sec is not None:
                lat, lon, n = sec
                return Point(lat, lon, "sector", f"{parts.sector_code} (sector estimate from {n} postcode{'s' if n != 1 else ''})", postcode)
        dist = self._districts.get(parts.outward)
        if dist is not None:
            lat, lon = dist
            return Point(lat, lon, "district", f"{parts.outward} (district centroid)", postcode)
        raise LocationError(
            f"{field} {str(parts)!r} is a valid postcode but in district {parts.outward}, which this service holds no "
            "data for (it covers Lancashire and South Cumbria and its borders). Check the postcode, or give the town "
            "or the coordinates instead.",
            field=field,
            suggestions=self._postcode_suggestions(parts),
        )

    def locate_place(self, text: object, *, field: str = "location.place", limit: int = 5) -> Point:
        """A town, village or ward name (typos tolerated when unambiguous); LocationError with suggestions otherwise."""
        if not isinstance(text, str) or not text.strip():
            raise LocationError(f"{field} must be a town or village name, e.g. 'Ulverston'.", field=field)
        key = _name_key(text)
        exact = self._by_key.get(key)
        if exact:
            return self._place_point(exact, text, field, matched_exactly=True)
        matches = process.extract(key, self._keys, scorer=fuzz.ratio, limit=12)
        suggestions = self._rank_suggestions(key, limit)
        if matches:
            best_key, best_score, _ = matches[0]
            best = self._by_key[best_key]
            best_ids = {id(p) for p in best}
            runner_up = next(
                (s for k, s, _ in matches[1:] if not {id(p) for p in self._by_key[k]} <= best_ids), 0.0
            )
            if best_score >= self.ACCEPT_SCORE and best_score - runner_up >= self.ACCEPT_MARGIN:
                return self._place_point(best, text, field, matched_exactly=False)
        raise LocationError(
            f"{field} {text.strip()!r} is not a place this service knows in Lancashire and South Cumbria. "
            "Choose one of the suggestions, or give a postcode or coordinates.",
            field=field,
            suggestions=suggestions,
        )

    def locate(self, text: object, *, field: str = "location") -> Point:
        """Accept a postcode (full, sector or outward), 'lat, lon', or a place name."""
        if not isinstance(text, str) or not text.strip():
            raise LocationError(f"{field} is empty: give a postcode (e.g. 'PR1 8XJ'), a town, or coordinates.", field=field)
        m = _COORDS_RE.match(text)
        if m:
            lat, lon = validate_coordinates(m.group(1), m.group(2), field_prefix=field)
            return self.coordinates(lat, lon)
        try:
            parts = parse_postcode(text, field=field)
        except PostcodeError:
            parts = None
        if parts is not None and (parts.unit is not None or parts.sector is not None or parts.outward in self._districts):
            return self.locate_postcode(text, field=field)
        if parts is not None and _name_key(text) not in self._by_key:
            # looks like an outward code we do not hold, e.g. 'M1': say so rather than fuzz it into a town
            return self.locate_postcode(text, field=field)
        return self.locate_place(text, field=field)

    @staticmethod
    def coordinates(lat: float, lon: float) -> Point:
        """A caller-given point, checked."""
        la, lo = validate_coordinates(lat, lon)
        return Point(la, lo, "coordinates", f"{la:.5f}, {lo:.5f}", None)

    # ---------------------------------------------------------------------------- helpers
    def _place_point(self, candidates: list[_Place], text: str, field: str, *, matched_exactly: bool) -> Point:
        towns = [p for p in candidates if p.kind == "town"]
        pool = towns or candidates
        distinct = {(round(p.lat, 3), round(p.lon, 3)) for p in pool}
        if len(distinct) > 1:
            raise LocationError(
                f"{field} {text.strip()!r} matches more than one place; say which.",
                field=field,
                suggestions=[self._display(p) for p in pool],
            )
        p = pool[0]
        label = p.name if p.kind == "town" else f"{p.name} (ward)"
        if not matched_exactly:
            label += f" (matched from {text.strip()!r})"
        return Point(p.lat, p.lon, "place", label, None)

    def _display(self, p: _Place) -> str:
        if len(self._by_key.get(_name_key(p.name), [])) > 1 and p.kind == "ward":
            return f"{p.name} ward ({p.lad_code})"
        return p.name if p.kind == "town" else f"{p.name} (ward)"

    def _rank_suggestions(self, key: str, limit: int) -> list[str]:
        scored = process.extract(key, self._keys, scorer=fuzz.WRatio, limit=limit * 3, score_cutoff=55)
        out: list[str] = []
        for k, _, _ in scored:
            for p in sorted(self._by_key[k], key=lambda p: p.kind != "town"):
                name = p.name
                if name not in out:
                    out.append(name)
            if len(out) >= limit:
                break
        return out[:limit]

    def _postcode_suggestions(self, parts: PostcodeParts, limit: int = 5) -> list[str]:
        q = str(parts)
        out = [k for k, _, _ in process.extract(q, self._postcode_keys, scorer=fuzz.ratio, limit=limit, score_cutoff=60)]
        out += [k for k, _, _ in process.extract(parts.outward, list(self._districts), scorer=fuzz.ratio, limit=3, score_cutoff=60)]
        return out[: limit + 3]


# --------------------------------------------------------------------------------- tables
def _truthy(v: str | None) -> bool:
    return (v or "").strip().lower() in ("1", "true", "yes", "y", "t")


def _read_postcodes(path: Path) -> dict[str, tuple[float, float, bool]]:
    out: dict[str, tuple[float, float, bool]] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            pc = row["postcode"]
            term = _truthy(row.get("terminated"))
            prev = out.get(pc)
            if prev is not None and not prev[2] and term:
                continue  # a live record wins over a terminated one
            out[pc] = (float(row["lat"]), float(row["lon"]), term)
    return out


def _read_sectors(path: Path) -> dict[str, tuple[float, float, int]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["sector"]: (float(r["lat"]), float(r["lon"]), int(r["count"])) for r in csv.DictReader(fh)}


def _read_districts(path: Path) -> dict[str, tuple[float, float]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["district"]: (float(r["lat"]), float(r["lon"])) for r in csv.DictReader(fh)}


def _read_places(path: Path) -> tuple[list[_Place], dict[str, str]]:
    places: list[_Place] = []
    aliases: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            places.append(_Place(r["name"], float(r["lat"]), float(r["lon"]), r["lad_code"], r["kind"]))
            for a in filter(None, (r.get("aliases") or "").split("|")):
                aliases[a] = r["name"]
    return places, aliases


def sector_means(postcodes: dict[str, tuple[float, float, bool]]) -> dict[str, tuple[float, float, int]]:
    """Mean point per sector of the live postcodes (terminated ones only where a sector has nothing else)."""
    live: dict[str, list[tuple[float, float]]] = {}
    dead: dict[str, list[tuple[float, float]]] = {}
    for pc, (lat, lon, term) in postcodes.items():
        (dead if term else live).setdefault(pc[:-2], []).append((lat, lon))
    out: dict[str, tuple[float, float, int]] = {}
    for sec, pts in {**dead, **live}.items():
        out[sec] = (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts), len(pts))
    return out


def _district_means(postcodes: dict[str, tuple[float, float, bool]]) -> dict[str, tuple[float, float]]:
    acc: dict[str, list[tuple[float, float]]] = {}
    for pc, (lat, lon, term) in postcodes.items():
        if not term:
            acc.setdefault(pc.split(" ")[0], []).append((lat, lon))
    return {d: (sum(p[0] for p in v) / len(v), sum(p[1] for p in v) / len(v)) for d, v in acc.items()}
