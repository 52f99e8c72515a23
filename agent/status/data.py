"""What each page shows, gathered once per request from settings, store and runtime.

Pages and the JSON API read the same views, so the numbers on screen and in
`/api/v1/status` cannot disagree. Views hold plain values (UTC datetimes, floats, None
for unknown); formatting belongs to the templates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent.assess_inputs import window_verdict
from agent.bandwidth import Thresholds, school_thresholds
from agent.config import AgentSettings
from agent.state import StateStore
from agent.status.bandwidth import Judgement, Point, number, to_point
from agent.status.redact import Redactor
from agent.status.runtime import RuntimeInfo, SpoolStats

CHART_DAYS = 30  # the overview chart's span (issue 7)
SKEW_WARNING_S = 60.0  # beyond a minute, signatures and schedules start to go wrong
LevelsFor = Callable[[AgentSettings], Thresholds]


@dataclass(frozen=True)
class Sources:
    """Everything a request reads; settings are a callable so a SIGHUP reload shows up."""

    settings: Callable[[], AgentSettings]
    store: StateStore
    runtime: Callable[[], RuntimeInfo]
    levels_for: LevelsFor

    def levels(self, settings: AgentSettings) -> Thresholds:
        return self.levels_for(settings)


def default_levels(settings: AgentSettings) -> Thresholds:
    """The school's levels from its referential (built-in or the municipality's)."""
    return school_thresholds(settings)


@dataclass(frozen=True)
class Latency:
    at: datetime
    idle_rtt_ms: float | None
    loaded_rtt_ms: float | None


@dataclass(frozen=True)
class BandwidthView:
    levels: Thresholds
    points: list[Point]
    judgement: Judgement
    window_days: int
    latest: Point | None  # the last test that measured something (failed ones are runs)
    latency: Latency | None


def bandwidth_view(sources: Sources, settings: AgentSettings, now: datetime) -> BandwidthView:
    store = sources.store
    rows = store.timed_measurements("throughput", now - timedelta(days=CHART_DAYS))
    points = [to_point(at, record) for at, _ok, record in rows]
    window = settings.measurement.window_days
    levels = sources.levels(settings)
    latency_rows = store.timed_measurements("latency", now - timedelta(days=1))
    latency = None
    if latency_rows:
        at, _ok, record = latency_rows[-1]
        latency = Latency(at, number(record, "idle_rtt_ms"), number(record, "loaded_rtt_ms"))
    return BandwidthView(
        levels=levels,
        points=points,
        judgement=Judgement.of(window_verdict(settings, store, now, levels)),
        window_days=window,
        latest=next((p for p in reversed(points) if p.judged_down_mbps is not None), None),
        latency=latency,
    )


@dataclass(frozen=True)
class RunRow:
    job: str
    last_started: datetime | None
    last_ok: bool | None
    last_summary: str
    last_error: str
    next_at: datetime | None


def runs_view(sources: Sources, runtime: RuntimeInfo, redactor: Redactor) -> list[RunRow]:
    last = sources.store.last_runs()
    rows: list[RunRow] = []
    for job in sorted(set(last) | set(runtime.next_runs)):
        run = last.get(job)
        rows.append(
            RunRow(
                job=job,
                last_started=run.started_at if run else None,
                last_ok=run.ok if run else None,
                last_summary=redactor.text(run.summary) if run else "",
                last_error=redactor.text(run.error) if run else "",
                next_at=runtime.next_runs.get(job),
            )
        )
    return rows


@dataclass(frozen=True)
class CollectorView:
    url: str
    spool: SpoolStats
    last_error: str
    skew_warning: bool


def collector_view(
    settings: AgentSettings, runtime: RuntimeInfo, redactor: Redactor
) -> CollectorView:
    skew = runtime.spool.clock_skew_s
    return CollectorView(
        url=redactor.text(settings.collector.url),
        spool=runtime.spool,
        last_error=redactor.text(runtime.spool.last_error),
        skew_warning=skew is not None and abs(skew) > SKEW_WARNING_S,
    )


def assessment_summary(assessment: dict[str, Any] | None) -> dict[str, Any] | None:
    """`{met, judged, gaps, assessed_at}` from the latest assessment, whatever its shape."""
    if not isinstance(assessment, dict):
        return None
    summary = assessment.get("summary")
    summary = summary if isinstance(summary, dict) else {}
    gaps = summary.get("gaps")
    return {
        "met": _int(summary.get("met")),
        "judged": _int(summary.get("judged")),
        "gaps": len(gaps) if isinstance(gaps, list) else _int(gaps),
        "assessed_at": assessment.get("assessed_at") or assessment.get("computed_at"),
    }


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
