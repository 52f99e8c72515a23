"""Server-rendered SVG charts: no script, no external asset, readable offline and on a phone.

The SVG scales with its container (viewBox, width 100 %). Every text in it is
escaped here, because the result is inserted into the page as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from markupsafe import Markup

PARIS = ZoneInfo("Europe/Paris")
WIDTH, HEIGHT = 720, 260  # viewBox units
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 14, 30  # margins for the axes' labels


@dataclass(frozen=True)
class Line:
    """A horizontal threshold (minimum, desirable) with its legend."""

    value: float
    label: str
    css_class: str


@dataclass(frozen=True)
class Series:
    points: Sequence[tuple[datetime, float]]
    label: str
    css_class: str


def _nice_max(value: float) -> float:
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return float(step)
    return float(int(value * 1.1) + 1)


def time_chart(
    series: Sequence[Series],
    lines: Sequence[Line],
    *,
    start: datetime,
    end: datetime,
    unit: str,
    title: str,
) -> Markup:
    """A line chart of `series` over [start, end] with dashed threshold `lines`."""
    top_value = max(
        [v for s in series for _, v in s.points] + [line.value for line in lines] + [1.0]
    )
    y_max = _nice_max(top_value * 1.08)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = max((end - start).total_seconds(), 1.0)

    def x(when: datetime) -> float:
        return LEFT + plot_w * min(max((when - start).total_seconds() / span, 0.0), 1.0)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - min(value, y_max) / y_max)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        value = y_max * i / 4
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" '
            f'y2="{y(value):.1f}"/><text class="tick" x="{LEFT - 4}" y="{y(value) + 4:.1f}" '
            f'text-anchor="end">{value:g}</text>'
        )
    day = start.astimezone(PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
    step = timedelta(days=max(1, round(span / 86400 / 6)))
    day += timedelta(days=1)
    while day < end:
        parts.append(
            f'<text class="tick" x="{x(day):.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
            f"{day:%d/%m}</text>"
        )
        day += step
    for line in lines:
        parts.append(
            f'<line class="{line.css_class}" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y(line.value):.1f}" y2="{y(line.value):.1f}"/>'
            f'<text class="{line.css_class}-label" x="{WIDTH - RIGHT - 4}" '
            f'y="{y(line.value) - 4:.1f}" text-anchor="end">{escape(line.label)} '
            f"{line.value:g} {escape(unit)}</text>"
        )
    for s in series:
        if not s.points:
            continue
        coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in s.points)
        parts.append(f'<polyline class="{s.css_class}" points="{coords}"/>')
        if len(s.points) == 1:
            t, v = s.points[0]
            parts.append(f'<circle class="{s.css_class}" cx="{x(t):.1f}" cy="{y(v):.1f}" r="3"/>')
    legend_x = LEFT + 6
    for s in series:
        parts.append(
            f'<text class="{s.css_class}-label" x="{legend_x}" y="{TOP + 12}">'
            f"{escape(s.label)}</text>"
        )
        legend_x += 12 + 7 * len(s.label)
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" '
        f'y2="{HEIGHT - BOTTOM}"/></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped above
