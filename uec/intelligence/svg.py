"""Server-rendered SVG charts and the LSOA choropleth (no script, nothing from the internet)."""
from __future__ import annotations

from html import escape
from typing import Any, Sequence

PALETTE = ("#005eb8", "#330072", "#007f3b", "#ffb81c", "#d5281b", "#00a499", "#768692", "#ae2573")


def _num(v: Any) -> float:
    try:
        return float(v or 0)
    except (TypeError, ValueError):
        return 0.0


def bar_chart(labels: Sequence[str], values: Sequence[Any], *, title: str, horizontal: bool = True,
              width: int = 760) -> str:
    """A labelled bar chart; horizontal bars for categories, vertical for days and hours."""
    vals = [_num(v) for v in values]
    top = max(vals, default=0) or 1
    esc_title = escape(title)
    if not labels:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="60" role="img" aria-label="{esc_title}">'
                f'<title>{esc_title}</title><text x="10" y="35" font-family="Arial" font-size="14">'
                'No data in this period</text></svg>')
    parts = []
    if horizontal:
        row, left, right = 24, 260, 80
        height = 30 + row * len(labels)
        scale = (width - left - right) / top
        for i, (lab, v) in enumerate(zip(labels, vals)):
            y = 20 + i * row
            w = max(v * scale, 0)
            parts.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" font-size="12">{escape(str(lab))[:40]}</text>'
                         f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" fill="{PALETTE[0]}">'
                         f'<title>{escape(str(lab))}: {v:g}</title></rect>'
                         f'<text x="{left + w + 4:.1f}" y="{y + 15}" font-size="12">{v:g}</text>')
    else:
        height, bottom, left = 240, 50, 50
        n = len(labels)
        bw = (width - left - 10) / n
        scale = (height - bottom - 20) / top
        step = max(1, n // 16)
        parts.append(f'<text x="{left - 6}" y="24" text-anchor="end" font-size="11">{top:g}</text>'
                     f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#425563"/>')
        for i, (lab, v) in enumerate(zip(labels, vals)):
            x = left + i * bw
            h = v * scale
            parts.append(f'<rect x="{x + 1:.1f}" y="{height - bottom - h:.1f}" width="{max(bw - 2, 1):.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[0]}"><title>{escape(str(lab))}: {v:g}</title></rect>')
            if i % step == 0:
                parts.append(f'<text x="{x + bw / 2:.1f}" y="{height - bottom + 14}" font-size="10" text-anchor="end" '
                             f'transform="rotate(-45 {x + bw / 2:.1f} {height - bottom + 14})">{escape(str(lab))}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{esc_title}" font-family="Arial, sans-serif"><title>{esc_title}</title>'
            + "".join(parts) + "</svg>")


#: minutes bands of the coverage map, with their colours (light = near)
BANDS = ((15, "#d8f3dc"), (30, "#95d5b2"), (45, "#52b788"), (60, "#2d6a4f"), (float("inf"), "#081c15"))
UNREACHABLE = "#d5281b"


def band_colour(minutes: float | None) -> str:
    if minutes is None:
        return UNREACHABLE
    for limit, colour in BANDS:
        if minutes <= limit:
            return colour
    return BANDS[-1][1]


class Projection:
    """Longitude/latitude to SVG pixels for a bounding box (equirectangular, scaled by latitude)."""

    def __init__(self, bounds: tuple[float, float, float, float], width: int = 640):
        import math
        self.min_lon, self.min_lat, self.max_lon, self.max_lat = bounds
        self.kx = math.cos(math.radians((self.min_lat + self.max_lat) / 2))
        self.width = width
        self.sx = width / ((self.max_lon - self.min_lon) * self.kx)
        self.height = int((self.max_lat - self.min_lat) * self.sx) + 1

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.min_lon) * self.kx * self.sx, (self.max_lat - lat) * self.sx

    def path(self, geom: Any) -> str:
        """An SVG path for a (multi)polygon, holes included."""
        def ring(coords) -> str:
            return "M" + "L".join("%.1f,%.1f" % self.xy(x, y) for x, y in coords) + "Z"
        polys = getattr(geom, "geoms", [geom])
        return "".join(ring(p.exterior.coords) + "".join(ring(i.coords) for i in p.interiors) for p in polys)


def choropleth(paths: Sequence[str], codes: Sequence[str], minutes: Sequence[float | None], *,
               projection: Projection, title: str, sites: Sequence[tuple[float, float, str]] = ()) -> str:
    """LSOAs (pre-projected paths) coloured by road minutes to the nearest open service; open sites as dots."""
    width, height = projection.width, projection.height
    parts = []
    for d, code, m in zip(paths, codes, minutes):
        label = "no open service reachable" if m is None else f"{m:.0f} min"
        parts.append(f'<path d="{d}" fill="{band_colour(m)}" fill-rule="evenodd" stroke="#ffffff" stroke-width="0.3" '
                     f'data-lsoa="{code}" data-minutes="{"" if m is None else round(m, 1)}"><title>{code}: {label}</title></path>')
    for lat, lon, name in sites:
        x, y = projection.xy(lon, lat)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#ffeb3b" stroke="#212b32" stroke-width="1.2" class="site">'
                     f'<title>{escape(name)}</title></circle>')
    legend = []
    prev = 0
    for i, (limit, colour) in enumerate(BANDS):
        label = f"{prev}-{limit:g} min" if limit != float("inf") else f"over {prev} min"
        legend.append(f'<rect x="10" y="{10 + i * 20}" width="16" height="14" fill="{colour}" stroke="#425563"/>'
                      f'<text x="32" y="{21 + i * 20}" font-size="12">{label}</text>')
        prev = int(limit) if limit != float("inf") else prev
    legend.append(f'<rect x="10" y="{10 + len(BANDS) * 20}" width="16" height="14" fill="{UNREACHABLE}"/>'
                  f'<text x="32" y="{21 + len(BANDS) * 20}" font-size="12">none open/reachable</text>'
                  f'<circle cx="18" cy="{17 + (len(BANDS) + 1) * 20}" r="4" fill="#ffeb3b" stroke="#212b32"/>'
                  f'<text x="32" y="{21 + (len(BANDS) + 1) * 20}" font-size="12">open site</text>')
    esc = escape(title)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{esc}" font-family="Arial, sans-serif"><title>{esc}</title>'
            + "".join(parts) + '<g class="legend"><rect x="4" y="4" width="150" height="'
            + str(18 + (len(BANDS) + 2) * 20) + '" fill="#ffffff" opacity="0.85"/>' + "".join(legend) + "</g></svg>")
