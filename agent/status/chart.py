"""The 30-day throughput chart as inline SVG, drawn on the server.

The box may be offline and the page's CSP forbids scripts, so there is no chart library:
a few polylines and lines in a `viewBox` that scales to a phone's width. Every text that
enters the SVG goes through `html.escape`, so the returned markup is safe to embed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from markupsafe import Markup

from agent.bandwidth import Thresholds
from agent.status.bandwidth import Point

WIDTH, HEIGHT = 640, 260  # viewBox units; the SVG itself is width:100%
LEFT, RIGHT, TOP, BOTTOM = 46, 14, 30, 28  # margins for axis labels and the unit
DOWN_COLOUR = "#1f5fa8"
UP_COLOUR = "#8a4baf"
MINIMUM_COLOUR = "#c0392b"
DESIRABLE_COLOUR = "#1e8449"
GRID_COLOUR = "#dddddd"


@dataclass(frozen=True)
class ChartText:
    """Localised words the chart needs; the caller translates, the chart only escapes."""

    title: str
    minimum: str
    desirable: str
    empty: str
    months: Sequence[str]
    unit: str = "Mbit/s"


TICKS = 5  # horizontal grid lines above zero


def nice_step(value: float) -> float:
    """Round up to 1, 2 or 5 × 10^k so the axis ticks are readable numbers."""
    if value <= 0:
        return 1.0
    power = float(10.0 ** math.floor(math.log10(value)))
    for step in (1, 2, 5):
        if value <= step * power * (1 + 1e-9):
            return float(step * power)
    return 10.0 * power


def nice_ceiling(highest: float) -> float:
    """The axis top: `TICKS` round steps reaching at least `highest`."""
    step = nice_step(highest / TICKS)
    return step * max(1, math.ceil(highest / step - 1e-9))


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


class _Scale:
    def __init__(self, start: datetime, end: datetime, top_mbps: float) -> None:
        self.start = start
        self.span_s = max((end - start).total_seconds(), 1.0)
        self.top = top_mbps

    def x(self, at: datetime) -> float:
        ratio = (at - self.start).total_seconds() / self.span_s
        return LEFT + min(max(ratio, 0.0), 1.0) * (WIDTH - LEFT - RIGHT)

    def y(self, mbps: float) -> float:
        ratio = min(mbps / self.top, 1.0)
        return TOP + (1.0 - ratio) * (HEIGHT - TOP - BOTTOM)


def _grid(scale: _Scale, text: ChartText, end: datetime, tz: ZoneInfo) -> list[str]:
    parts: list[str] = []
    step = nice_step(scale.top / TICKS)
    for index in range(round(scale.top / step) + 1):
        value = step * index
        y = scale.y(value)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}"'
            f' stroke="{GRID_COLOUR}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11"'
            f' fill="#555">{escape(_fmt(value))}</text>'
        )
    parts.append(
        f'<text x="{LEFT + 4}" y="{TOP - 8}" text-anchor="start" font-size="11"'
        f' fill="#555">{escape(text.unit)}</text>'
    )
    day = end
    for week in range(5):
        x = scale.x(day)
        local = day.astimezone(tz)
        label = f"{local.day} {text.months[local.month - 1]}"
        anchor = "end" if week == 0 else "middle"  # today's label must not leave the plot
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}"'
            f' stroke="{GRID_COLOUR}" stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" font-size="11"'
            f' fill="#555">{escape(label)}</text>'
        )
        day -= timedelta(days=7)
    return parts


def _threshold(scale: _Scale, mbps: float, label: str, colour: str) -> str:
    y = scale.y(mbps)
    return (
        f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{colour}"'
        f' stroke-width="1.5" stroke-dasharray="6 4"/>'
        f'<text x="{WIDTH - RIGHT - 4}" y="{y - 4:.1f}" text-anchor="end" font-size="11"'
        f' fill="{colour}" stroke="#fff" stroke-width="3" paint-order="stroke">'
        f"{escape(f'{label} {_fmt(mbps)}')}</text>"
    )


def _series(scale: _Scale, values: list[tuple[datetime, float]], colour: str) -> list[str]:
    if not values:
        return []
    coords = [(scale.x(at), scale.y(mbps)) for at, mbps in values]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts = [
        f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"'
        f' stroke-linejoin="round"/>'
    ]
    parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>' for x, y in coords]
    return parts


def throughput_chart(
    points: Sequence[Point],
    levels: Thresholds,
    end: datetime,
    text: ChartText,
    tz: ZoneInfo,
    days: int = 30,
) -> Markup:
    """Down and up per test over `days`, with the minimum and desirable download lines."""
    start = end - timedelta(days=days)
    shown = [p for p in points if start <= p.at <= end]
    downs = [(p.at, v) for p in shown if (v := p.judged_down_mbps) is not None]
    ups = [(p.at, v) for p in shown if (v := p.judged_up_mbps) is not None]
    highest = max([v for _, v in downs + ups] + [levels.desirable_down_mbps])
    scale = _Scale(start, end, nice_ceiling(highest * 1.08))
    parts = _grid(scale, text, end, tz)
    parts += _series(scale, ups, UP_COLOUR)
    parts += _series(scale, downs, DOWN_COLOUR)
    parts.append(_threshold(scale, levels.minimum_down_mbps, text.minimum, MINIMUM_COLOUR))
    parts.append(_threshold(scale, levels.desirable_down_mbps, text.desirable, DESIRABLE_COLOUR))
    if not downs:
        parts.append(
            f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT / 2}" text-anchor="middle"'
            f' font-size="14" fill="#555">{escape(text.empty)}</text>'
        )
    body = "".join(parts)
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-label="{escape(text.title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(text.title)}</title>{body}</svg>"
    )
    return Markup(svg)  # noqa: S704 - every interpolated text above is escaped
