"""Bandwidth verdicts against the socle thresholds, per test and over a rolling window.

The socle says "8 Mbit/s" for a small school: that is a sold line rate, and a perfect
8 Mbit/s line delivers ~7.65 Mbit/s of TCP goodput. Verdicts therefore compare the
*estimated line rate* (goodput × 1514/1448, see `probes.throughput_model`) by default
and say so in `basis`; comparing raw goodput would fail every line sold at exactly the
minimum. One test can be unlucky, so the school's standing is the median over a
rolling window (7 days by default), with the number of tests behind it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.config import AgentSettings, SchoolSize
from agent.referential import Referential, load_referential
from probes.throughput_model import ThroughputResult

Basis = Literal["line_rate", "goodput"]
Level = Literal["below_minimum", "minimum", "desirable", "unknown"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Thresholds(Frozen):
    """Mbit/s for one school size; build from the referential when it overrides them."""

    size: SchoolSize
    minimum_down_mbps: float = Field(gt=0)
    desirable_down_mbps: float = Field(gt=0)
    desirable_up_mbps: float = Field(gt=0)
    min_tests: int = Field(1, ge=1, description="fewer tests in the window: no verdict")


def thresholds_from(referential: Referential, size: SchoolSize) -> Thresholds:
    """The referential (config/socle.toml, or a municipality's own) is the only source."""
    internet = referential.internet
    desirable = internet.desirable.for_size(size)
    return Thresholds(
        size=size,
        minimum_down_mbps=internet.minimum_down_mbps.for_size(size),
        desirable_down_mbps=desirable.down_mbps,
        desirable_up_mbps=desirable.up_mbps,
        min_tests=internet.min_tests,
    )


@cache
def _referential(path: Path | None) -> Referential:
    return load_referential(path)


def thresholds_for(size: SchoolSize, referential: Referential | None = None) -> Thresholds:
    """Socle numérique de base, II.6: minimum down, desirable down/up (Mbit/s) for a size."""
    return thresholds_from(referential or _referential(None), size)


def school_thresholds(settings: AgentSettings) -> Thresholds:
    """This school's levels: its size, judged by its referential (builtin or municipal)."""
    return thresholds_from(_referential(settings.paths.referential), settings.school.effective_size)


class Verdict(Frozen):
    """Where the link stands, on which figures, from how many tests."""

    level: Level
    basis: Basis
    down_mbps: float | None
    up_mbps: float | None
    thresholds: Thresholds
    meets_minimum: bool | None
    meets_desirable: bool | None
    tests: int = Field(ge=0)
    window_days: int | None = None
    reason: str


def _figures(result: ThroughputResult, basis: Basis) -> tuple[float | None, float | None]:
    if basis == "line_rate":
        return result.line_rate_down_mbps, result.line_rate_up_mbps
    return result.goodput_down_mbps, result.goodput_up_mbps


def judge(
    down_mbps: float | None,
    up_mbps: float | None,
    thresholds: Thresholds,
    *,
    basis: Basis = "line_rate",
    tests: int = 1,
    window_days: int | None = None,
) -> Verdict:
    """Compares figures with thresholds; desirable needs both directions known."""
    level, meets_minimum, meets_desirable, reason = _classify(down_mbps, up_mbps, thresholds, basis)
    return Verdict(
        level=level,
        basis=basis,
        down_mbps=None if down_mbps is None else round(down_mbps, 3),
        up_mbps=None if up_mbps is None else round(up_mbps, 3),
        thresholds=thresholds,
        meets_minimum=meets_minimum,
        meets_desirable=meets_desirable,
        tests=tests,
        window_days=window_days,
        reason=reason,
    )


def _classify(
    down: float | None, up: float | None, t: Thresholds, basis: Basis
) -> tuple[Level, bool | None, bool | None, str]:
    what = "line rate" if basis == "line_rate" else "goodput"
    if down is None:
        return "unknown", None, None, "no download figure"
    meets_minimum = down >= t.minimum_down_mbps
    meets_desirable = None
    if up is not None:
        meets_desirable = down >= t.desirable_down_mbps and up >= t.desirable_up_mbps
    school = f" for a {t.size} school"
    if not meets_minimum:
        reason = f"down {down:.2f} Mbit/s ({what}) < minimum {t.minimum_down_mbps:g}{school}"
        return "below_minimum", False, meets_desirable, reason
    if meets_desirable:
        reason = (
            f"down {down:.2f} ≥ {t.desirable_down_mbps:g} and up {up:.2f} "
            f"≥ {t.desirable_up_mbps:g} Mbit/s ({what}){school}"
        )
        return "desirable", True, True, reason
    reason = f"down {down:.2f} Mbit/s ({what}) ≥ minimum {t.minimum_down_mbps:g}{school}"
    if meets_desirable is None:
        reason += "; upload unknown, desirable level not assessed"
    else:
        reason += f"; below desirable {t.desirable_down_mbps:g}/{t.desirable_up_mbps:g}"
    return "minimum", True, meets_desirable, reason


def verdict_for_test(
    result: ThroughputResult, thresholds: Thresholds, basis: Basis = "line_rate"
) -> Verdict:
    """One test's verdict; a failed or cut-short test is "unknown", never a fail."""
    if not result.ok:
        return judge(None, None, thresholds, basis=basis, tests=0).model_copy(
            update={"reason": f"no measurement: {result.reason or result.cut_short}"}
        )
    down, up = _figures(result, basis)
    return judge(down, up, thresholds, basis=basis)


def rolling_verdict(
    results: Iterable[ThroughputResult],
    now: datetime,
    thresholds: Thresholds,
    *,
    window_days: int = 7,
    basis: Basis = "line_rate",
    min_tests: int | None = None,
) -> Verdict:
    """Median of each direction over successful tests started in the last `window_days`.

    With fewer tests than the referential asks for (`thresholds.min_tests` unless
    `min_tests` is given) the level is "unknown" but the medians are still reported:
    the status page, the snapshot and the assessment all say "2 tests out of 3
    needed" rather than pretending nothing was measured.
    """
    needed = thresholds.min_tests if min_tests is None else min_tests
    since = now - timedelta(days=window_days)
    kept = [r for r in results if r.ok and since < r.started_at <= now]
    downs = [d for d in (_figures(r, basis)[0] for r in kept) if d is not None]
    ups = [u for u in (_figures(r, basis)[1] for r in kept) if u is not None]
    down = statistics.median(downs) if downs else None
    up = statistics.median(ups) if ups else None
    if len(downs) < needed:
        verdict = judge(None, None, thresholds, basis=basis, tests=len(downs))
        return verdict.model_copy(
            update={
                "down_mbps": None if down is None else round(down, 3),
                "up_mbps": None if up is None else round(up, 3),
                "window_days": window_days,
                "reason": f"{len(downs)} test(s) in {window_days} days; {needed} needed",
            }
        )
    return judge(down, up, thresholds, basis=basis, tests=len(downs), window_days=window_days)
