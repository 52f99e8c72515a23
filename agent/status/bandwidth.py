"""Bandwidth as the status page judges it: thresholds for the school's size, points, verdict.

Records come from whichever measurer the daemon ran, so every key is read defensively: a
missing or non-numeric value is "unknown", never a crash. The verdict compares the median
over the measurement window (one slow evening must not fail a school) against the line
rate when the measurer estimated it (the referential speaks of subscribed line speeds),
else the measured goodput.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any, Literal

from agent.config import SchoolSize

Verdict = Literal["desirable", "minimum", "below_minimum", "unknown"]

# Referential defaults (config/socle.toml, DESIGN.md): minimum down; desirable down/up.


@dataclass(frozen=True)
class BandwidthLevels:
    """The two levels for one school; the daemon may build it from a municipality's referential."""

    minimum_down_mbps: float
    desirable_down_mbps: float
    desirable_up_mbps: float

    @classmethod
    def for_size(cls, size: SchoolSize) -> BandwidthLevels:
        from agent.bandwidth import thresholds_for

        levels = thresholds_for(size)
        return cls(levels.minimum_down_mbps, levels.desirable_down_mbps, levels.desirable_up_mbps)


@dataclass(frozen=True)
class Point:
    """One throughput test, reduced to what the page draws and judges."""

    at: datetime
    down_mbps: float | None
    up_mbps: float | None
    line_down_mbps: float | None
    line_up_mbps: float | None
    minimum_met: bool | None
    desirable_met: bool | None

    @property
    def judged_down_mbps(self) -> float | None:
        return self.line_down_mbps if self.line_down_mbps is not None else self.down_mbps

    @property
    def judged_up_mbps(self) -> float | None:
        return self.line_up_mbps if self.line_up_mbps is not None else self.up_mbps


def number(record: dict[str, Any], key: str) -> float | None:
    """A finite, non-negative float from a record, else None."""
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    result = float(value)
    return result if math.isfinite(result) and result >= 0 else None


def flag(record: dict[str, Any], key: str) -> bool | None:
    verdict = record.get("verdict")
    if isinstance(verdict, dict):
        value = verdict.get(key)
        if isinstance(value, bool):
            return value
    return None


def to_point(at: datetime, record: dict[str, Any]) -> Point:
    return Point(
        at=at,
        down_mbps=number(record, "down_mbps"),
        up_mbps=number(record, "up_mbps"),
        line_down_mbps=number(record, "line_down_mbps"),
        line_up_mbps=number(record, "line_up_mbps"),
        minimum_met=flag(record, "minimum_met"),
        desirable_met=flag(record, "desirable_met"),
    )


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    median_down_mbps: float | None
    median_up_mbps: float | None
    tests: int


def judge(points: list[Point], levels: BandwidthLevels) -> Judgement:
    """Median of the window's tests against both levels."""
    downs = [p.judged_down_mbps for p in points if p.judged_down_mbps is not None]
    ups = [p.judged_up_mbps for p in points if p.judged_up_mbps is not None]
    down = median(downs) if downs else None
    up = median(ups) if ups else None
    if down is None:
        verdict: Verdict = "unknown"
    elif down < levels.minimum_down_mbps:
        verdict = "below_minimum"
    elif down >= levels.desirable_down_mbps and up is not None and up >= levels.desirable_up_mbps:
        verdict = "desirable"
    else:
        verdict = "minimum"
    return Judgement(verdict, down, up, len(downs))
