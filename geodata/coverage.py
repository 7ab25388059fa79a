"""Population coverage: what share of people (and of the most deprived fifth) reach care within N minutes."""

from __future__ import annotations

import math
from typing import Callable, Iterable, Sequence

from geodata.areas import PLACES, Areas, LsoaRow

__all__ = ["DEPRIVED_RANK_MAX", "IMD_LSOAS", "coverage"]

#: LSOAs ranked in England by IoD 2019 (1 = most deprived)
IMD_LSOAS = 32_844
#: the most deprived national quintile: ranks 1..6569
DEPRIVED_RANK_MAX = 6_569


def _empty(thresholds: Sequence[float]) -> dict:
    return {"population": 0.0, "deprived_population": 0.0, "unreachable": 0.0, "deprived_unreachable": 0.0,
            "_within": {t: [0.0, 0.0] for t in thresholds}, "lsoas": 0}


def coverage(
    minutes_to_nearest: Callable[[float, float], float | None],
    *,
    thresholds: Iterable[float] = (15, 30, 45, 60),
    lsoas: Sequence[LsoaRow] | None = None,
    deprived_rank_max: int = DEPRIVED_RANK_MAX,
) -> dict:
    """Share of population within each threshold of minutes, overall and per place.

    ``minutes_to_nearest(lat, lon)`` is called once per LSOA population-weighted centroid and returns the
    travel time in minutes to the nearest suitable service, or None when none can be reached. People in an
    LSOA count as reaching a service within T minutes when its centroid does. "Deprived" means the LSOA is
    in the most deprived national fifth by IoD 2019 income rank (rank <= ``deprived_rank_max``, by default
    6,569 of England's 32,844; note the embedded ranks run to 34,675, see docs/geography.md).

    Returns ``{"thresholds": [...], "overall": {...}, "places": {place: {...}}}`` where each summary has
    ``population``, ``deprived_population``, ``within`` (threshold -> {"share", "deprived_share",
    "population", "deprived_population"}), ``unreachable_share`` and ``lsoas``.
    """
    ts = sorted({float(t) for t in thresholds})
    if not ts or any(not math.isfinite(t) or t < 0 for t in ts):
        raise ValueError("thresholds must be non-negative numbers of minutes, e.g. (15, 30, 45, 60)")
    rows = list(lsoas) if lsoas is not None else Areas.default().lsoas()
    acc = {"overall": _empty(ts), **{p: _empty(ts) for p in PLACES}}
    for r in rows:
        minutes = minutes_to_nearest(r.lat, r.lon)
        if minutes is not None and (not isinstance(minutes, (int, float)) or math.isnan(minutes) or minutes < 0):
            raise ValueError(f"minutes_to_nearest returned {minutes!r} for LSOA {r.code}; expected minutes >= 0 or None")
        deprived = r.imd_income_rank <= deprived_rank_max
        for key in ("overall", r.place):
            if key not in acc:
                acc[key] = _empty(ts)
            a = acc[key]
            a["lsoas"] += 1
            a["population"] += r.population
            if deprived:
                a["deprived_population"] += r.population
            if minutes is None or math.isinf(minutes):
                a["unreachable"] += r.population
                if deprived:
                    a["deprived_unreachable"] += r.population
                continue
            for t in ts:
                if minutes <= t:
                    a["_within"][t][0] += r.population
                    if deprived:
                        a["_within"][t][1] += r.population

    def finish(a: dict) -> dict:
        pop, dep = a["population"], a["deprived_population"]
        return {
            "lsoas": a["lsoas"],
            "population": round(pop),
            "deprived_population": round(dep),
            "within": {
                _label(t): {
                    "population": round(w[0]),
                    "share": round(w[0] / pop, 4) if pop else None,
                    "deprived_population": round(w[1]),
                    "deprived_share": round(w[1] / dep, 4) if dep else None,
                }
                for t, w in a["_within"].items()
            },
            "unreachable_share": round(a["unreachable"] / pop, 4) if pop else None,
            "deprived_unreachable_share": round(a["deprived_unreachable"] / dep, 4) if dep else None,
        }

    return {
        "thresholds": [_label(t) for t in ts],
        "deprived_rank_max": deprived_rank_max,
        "overall": finish(acc["overall"]),
        "places": {k: finish(v) for k, v in acc.items() if k != "overall" and k},
    }


def _label(t: float) -> int | float:
    return int(t) if float(t).is_integer() else t
