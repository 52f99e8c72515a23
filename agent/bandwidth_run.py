"""A bandwidth test the gentle way: schedule, data budget, busy link, then measure.

Order matters and is cheapest-first: the lesson-hours gate costs nothing, the budget
check a file read, the busy-link check a few seconds of SNMP or RTT. A test that is
not run still yields a `ThroughputResult` with `cut_short` and `postponed_until`, so
the daemon can reschedule and the status page can say why nothing was measured.

`run_throughput_command` is what `socle-agent probe throughput` calls.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from agent.bandwidth import Verdict, school_thresholds, verdict_for_test
from agent.budget import MB, DataBudget
from agent.config import AgentSettings, MeasurementSettings
from agent.lessons import LessonCalendar
from agent.signing import target_auth
from probes.base import utc_now
from probes.http_throughput import IN_FLIGHT_BYTES
from probes.latency import host_port, resolve
from probes.throughput import ThroughputRequest, run_throughput
from probes.throughput_model import (
    Backend,
    CutShort,
    Progress,
    ProgressCallback,
    ThroughputResult,
    failed_result,
    no_progress,
)

if TYPE_CHECKING:  # probes.busy_link loads pysnmp: imported when a busy check runs
    from probes.busy_link import BusyCheck, SnmpGateway

BACKOFF_BASE_S = 600.0  # s; first retry after a busy link: 10 min
BACKOFF_MAX_S = 4 * 3600.0  # s; never wait more than 4 h (lessons end, people leave)
BACKOFF_JITTER = 0.2  # ±20 %, so a fleet does not retry in step
MIN_USEFUL_BYTES = 4 * MB  # below this per direction even an 8 Mbit/s test is meaningless
BUDGET_MARGIN = 0.9  # use at most 90 % of what is left, for the pings and overshoot


def backoff_s(attempt: int, rng: random.Random | None = None) -> float:
    """10 min, 20 min, 40 min … capped at 4 h, ±20 % jitter."""
    base = min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2.0 ** min(max(0, attempt), 32))
    jitter = (rng or random.Random()).uniform(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)
    return base * jitter


class BandwidthReport(BaseModel):
    """What the CLI prints and the daemon stores: the result, its verdict, the context."""

    model_config = ConfigDict(frozen=True)

    result: ThroughputResult
    verdict: Verdict
    busy: str | None = None
    budget_month: str
    budget_used_bytes: int
    budget_limit_bytes: int | None


@dataclass(frozen=True)
class Gentleness:
    """Which gates apply; the CLI may lift the schedule gate for a technician on site."""

    check_schedule: bool = True
    check_busy: bool = True
    gateway: SnmpGateway | None = None
    baseline_ms: float | None = None
    busy_interval_s: float = 3.0
    attempt: int = 0  # how many times this test was already postponed for a busy link


def default_target(measurement: MeasurementSettings, backend: Backend) -> str | None:
    if backend == "http":
        return measurement.http_target
    if backend == "iperf3":
        return measurement.iperf3_server
    if measurement.speedtest_mini_url:
        return measurement.speedtest_mini_url
    if measurement.speedtest_server_id is not None:
        return f"speedtest:{measurement.speedtest_server_id}"
    return None


def _next_month(when: datetime, zone: str) -> datetime:
    local = when.astimezone(ZoneInfo(zone))
    first = local.replace(day=1, hour=0, minute=5, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


async def _busy(request: ThroughputRequest, gentle: Gentleness) -> BusyCheck:
    from probes.busy_link import check_busy

    rtt_target: tuple[str, int] | None = None
    if request.backend == "http":
        where = host_port(request.target)
        try:
            rtt_target = ((await resolve(where.host, where.port))[0], where.port)
        except (OSError, TimeoutError):
            rtt_target = None
    return await check_busy(
        gateway=gentle.gateway,
        rtt_target=rtt_target,
        baseline_ms=gentle.baseline_ms,
        interval_s=gentle.busy_interval_s,
    )


async def measure_bandwidth(
    settings: AgentSettings,
    *,
    backend: Backend | None = None,
    target: str | None = None,
    light: bool = False,
    gentle: Gentleness | None = None,
    progress: ProgressCallback = no_progress,
    now: datetime | None = None,
    speedtest_config_url: str | None = None,
) -> BandwidthReport:
    """Gates, then the test, then the budget update and the verdict."""
    gentle = gentle or Gentleness()
    m = settings.measurement
    now = now or utc_now()
    chosen: Backend = backend or m.backend
    target = target or default_target(m, chosen)
    budget = DataBudget.from_mb(
        settings.paths.state_dir, m.monthly_budget_mb, settings.schedule.timezone
    )
    busy_reason: str | None = None

    def report(result: ThroughputResult) -> BandwidthReport:
        status = budget.status(now)
        return BandwidthReport(
            result=result,
            verdict=verdict_for_test(result, school_thresholds(settings)),
            busy=busy_reason,
            budget_month=status.month,
            budget_used_bytes=status.used_bytes,
            budget_limit_bytes=status.limit_bytes,
        )

    def refused(why: CutShort, reason: str, until: datetime | None) -> BandwidthReport:
        return report(
            failed_result(chosen, target or "", now, reason, cut_short=why, postponed_until=until)
        )

    if gentle.check_schedule and m.only_outside_lessons and not light:
        block = LessonCalendar(settings.schedule).blocked(now)
        if block is not None:
            return refused(
                "lesson_hours", f"saturating test not allowed: {block.reason}", block.until
            )
    cap = None
    if budget.limit is not None and chosen == "http":
        left = budget.limit - budget.used(now)
        cap = (int(left * BUDGET_MARGIN) - 100_000) // 2 - IN_FLIGHT_BYTES
        if cap < MIN_USEFUL_BYTES:
            return refused(
                "budget",
                f"data budget: {max(0, left) / MB:.0f} MB left in {budget.month_of(now)}, too little for a test",
                _next_month(now, settings.schedule.timezone),
            )
    try:
        request = ThroughputRequest.build(
            chosen,
            target,
            max_duration_s=m.max_duration_s,
            max_streams=m.max_streams,
            max_bytes_per_direction=cap,
            light=light,
            speedtest_config_url=speedtest_config_url,
            auth=target_auth(settings.collector.url, target, settings.paths.state_dir),
        )
    except ValueError as exc:
        return refused("error", str(exc), None)
    decision = budget.check(request.worst_case_bytes(), now)
    if not decision.allowed:
        return refused("budget", decision.reason, _next_month(now, settings.schedule.timezone))
    if gentle.check_busy and not light:
        busy = await _busy(request, gentle)
        busy_reason = busy.reason
        if busy.busy:
            until = now + timedelta(seconds=backoff_s(gentle.attempt))
            return refused("busy_link", f"postponed: {busy.reason}", until)
    result = await run_throughput(request, progress)
    budget.record(result.bytes_used, now)
    return report(result)


async def run_throughput_command(
    settings: AgentSettings,
    *,
    backend: Literal["http", "speedtest", "iperf3"] | None = None,
    target: str | None = None,
    progress: ProgressCallback = no_progress,
    check_schedule: bool = False,
    check_busy: bool = True,
) -> BandwidthReport:
    """For `socle-agent probe throughput`: an operator asked, so lesson hours are only
    enforced when `check_schedule` is set; the budget always is."""
    gentle = Gentleness(check_schedule=check_schedule, check_busy=check_busy)
    return await measure_bandwidth(
        settings, backend=backend, target=target, gentle=gentle, progress=progress
    )


def format_progress(item: Progress) -> str:
    """One live line: phase, elapsed, current rate, bytes, streams."""
    if item.phase == "latency":
        return "latency…"
    if item.phase == "done":
        return f"done in {item.elapsed_s:.1f} s, {item.bytes_used / MB:.1f} MB used"
    arrow = "↓ download" if item.phase == "down" else "↑ upload"
    return (
        f"{arrow} {item.elapsed_s:5.1f} s {item.rate_mbps:9.2f} Mbit/s "
        f"{item.bytes_used / MB:8.1f} MB  {item.streams} stream(s)"
    )


def format_report(report: BandwidthReport) -> str:
    """The human summary printed at the end of `socle-agent probe throughput`."""
    r = report.result
    lines = [f"backend {r.backend} → {r.target}"]
    if r.cut_short is not None:
        lines.append(f"not measured ({r.cut_short}): {r.reason}")
        if r.postponed_until is not None:
            lines.append(f"next try after {r.postponed_until.isoformat(timespec='minutes')}")
    for d in (r.download, r.upload):
        if d is not None:
            name = "download" if d.direction == "down" else "upload  "
            lines.append(
                f"{name} {d.goodput_mbps:8.2f} Mbit/s goodput, ≈{d.line_rate_mbps:8.2f} line rate "
                f"({d.duration_s:.1f} s, {d.bytes_used / MB:.1f} MB, {d.streams} streams, {d.stop_reason})"
            )
    lat = r.latency
    if lat.idle_tcp_connect_ms is not None:
        lines.append(
            f"latency idle {lat.idle_tcp_connect_ms:.1f} ms (HTTP {lat.idle_http_rtt_ms or 0:.1f} ms), "
            f"loaded {lat.loaded_rtt_ms or 0:.1f} ms, jitter {lat.jitter_ms or 0:.1f} ms, "
            f"{lat.failures}/{lat.attempts} failed"
        )
    lines.append(f"verdict: {report.verdict.level} — {report.verdict.reason}")
    if report.budget_limit_bytes is not None:
        lines.append(
            f"data budget {report.budget_month}: {report.budget_used_bytes / MB:.0f} of "
            f"{report.budget_limit_bytes / MB:.0f} MB used"
        )
    return "\n".join(lines)
