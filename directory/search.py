"""Find the nearest appropriate open services for a disposition, and say why others were left out."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
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


_SERVING: dict[tuple, tuple[Sequence[Service], tuple[tuple[Service, int], ...]]] = {}


def _serving(services: Sequence[Service], need: Need, ranking: AppliedRanking) -> tuple[tuple[Service, int], ...]:
    """The services that serve `need` under `ranking`, with their rank, in directory order. A
    directory snapshot's services are an immutable tuple that every search of its life reads: its
    answer is kept per disposition and ranking (a list given by a caller is judged afresh)."""
    cacheable = isinstance(services, tuple)
    key = (id(services), need.code, need.cls, ranking.types)
    hit = _SERVING.get(key) if cacheable else None
    if hit is not None and hit[0] is services:
        return hit[1]
    out = tuple((s, rank) for s in services if (rank := accepts(s, need, ranking)) is not None)
    if cacheable:
        if len(_SERVING) >= 1024:  # bounded: old snapshots' entries go too
            _SERVING.clear()
        _SERVING[key] = (services, out)  # holding `services` keeps its id from being reused
    return out


@dataclass(frozen=True)
class _Context:
    """What every service is judged against in one search."""
    need: Need
    origin: Origin
    at: datetime
    today: date
    route: str
    ranking: AppliedRanking
    max_travel: float
    window_end: datetime
    patient: Patient
    options: SearchOptions


def search(services: Sequence[Service], need: Need, origin: Origin, at: datetime, *,
           travel: Mapping[str, TravelLike], rankings: Rankings, patient: Patient = Patient(),
           requester_role: str = "nhs111", options: SearchOptions = SearchOptions()) -> SearchResult:
    """Services for `need`, nearest appropriate open first; never empty while any ED is reachable.

    `travel` maps service id to the road travel from the origin (from the base to the
    origin for mobile teams); services missing from it are unreachable by road.
    """
    ctx = _context(need, origin, at, rankings, patient, requester_role, options)
    candidates, excluded, gaps = _assess(services, ctx, travel)
    candidates = _hold_back_red(candidates, excluded, gaps)
    chosen = _apply_limits(candidates, excluded, limit=options.limit, per_type=ctx.ranking.per_type)
    if need.cls == "ambulance":
        _keep_conveyance(chosen, candidates, excluded, limit=options.limit)
    chosen = [c.build() for c in chosen]
    result = SearchResult(chosen, excluded, gaps, ctx.ranking)
    if not chosen:
        _escalate(result, services, ctx, travel)
    return result


def _context(need: Need, origin: Origin, at: datetime, rankings: Rankings, patient: Patient,
             requester_role: str, options: SearchOptions) -> _Context:
    route = REQUESTER_ROLES.get(requester_role)
    if route is None:
        raise ValueError(f"requester_role must be one of {sorted(REQUESTER_ROLES)}")
    window_end = at + timedelta(minutes=need.within_minutes) if need.within_minutes else at + timedelta(hours=24)
    return _Context(need, origin, at, at.astimezone(LONDON).date(), route,
                    rankings.applied(need.code, need.cls, origin.areas),
                    options.max_travel_minutes or rankings.max_travel_minutes(need.code, need.cls),
                    window_end, patient, options)


def _assess(services: Sequence[Service], ctx: _Context, travel: Mapping[str, TravelLike]
            ) -> tuple[list[tuple[tuple, "_Candidate"]], list[dict[str, Any]], list[tuple[str, str, str]]]:
    """Judge every service that serves the need: fitting ones become sortable candidates, the rest are
    excluded with every reason, and those that failed exactly one rule are gaps."""
    candidates: list[tuple[tuple, "_Candidate"]] = []
    excluded: list[dict[str, Any]] = []
    gaps: list[tuple[str, str, str]] = []
    for s, rank in _serving(services, ctx.need, ctx.ranking):  # the rest are not candidates at all
        t = _PHONE if s.remote else travel.get(s.id)
        fails = _eligibility(s, ctx)
        opens_at = None
        if t is None:
            fails.append(Failure("unreachable", "not reachable by road from the caller"))
        else:
            opens_at = _timing(s, t, ctx, fails)
        if fails:
            excluded.append({"id": s.id, "name": s.name, "reason": fails[0].text, "rule": fails[0].rule,
                             "reasons": [f.text for f in fails]})
            if len(fails) == 1:
                gaps.append((s.id, fails[0].rule, fails[0].text))
            continue
        cap, cap_age = s.capacity.effective(ctx.at, stale_after=ctx.options.capacity_stale_after)
        item = _Candidate(s, t, ctx, rank, cap, cap_age, opens_at)
        candidates.append(((cap == "red", rank, opens_at is not None, t.minutes), item))
    candidates.sort(key=lambda c: c[0])
    return candidates, excluded, gaps


class _Candidate:
    """A fitting service before the limits: its answer (`_item`) is built only if it is offered."""

    __slots__ = ("service", "travel", "ctx", "rank", "cap", "cap_age", "opens_at")

    def __init__(self, service: Service, travel: TravelLike, ctx: _Context, rank: int, cap: str,
                 cap_age: float | None, opens_at: datetime | None):
        self.service, self.travel, self.ctx, self.rank = service, travel, ctx, rank
        self.cap, self.cap_age, self.opens_at = cap, cap_age, opens_at

    def __getitem__(self, key: str) -> Any:  # what the limit steps read: id, name, type
        return getattr(self.service, key)

    def build(self) -> dict[str, Any]:
        return _item(self.service, self.travel, self.ctx, rank=self.rank, cap=self.cap, cap_age=self.cap_age,
                     opens_at=self.opens_at)


def _eligibility(s: Service, ctx: _Context) -> list[Failure]:
    """Rules about the service and the caller, whatever the travel: status, sex, age, referral, catchment."""
    fails: list[Failure] = []
    status = s.status_at(ctx.today)
    if status != "active":
        fails.append(Failure("status", f"{status.replace('_', ' ')}" + (f": {s.closed_reason}" if s.closed_reason else "")))
    patient = ctx.patient
    if patient.sex in ("female", "male") and s.sex not in ("any", patient.sex):
        fails.append(Failure("sex", f"sees {s.sex} patients only"))
    if patient.age is not None and (patient.age < s.age_min or (s.age_max is not None and patient.age > s.age_max)):
        fails.append(Failure("age", f"sees ages {s.age_min:g}-{'' if s.age_max is None else f'{s.age_max:g}'}".rstrip("-") + ("+" if s.age_max is None else "")))
    if ctx.route not in s.referral_routes or (s.referral_only and ctx.route == "walk_in"):
        fails.append(Failure("referral_role", "does not take referrals from this requester"
                             + (" (referral only)" if s.referral_only else "")))
    if not s.in_catchment(ctx.origin.lat, ctx.origin.lon, ctx.origin.lad_code):
        fails.append(Failure("catchment", "caller is outside its catchment"))
    return fails


def _timing(s: Service, t: TravelLike, ctx: _Context, fails: list[Failure]) -> datetime | None:
    """Distance and opening on arrival (with the last-arrival margin); returns a later opening time
    within the timeframe when the service is closed on arrival but opens in time."""
    if t.minutes > ctx.max_travel and s.type != "emergency_department":
        fails.append(Failure("too_far", f"{t.minutes:.0f} min by road, beyond {ctx.max_travel:.0f} min"))
    if s.opening.always and s.last_arrival_minutes < 24 * 60:
        return None  # open on arrival, whenever that is, and for longer than the last-arrival margin
    arrival = ctx.at if (s.mobile or s.remote) else ctx.at + timedelta(minutes=t.minutes)
    opening = s.opening.timeline(ctx.today)  # the same answers, from spans merged once a day
    span = opening.open_span(arrival)
    margin = timedelta(minutes=s.last_arrival_minutes)
    if span and span[1] - arrival >= margin:
        return None
    nxt = opening.next_opening(arrival + timedelta(minutes=1))
    nspan = opening.open_span(nxt) if nxt else None
    if nxt and nxt <= ctx.window_end and nspan and nspan[1] - nxt >= margin and not s.mobile:
        return nxt
    if span:
        fails.append(Failure("closing_soon", f"closes within {s.last_arrival_minutes} minutes of arrival"))
    else:
        fails.append(Failure("closed", "closed on arrival and does not open within the timeframe"))
    return None


def _item(s: Service, t: TravelLike, ctx: _Context, *, rank: int | None, cap: str, cap_age: float | None,
          opens_at: datetime | None, flags: Sequence[str] = ()) -> dict[str, Any]:
    """One offered service as the API shows it."""
    flags = list(flags)
    if cap == "red":
        flags.append("capacity_red")
    elif cap == "unknown" and rank is not None:
        flags.append("capacity_unknown")
    if rank is not None:
        due = s.verification_due()
        if due and due < ctx.today:
            flags.append("verification_overdue")
        if opens_at:
            flags.append("opens_later")
        if s.referral_only:
            flags.append("referral_only")
    open_span = s.opening.open_span(ctx.at)
    professional = rank is not None and ctx.route != "walk_in" and s.phone_professional
    return {
        "id": s.id, "name": s.name, "type": s.type, "type_label": SERVICE_TYPES[s.type],
        "provider": s.provider, "address": s.address, "postcode": s.postcode, "lat": s.lat, "lon": s.lon,
        "phone": s.phone_professional if professional else s.phone_public,
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


def _hold_back_red(candidates: list[tuple[tuple, "_Candidate"]], excluded: list[dict[str, Any]],
                   gaps: list[tuple[str, str, str]]) -> list[tuple[tuple, "_Candidate"]]:
    """Red capacity is offered only when nothing else fits."""
    non_red = [c for c in candidates if not c[0][0]]
    if not non_red:
        return candidates
    for key, item in candidates:
        if key[0]:
            excluded.append({"id": item["id"], "name": item["name"], "rule": "capacity_red",
                             "reason": "capacity red: offered only when nothing else fits",
                             "reasons": ["capacity red"]})
            gaps.append((item["id"], "capacity_red", "capacity red"))
    return non_red


def _apply_limits(candidates: list[tuple[tuple, "_Candidate"]], excluded: list[dict[str, Any]], *,
                  limit: int, per_type: int) -> list["_Candidate"]:
    """The best `limit`, at most `per_type` of each type; fitting services left out only by the counts
    are still accounted for in `excluded`."""
    chosen: list[_Candidate] = []
    counts: dict[str, int] = {}
    for _, item in candidates:
        if len(chosen) >= limit:
            excluded.append({"id": item["id"], "name": item["name"], "rule": "result_limit",
                             "reason": f"fits, but {limit} better-ranked options were found first",
                             "reasons": ["result limit"], "fits": True})
        elif counts.get(item["type"], 0) >= per_type:
            excluded.append({"id": item["id"], "name": item["name"], "rule": "per_type_limit",
                             "reason": f"fits, but {per_type} nearer services of this type are offered",
                             "reasons": ["per-type limit"], "fits": True})
        else:
            counts[item["type"]] = counts.get(item["type"], 0) + 1
            chosen.append(item)
    return chosen


def _keep_conveyance(chosen: list["_Candidate"], candidates: list[tuple[tuple, "_Candidate"]],
                     excluded: list[dict[str, Any]], *, limit: int) -> None:
    """An ambulance disposition always keeps a conveyance option beside any see-and-treat ones."""
    if not chosen or any(c["type"] == "emergency_department" for c in chosen):
        return
    ed = next((item for _, item in candidates if item["type"] == "emergency_department"), None)
    if ed is None:
        return
    if len(chosen) >= limit:
        dropped = chosen.pop()
        excluded.append({"id": dropped["id"], "name": dropped["name"], "rule": "result_limit",
                         "reason": "fits, but the nearest emergency department is kept for conveyance",
                         "reasons": ["result limit"], "fits": True})
    excluded[:] = [e for e in excluded if e["id"] != ed["id"]]
    chosen.append(ed)


def _escalate(result: SearchResult, services: Sequence[Service], ctx: _Context,
              travel: Mapping[str, TravelLike]) -> None:
    """Nothing fits: say so and fall back to the two nearest open emergency departments."""
    need = ctx.need
    result.catch_all = True
    result.escalation = (f"No {need.label or need.code} option fits within the timeframe: "
                         "catch-all to the two nearest emergency departments by road")
    if need.cls in ("falls_response", "urgent_community_response"):
        result.notes.append("No community response team is available: request an ambulance response instead.")
    result.services = _catch_all(services, ctx, travel)


def _catch_all(services: Sequence[Service], ctx: _Context, travel: Mapping[str, TravelLike]) -> list[dict[str, Any]]:
    """The two nearest open emergency departments by road, whatever their capacity (a capacity report
    older than the options' `capacity_stale_after` shows as unknown, as everywhere else)."""
    eds = []
    for s in services:
        t = travel.get(s.id)
        if s.type != "emergency_department" or t is None or s.status_at(ctx.today) != "active":
            continue
        if not s.opening.open_span(ctx.at + timedelta(minutes=t.minutes)):
            continue
        eds.append((t.minutes, s, t))
    eds.sort(key=lambda e: e[0])
    out = []
    for _, s, t in eds[:2]:
        cap, cap_age = s.capacity.effective(ctx.at, stale_after=ctx.options.capacity_stale_after)
        out.append(_item(s, t, ctx, rank=None, cap=cap, cap_age=cap_age, opens_at=None, flags=["catch_all"]))
    return out
