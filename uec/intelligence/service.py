"""The intelligence application service: what the web pages and the JSON API call (knows no HTTP)."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, Mapping

from directory.model import SERVICE_TYPES
from directory.opening import DAYS, LONDON, is_bank_holiday
from uec.intelligence import coverage as cov
from uec.intelligence.figures import Figure, Figures, Filters
from uec.intelligence.svg import bar_chart


class Intelligence:
    """Dashboard figures, the coverage map and what-if scenarios over one UrgentCare service."""

    def __init__(self, care: Any):
        self.care = care
        self.figures = Figures(care.store.engine, lambda: care.snapshot().services)

    @staticmethod
    def filters(args: Mapping[str, Any]) -> Filters:
        return Filters.parse(args)

    @staticmethod
    def chart(fig: Figure) -> str:
        labels = [" / ".join(str(c) for c in r[:fig.value_col]) for r in fig.rows]
        return bar_chart(labels, [r[fig.value_col] for r in fig.rows], title=fig.title,
                         horizontal=fig.chart != "vbar")

    @staticmethod
    def next_weekday(day: str, clock: time, *, today=None) -> datetime:
        """The next such weekday (not a bank holiday) at that UK local time."""
        d = today or datetime.now(LONDON).date()
        while DAYS[d.weekday()] != day or is_bank_holiday(d):
            d += timedelta(days=1)
        return datetime.combine(d, clock, tzinfo=LONDON)

    def coverage_map(self, service_type: str, at: datetime, place: str | None) -> tuple[dict[str, Any], str]:
        """(coverage figures, the SVG choropleth) of road minutes to the nearest open service of a type."""
        codes, minutes, snap = cov.minutes_now(self.care, service_type, at)
        figures = cov.figures(codes, minutes)
        sites = [(s.lat, s.lon, s.name) for s in snap.services
                 if s.type == service_type and not s.remote and s.status_at(at.date()) == "active"
                 and (s.opening.always or s.opening.is_open(at))]
        label = at.strftime("%A %H:%M")
        svg = cov.map_svg(codes, minutes, place=place,
                          title=f"Road minutes to the nearest open {SERVICE_TYPES[service_type]}, {label}"
                                + (f", {place}" if place else ""), sites=sites)
        return figures, svg

    # -- what-if --------------------------------------------------------------------------
    def whatif(self, body: Any) -> dict[str, Any]:
        from uec.intelligence import whatif
        return whatif.run(self.care, body)

    def save_whatif(self, name: Any, spec: Mapping[str, Any], result: Mapping[str, Any], *, user: Any) -> int:
        """Save (or replace) a named scenario and its result, to share, through the directory's one write
        path (permission, a name checked against its column, an audit entry); the live directory is untouched."""
        return self.care.directory.save_whatif(name, spec, result, user=user)

    def saved_whatifs(self) -> list[dict[str, Any]]:
        return self.care.store.whatifs()
