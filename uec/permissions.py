"""Who may do what to the directory: the user type and every role check, as pure functions (no HTTP)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

ROLE_LABELS = {
    "viewer": "Viewer (read only)",
    "capacity_updater": "Capacity updater (own services' capacity only)",
    "commissioner": "Commissioner (services in own areas)",
    "administrator": "Administrator (everything, users)",
}


@dataclass(frozen=True)
class User:
    """A signed-in person or API client; `areas` are LAD codes, district or place names."""
    username: str
    role: str
    areas: tuple[str, ...] = ()
    service_ids: tuple[str, ...] = ()
    requester_role: str = "nhs111"

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "User":
        return cls(row["username"], row["role"], tuple(row.get("areas") or ()), tuple(row.get("service_ids") or ()),
                   row.get("requester_role") or "nhs111")

    @property
    def is_admin(self) -> bool:
        return self.role == "administrator"


# -- the permissions (pure functions: the web pages and the JSON API both ask these) ---------
def _areas():
    from geodata import Areas
    return Areas.default()


def area_names_of(lat: float, lon: float) -> set[str]:
    """Every name a point's area goes by: its LAD code, district name and place, lower-cased."""
    if not isinstance(lat, (int, float)) or not isinstance(lon, (int, float)) or \
            not (math.isfinite(lat) and math.isfinite(lon)):
        return set()
    hit = _areas().area_of(lat, lon)
    return {hit.lad_code.lower(), hit.lad_name.lower(), hit.place.lower()} if hit else set()


def in_user_areas(user: User, lat: float, lon: float) -> bool:
    wanted = {a.strip().lower() for a in user.areas}
    return bool(wanted & area_names_of(lat, lon))


def can_view(user: User | None) -> bool:
    return user is not None


def can_edit_service(user: User | None, service: Any) -> bool:
    """Edit details and opening times, close, reopen, verify: administrators, or commissioners of its area."""
    if user is None:
        return False
    if user.is_admin:
        return True
    return user.role == "commissioner" and in_user_areas(user, service.lat, service.lon)


def can_create_at(user: User | None, lat: float, lon: float) -> bool:
    if user is None:
        return False
    return user.is_admin or (user.role == "commissioner" and in_user_areas(user, lat, lon))


def can_set_capacity(user: User | None, service: Any) -> bool:
    """Capacity: capacity updaters for their own listed services, and whoever may edit the service."""
    if user is None:
        return False
    if user.role == "capacity_updater":
        return service.id in user.service_ids
    return can_edit_service(user, service)


def can_manage_users(user: User | None) -> bool:
    return user is not None and user.is_admin


def can_rank(user: User | None, area: str) -> bool:
    """Commissioners rank service types for their own areas only; administrators for any."""
    if user is None:
        return False
    if user.is_admin:
        return True
    return user.role == "commissioner" and canonical_area(area) in {canonical_area(a) for a in user.areas}


def can_import(user: User | None) -> bool:
    """Import is offered to commissioners (every row must be in their areas) and administrators."""
    return user is not None and user.role in ("commissioner", "administrator")


def can_manage_scenarios(user: User | None) -> bool:
    return user is not None and user.role in ("commissioner", "administrator")


def canonical_area(area: str) -> str:
    """The spelling routing looks rankings up by: a district code for a code or district name, else the place."""
    from geodata.areas import LAD_NAMES, PLACES
    a = area.strip().lower()
    for code, name in LAD_NAMES.items():
        if a in (code.lower(), name.lower()) and name not in PLACES:
            return code
    for place in PLACES:
        if a == place.lower():
            return place
    return area.strip()


def rankable_areas(user: User | None) -> list[str]:
    """Areas whose rankings this user may set, as routing names them (district codes or places)."""
    if user is None:
        return []
    if user.is_admin:
        from geodata.areas import LAD_NAMES, PLACES
        return list(PLACES) + sorted(c for c, n in LAD_NAMES.items() if n not in PLACES)
    return [canonical_area(a) for a in user.areas] if user.role == "commissioner" else []


def is_known_area(area: str) -> bool:
    """Whether `area` (as canonical_area spells it) is a district code or place that routing looks rankings up by."""
    from geodata.areas import LAD_NAMES, PLACES
    return area in LAD_NAMES or area in PLACES


def districts_of(area: str) -> set[str]:
    """The district codes an area covers: itself for a code, every district of a place."""
    from geodata.areas import LAD_NAMES, PLACE_OF_LAD
    if area in LAD_NAMES:
        return {area}
    return {code for code, place in PLACE_OF_LAD.items() if place == area}


def editable_districts(user: User | None) -> set[str]:
    """The district codes whose services this user may edit (every one for an administrator)."""
    from geodata.areas import LAD_NAMES, PLACE_OF_LAD
    if user is None:
        return set()
    if user.is_admin:
        return set(LAD_NAMES)
    if user.role != "commissioner":
        return set()
    wanted = {a.strip().lower() for a in user.areas}
    return {code for code, name in LAD_NAMES.items()
            if wanted & {code.lower(), name.lower(), PLACE_OF_LAD.get(code, "").lower()}}


def can_rank_for_callers_in(user: User | None, area: str) -> bool:
    """A ranking reorders services for every caller in `area`: allowed only if the user may edit every district of it."""
    districts = districts_of(area)
    return bool(districts) and can_rank(user, area) and districts <= editable_districts(user)
