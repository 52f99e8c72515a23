"""The agent's jobs: what the daemon schedules and `run --once` runs in a row.

Each job reads settings, calls the stage that does the work (discovery, bandwidth,
assessment, snapshot, upload) and writes the outcome to the state store. Jobs never
format pages and never decide compliance themselves.

With a `WorkerRunner`, the two network-heavy jobs (the discovery sweep, the throughput
test with its busy-link check) run in a short-lived `agent.worker` process, so scapy,
pysnmp and zeroconf never load into the long-running daemon (bench.footprint); what
they return is merged and stored here exactly as when they run in-process.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from agent import snmp_memory
from agent.assess import assess
from agent.assess_inputs import assessment_input
from agent.bandwidth_run import BandwidthReport, Gentleness, measure_bandwidth
from agent.clock import clock_synchronised
from agent.config import AgentSettings
from agent.discovery import DEFAULT_BUDGET_S, CycleResult, discover, merge
from agent.inventory import Inventory
from agent.inventory_view import records
from agent.keys import load_or_create_key
from agent.referential import Referential, load_referential
from agent.snapshot_build import build_content
from agent.spool import Spool
from agent.state import StateStore
from agent.upload import Backoff, Uploader
from agent.worker_client import WorkerRunner
from agent.worker_wire import sweep_from_wire

log = logging.getLogger(__name__)

STATE_FILE = "state.sqlite3"
WORKER_START_S = 60.0  # s: a Pi 3 takes seconds to import scapy and pysnmp, more when busy
THROUGHPUT_CHECKS_S = 60.0  # s: latency series and busy-link counters around the test


def discovery_limit_s() -> float:
    """A sweep stops itself at its budget; the worker gets that plus start-up time."""
    return DEFAULT_BUDGET_S + WORKER_START_S


def throughput_limit_s(settings: AgentSettings) -> float:
    """Both directions at their longest (speedtest-cli takes up to 15 s each), plus checks."""
    test_s = 2 * max(settings.measurement.max_duration_s, 15.0)
    return test_s + THROUGHPUT_CHECKS_S + WORKER_START_S


def measurement_record(report: BandwidthReport) -> dict[str, Any]:
    """The stored report plus the flat figures the status page and metrics read."""
    result = report.result
    return {
        **report.model_dump(mode="json"),
        "down_mbps": result.goodput_down_mbps,
        "up_mbps": result.goodput_up_mbps,
        "line_down_mbps": result.line_rate_down_mbps,
        "line_up_mbps": result.line_rate_up_mbps,
        "idle_rtt_ms": result.latency.idle_tcp_connect_ms,
        "loaded_rtt_ms": result.latency.loaded_rtt_ms,
        "jitter_ms": result.latency.jitter_ms,
        "bytes_used": result.bytes_used,
        "verdict": {
            "minimum_met": report.verdict.meets_minimum,
            "desirable_met": report.verdict.meets_desirable,
        },
    }


class AgentService:
    """Implements `agent.daemon.Jobs` on top of the real stages."""

    def __init__(
        self,
        settings: AgentSettings,
        store: StateStore,
        *,
        started_at: datetime | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        worker: WorkerRunner | None = None,
    ) -> None:
        self.settings = settings
        self.worker = worker
        self.store = store
        self.started_at = started_at or now()
        self.now = now
        self.inventory = Inventory()
        self.referential: Referential = load_referential(settings.paths.referential)
        self.postponed_until: datetime | None = None
        self.drain_not_before: datetime | None = None  # the uploader's backoff, honoured

    async def apply_settings(self, settings: AgentSettings) -> None:
        """After SIGHUP: new settings (and referential) for the next runs."""
        self.referential = load_referential(settings.paths.referential)
        self.settings = settings

    # -- jobs ----------------------------------------------------------------------------

    async def discovery(self) -> str:
        result = await self._discover()
        seen = [r for r in records(result.inventory) if r.last_seen >= result.started_at]
        self.store.record_cycle(result.started_at, seen)
        verdict = self.reassess()
        # Run in-process, a cycle leaves ~30k cyclic objects (pysnmp, zeroconf); collect
        # them now rather than let RSS creep until the GC's own thresholds trigger.
        gc.collect()
        problems = (
            f"; errors: {', '.join(f'{k}: {v}' for k, v in result.errors.items())}"
            if result.errors
            else ""
        )
        return f"{len(seen)} devices in {result.elapsed_s:.1f} s; socle {verdict}{problems}"

    async def _discover(self) -> CycleResult:
        if self.worker is None:
            return await discover(self.settings, inventory=self.inventory)
        snmp = self.settings.snmp
        known = snmp_memory.to_wire(snmp_memory.remembered(self.store, snmp))
        data = await self.worker.run(
            "discovery", self.settings, discovery_limit_s(), known_snmp=known
        )
        result, observations = sweep_from_wire(data, self.inventory)
        snmp_memory.remember(self.store, snmp, snmp_memory.learned(observations))
        return merge(result, observations)

    def reassess(self) -> str:
        now = self.now()
        assessment = assess(assessment_input(self.settings, self.store, now), self.referential)
        self.store.add_assessment(now, assessment.model_dump(mode="json"))
        return f"{assessment.summary.met}/{assessment.summary.judged} criteria met"

    async def latency(self) -> str:
        report = await measure_bandwidth(
            self.settings, light=True, gentle=Gentleness(check_schedule=False, check_busy=False)
        )
        self._store_report("latency", report)
        idle = report.result.latency.idle_tcp_connect_ms
        if idle is None:
            return f"no RTT: {report.result.reason or 'target did not answer'}"
        return f"idle RTT {idle:.1f} ms"

    async def throughput(self) -> str:
        now = self.now()
        if self.postponed_until is not None and now < self.postponed_until:
            return f"postponed until {self.postponed_until.isoformat(timespec='minutes')}"
        report = await self._throughput_report()
        self._store_report("throughput", report)
        result = report.result
        self.postponed_until = result.postponed_until
        if result.cut_short is not None:
            return f"not measured ({result.cut_short}): {result.reason}"
        self.reassess()
        down, up = result.goodput_down_mbps or 0.0, result.goodput_up_mbps or 0.0
        return f"{down:.1f}/{up:.1f} Mbit/s; {report.verdict.reason}"

    async def _throughput_report(self) -> BandwidthReport:
        if self.worker is not None:
            data = await self.worker.run(
                "throughput", self.settings, throughput_limit_s(self.settings)
            )
            return BandwidthReport.model_validate(data)
        from agent.gateway import gateway_for  # pysnmp: only when run in-process

        gentle = Gentleness(gateway=gateway_for(self.settings))
        return await measure_bandwidth(self.settings, gentle=gentle)

    def _store_report(self, kind: str, report: BandwidthReport) -> None:
        result = report.result
        self.store.add_measurement(
            kind,
            result.started_at,
            measurement_record(report),
            ok=result.ok,
            down_mbps=result.goodput_down_mbps,
            up_mbps=result.goodput_up_mbps,
        )

    async def snapshot(self) -> str:
        now = self.now()
        last = self.store.get("last_snapshot_at")
        start = (
            datetime.fromisoformat(last)
            if last
            else now - timedelta(minutes=self.settings.schedule.snapshot_interval_min)
        )
        key = load_or_create_key(self.settings.paths.state_dir)
        with Spool.in_state_dir(self.settings.paths.state_dir) as spool:
            content = build_content(
                self.settings,
                self.store,
                now=now,
                period_start=start,
                uptime_s=(now - self.started_at).total_seconds(),
                clock_synchronised=clock_synchronised(now),
                clock_skew_s=spool.link_status().clock_skew_s,
            )
            seq = spool.enqueue_snapshot(
                content, agent_id=key.agent_id, uai=self.settings.school.uai, now=now
            )
        self.store.put("last_snapshot_at", now.isoformat())
        self.store.prune(now)
        return f"snapshot {seq} spooled"

    async def drain(self) -> str:
        """Deliver the spool in order; after a failure, wait out the uploader's backoff
        (exponential, full jitter, capped) instead of retrying on every tick."""
        url = self.settings.collector.url
        if url is None:
            return "no collector configured"
        now = self.now()
        if self.drain_not_before is not None and now < self.drain_not_before:
            return f"backing off until {self.drain_not_before.isoformat(timespec='seconds')}"
        key = load_or_create_key(self.settings.paths.state_dir)
        backoff = Backoff(cap_s=self.settings.collector.max_backoff_s)
        with Spool.in_state_dir(self.settings.paths.state_dir) as spool:
            if spool.stats().depth == 0:
                return "spool empty"
            async with Uploader(
                spool, key, url, timeout_s=self.settings.collector.timeout_s, backoff=backoff
            ) as uploader:
                report = await uploader.drain()
        if report.failure is not None:
            self.drain_not_before = now + timedelta(seconds=report.delay_s)
            raise RuntimeError(f"upload: {report.failure.reason}")
        self.drain_not_before = None
        refused = f", {report.dead_lettered} refused (dead letters)" if report.dead_lettered else ""
        return f"{report.stored} snapshot(s) delivered{refused}"

    async def full_cycle(self) -> list[tuple[str, str]]:
        """`run --once`: every job once, in dependency order, each failure recorded."""
        outcomes: list[tuple[str, str]] = []
        for name in ("discovery", "throughput", "snapshot", "drain"):
            run_id = self.store.start_job(name, self.now())
            try:
                summary: str = await getattr(self, name)()
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                self.store.finish_job(run_id, self.now(), ok=False, error=error[:500])
                outcomes.append((name, f"FAILED: {error}"))
                continue
            self.store.finish_job(run_id, self.now(), ok=True, summary=summary[:500])
            outcomes.append((name, summary))
        return outcomes
