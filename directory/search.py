"""Find the nearest appropriate open services for a disposition, and say why others were left out."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping, Protocol, Sequence

from directory.model import REQUESTER_ROLES, SERVICE_TYPES, Service
from directory.opening import LONDON
from directory.rankings import AppliedRanking, Rankings


class TravelLike(Protocol):
    minutes: float
    km: float


@dataclass(frozen=True)
class _NoTravel:
    minutes: float = 0.0
    km: float = 0.0


_PHONE = _NoTravel()


@dataclass(frozen=True)
class Need:
    """What the triage outcome asks for: the disposition code, its class and timeframe."""
    code: str
    cls: str
    within_minutes: int | None
    label: str = ""


@dataclass(frozen=True)
class Origin:
    lat: float
    lon: float
    lad_code: str | None = None
    place: str | None = None

    @property
    def areas(self) -> tuple[str, ...]:
        return tuple(a for a in (self.lad_code, self.place) if a)


@dataclass(frozen=True)
class Patient:
    age: float | None = None
    sex: str | None = None


@dataclass(frozen=True)
class SearchOptions:
    limit: int = 5
    max_travel_minutes: float | None = None  # None: the rankings' limit for the disposition class
    capacity_stale_after: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Failure:
    rule: str
    text: str


@dataclass
class SearchResult:
    services: list[dict[str, Any]]
    excluded: list[dict[str, Any]]
    gaps: list[tuple[str, str, str]]  # (service id, rule, text): failed exactly one rule
    ranking: AppliedRanking
    catch_all: bool = False
    escalation: str | None = None
    notes: list[str] = field(default_factory=list)


def _fmt(dt: datetime | None) -> str | None:
    return dt.astimezone(LONDON).isoformat(timespec="minutes") if dt else None


def accepts(service: Service, need: Need, ranking: AppliedRanking) -> int | None:
    """The rank (1-based) at which this service's type serves the need, or None."""
    if service.accepts is not None and need.cls not in service.accepts and need.code not in service.accepts:
        return None
    if service.type in ranking.types:
        return ranking.types.index(service.type) + 1
    if service.accepts is not None:  # explicitly accepts the class though not ranked: after ranked types
        return len(ranking.types) + 1
    return None


def search(services: Sequence[Service], need: Need, origin: Origin, at: datetime, *,
           travel: Mapping[str, TravelLike], rankings: Rankings, patient: Patient = Patient(),
           requester_role: str = "nhs111", options: SearchOptions = SearchOptions()) -> SearchResult:
    """Services for `need`, nearest appropriate open first; never empty while any ED is reachable.

    `travel` maps service id to the road travel from the origin (from the base to the
    origin for mobile teams); services missing from it are unreachable by road.
    """
    route = REQUESTER_ROLES.get(requester_role)
    if route is None:
        raise ValueError(f"requester_role must be one of {sorted(REQUESTER_ROLES)}")
    ranking = rankings.applied(need.code, need.cls, origin.areas)
    max_travel = options.max_travel_minutes or rankings.max_travel_minutes(need.code, need.cls)
    window_end = at + timedelta(minutes=need.within_minutes) if need.within_minutes else at + timedelta(hours=24)
    today = at.astimezone(LONDON).date()

    candidates: list[tuple[tuple, dict[str, Any]]] = []
    excluded: list[dict[str, Any]] = []
    gaps: list[tuple[str, str, str]] = []
    for s in services:
        rank = accepts(s, need, ranking)
        if rank is None:
            continue  # not a candidate for this disposition at all
        fails: list[Failure] = []
        status = s.status_at(today)
        if status != "active":
            fails.append(Failure("status", f"{status.replace('_', ' ')}" + (f": {s.closed_reason}" if s.closed_reason else "")))
        if patient.sex in ("female", "male") and s.sex not in ("any", patient.sex):
            fails.append(Failure("sex", f"sees {s.sex} patients only"))
        if patient.age is not None and (patient.age < s.age_min or (s.age_max is not None and patient.age > s.age_max)):
            fails.append(Failure("age", f"sees ages {s.age_min:g}-{'' if s.age_max is None else f'{s.age_max:g}'}".rstrip("-") + ("+" if s.age_max is None else "")))
        if route not in s.referral_routes or (s.referral_only and route == "walk_in"):
            fails.append(Failure("referral_role", "does not take referrals from this requester"
                                 + (" (referral only)" if s.referral_only else "")))
        if not s.in_catchment(origin.lat, origin.lon, origin.lad_code):
            fails.append(Failure("catchment", "caller is outside its catchment"))
        t = _PHONE if s.remote else travel.get(s.id)
        opens_at = None
        open_span = s.opening.open_span(at)
        if t is None:
            fails.append(Failure("unreachable", "not reachable by road from the caller"))
        else:
            if t.minutes > max_travel and s.type != "emergency_department":
                fails.append(Failure("too_far", f"{t.minutes:.0f} min by road, beyond {max_travel:.0f} min"))
            arrival = at if (s.mobile or s.remote) else at + timedelta(minutes=t.minutes)
            span = s.opening.open_span(arrival)
            margin = timedelta(minutes=s.last_arrival_minutes)
            if span and span[1] - arrival >= margin:
                pass
            else:
                nxt = s.opening.next_opening(arrival + timedelta(minutes=1))
                nspan = s.opening.open_span(nxt) if nxt else None
                if nxt and nxt <= window_end and nspan and nspan[1] - nxt >= margin and not s.mobile:
                    opens_at = nxt
                elif span:
                    fails.append(Failure("closing_soon", f"closes within {s.last_arrival_minutes} minutes of arrival"))
                else:
                    fails.append(Failure("closed", "closed on arrival and does not open within the timeframe"))
        cap, cap_age = s.capacity.effective(at, stale_after=options.capacity_stale_after)
        if fails:
            excluded.append({"id": s.id, "name": s.name, "reason": fails[0].text, "rule": fails[0].rule,
                             "reasons": [f.text for f in fails]})
            if len(fails) == 1:
                gaps.append((s.id, fails[0].rule, fails[0].text))
            continue
        flags = []
        if cap == "red":
            flags.append("capacity_red")
        elif cap == "unknown":
            flags.append("capacity_unknown")
        due = s.verification_due()
        if due and due < today:
            flags.append("verification_overdue")
        if opens_at:
            flags.append("opens_later")
        if s.referral_only:
            flags.append("referral_only")
        item = {
            "id": s.id, "name": s.name, "type": s.type, "type_label": SERVICE_TYPES[s.type],
            "provider": s.provider, "address": s.address, "postcode": s.postcode, "lat": s.lat, "lon": s.lon,
            "phone": s.phone_professional if route != "walk_in" and s.phone_professional else s.phone_public,
            "travel_minutes": None if s.remote else round(t.minutes, 1),
            "distance_km": None if s.remote else round(t.km, 1),
            "travel_direction": "phone" if s.remote else ("team_to_caller" if s.mobile else "caller_to_service"),
            "open_now": open_span is not None,
            "open_until": _fmt(open_span[1]) if open_span and not s.opening.always else None,
            "opens_at": _fmt(opens_at), "rank": rank,
            "capacity": {"status": cap, "age_minutes": None if cap_age is None else round(cap_age),
                         "set_by": s.capacity.set_by, "set_at": _fmt(s.capacity.set_at)},
            "verified_on": s.verified_on.isoformat() if s.verified_on else None,
            "flags": flags,
        }
        candidates.append(((cap == "red", rank, opens_at is not None, t.minutes), item))

    candidates.sort(key=lambda c: c[0])
    non_red = [c for c in candidates if not c[0][0]]
    if non_red:  # red capacity is offered only when nothing else fits
        for key, item in candidates:
            if key[0]:
                excluded.append({"id": item["id"], "name": item["name"], "rule": "capacity_red",
                                 "reason": "capacity red: offered only when nothing else fits",
                                 "reasons": ["capacity red"]})
                gaps.append((item["id"], "capacity_red", "capacity red"))
        candidates = non_red
    chosen, per_type = [], {}
    for _, item in candidates:  # fitting services left out only by the counts are still accounted for
        if len(chosen) >= options.limit:
            excluded.append({"id": item["id"], "name": item["name"], "rule": "result_limit",
                             "reason": f"fits, but {options.limit} better-ranked options were found first",
                             "reasons": ["result limit"], "fits": True})
        elif per_type.get(item["type"], 0) >= ranking.per_type:
            excluded.append({"id": item["id"], "name": item["name"], "rule": "per_type_limit",
                             "reason": f"fits, but {ranking.per_type} nearer services of this type are offered",
                             "reasons": ["per-type limit"], "fits": True})
        else:
            per_type[item["type"]] = per_type.get(item["type"], 0) + 1
            chosen.append(item)
    if need.cls == "ambulance" and chosen and not any(c["type"] == "emergency_department" for c in chosen):
        # an ambulance disposition always keeps a conveyance option beside any see-and-treat ones
        ed = next((item for _, item in candidates if item["type"] == "emergency_department"), None)
        if ed is not None:
            if len(chosen) >= options.limit:
                dropped = chosen.pop()
                excluded.append({"id": dropped["id"], "name": dropped["name"], "rule": "result_limit",
                                 "reason": "fits, but the nearest emergency department is kept for conveyance",
                                 "reasons": ["result limit"], "fits": True})
            excluded[:] = [e for e in excluded if e["id"] != ed["id"]]
            chosen.append(ed)
    result = SearchResult(chosen, excluded, gaps, ranking)
    if not chosen:
        result.catch_all = True
        result.escalation = (f"No {need.label or need.code} option fits within the timeframe: "
                             "catch-all to the two nearest emergency departments by road")
        if need.cls in ("falls_response", "urgent_community_response"):
            result.notes.append("No community response team is available: request an ambulance response instead.")
        result.services = _catch_all(services, origin, at, travel, today)
    return result


def _catch_all(services: Sequence[Service], origin: Origin, at: datetime,
               travel: Mapping[str, TravelLike], today) -> list[dict[str, Any]]:
    """The two nearest open emergency departments by road, whatever their capacity."""
    eds = []
    for s in services:
        t = travel.get(s.id)
        if s.type != "emergency_department" or t is None or s.status_at(today) != "active":
            continue
        arrival = at + timedelta(minutes=t.minutes)
        span = s.opening.open_span(arrival)
        if not span:
            continue
        eds.append((t.minutes, s, t, s.opening.open_span(at)))
    eds.sort(key=lambda e: e[0])
    out = []
    for _, s, t, now_span in eds[:2]:
        cap, cap_age = s.capacity.effective(at)
        out.append({
            "id": s.id, "name": s.name, "type": s.type, "type_label": SERVICE_TYPES[s.type], "provider": s.provider,
            "address": s.address, "postcode": s.postcode, "lat": s.lat, "lon": s.lon, "phone": s.phone_public,
            "travel_minutes": round(t.minutes, 1), "distance_km": round(t.km, 1),
            "travel_direction": "caller_to_service", "open_now": now_span is not None,
            "open_until": _fmt(now_span[1]) if now_span and not s.opening.always else None, "opens_at": None,
            "rank": None, "capacity": {"status": cap, "age_minutes": None if cap_age is None else round(cap_age),
                                       "set_by": s.capacity.set_by, "set_at": _fmt(s.capacity.set_at)},
            "verified_on": s.verified_on.isoformat() if s.verified_on else None,
            "flags": ["catch_all"] + (["capacity_red"] if cap == "red" else []),
        })
    return out
