"""Bandwidth as the status page shows it: the points it draws and the verdict it prints.

The verdict is not judged here: it is `agent.bandwidth.rolling_verdict` over the stored
results, the very verdict the snapshot carries and the assessment uses, so the page,
the collector and the checklist cannot disagree. Points for the chart come from the
flat figures of each stored record, read defensively: a missing or non-numeric value
is "unknown", never a crash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from agent.bandwidth import Verdict

Level = Literal["desirable", "minimum", "below_minimum", "unknown"]


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
    """The window's verdict in the page's terms (and the JSON API's keys)."""

    verdict: Level
    median_down_mbps: float | None
    median_up_mbps: float | None
    tests: int
    min_tests: int
    basis: str
    reason: str  # English, for the JSON API and logs; the page words it itself

    @property
    def too_few_tests(self) -> bool:
        """Measured, but not often enough yet for the referential to judge."""
        return self.verdict == "unknown" and 0 < self.tests < self.min_tests

    @classmethod
    def of(cls, verdict: Verdict) -> Judgement:
        return cls(
            verdict=verdict.level,
            median_down_mbps=verdict.down_mbps,
            median_up_mbps=verdict.up_mbps,
            tests=verdict.tests,
            min_tests=verdict.thresholds.min_tests,
            basis=verdict.basis,
            reason=verdict.reason,
        )
