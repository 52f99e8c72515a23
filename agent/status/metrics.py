"""`/metrics` for Prometheus, computed at scrape time from the store and the runtime.

Each app gets its own `CollectorRegistry` (never the process-global one), so two apps in
one process, as in tests, do not collide, and nothing else in the daemon leaks in. A
custom collector reads live values on every scrape instead of keeping gauges in sync.
Names follow `socle_*` with the unit in the name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from agent.status.checklist import build_checklist
from agent.status.data import Sources, bandwidth_view

_VERDICT_LEVEL = {"below_minimum": 0, "minimum": 1, "desirable": 2}


def _gauge(name: str, doc: str, value: float | None) -> Iterator[GaugeMetricFamily]:
    """A single-sample gauge, omitted when unknown (absent beats a misleading zero)."""
    if value is not None:
        yield GaugeMetricFamily(name, doc, value=value)


def _ts(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


class StatusCollector(Collector):
    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[GaugeMetricFamily | InfoMetricFamily]:
        settings = self.sources.settings()
        runtime = self.sources.runtime()
        store = self.sources.store
        now = datetime.now(UTC)
        yield InfoMetricFamily(
            "socle_agent",
            "Agent version and school",
            value={"version": runtime.version, "uai": settings.school.uai},
        )
        yield from _gauge(
            "socle_agent_start_time_seconds", "Agent start time", _ts(runtime.started_at)
        )
        bw = bandwidth_view(self.sources, settings, now)
        latest = bw.latest
        yield from _gauge(
            "socle_throughput_down_mbps",
            "Last test, download goodput",
            latest.down_mbps if latest else None,
        )
        yield from _gauge(
            "socle_throughput_up_mbps",
            "Last test, upload goodput",
            latest.up_mbps if latest else None,
        )
        yield from _gauge(
            "socle_throughput_line_down_mbps",
            "Last test, estimated download line rate",
            latest.line_down_mbps if latest else None,
        )
        yield from _gauge(
            "socle_throughput_test_timestamp_seconds",
            "Last throughput test",
            _ts(latest.at) if latest else None,
        )
        yield from _gauge(
            "socle_throughput_median_down_mbps",
            "Window median, download",
            bw.judgement.median_down_mbps,
        )
        yield from _gauge(
            "socle_throughput_median_up_mbps", "Window median, upload", bw.judgement.median_up_mbps
        )
        yield from _gauge(
            "socle_bandwidth_level",
            "0 below minimum, 1 minimum, 2 desirable",
            _VERDICT_LEVEL.get(bw.judgement.verdict),
        )
        yield from _gauge(
            "socle_threshold_minimum_down_mbps", "Referential minimum", bw.levels.minimum_down_mbps
        )
        yield from _gauge(
            "socle_threshold_desirable_down_mbps",
            "Referential desirable download",
            bw.levels.desirable_down_mbps,
        )
        yield from _gauge(
            "socle_threshold_desirable_up_mbps",
            "Referential desirable upload",
            bw.levels.desirable_up_mbps,
        )
        if bw.latency:
            yield from _gauge(
                "socle_latency_idle_rtt_ms", "Last idle round trip", bw.latency.idle_rtt_ms
            )
            yield from _gauge(
                "socle_latency_loaded_rtt_ms", "Last loaded round trip", bw.latency.loaded_rtt_ms
            )
        devices = GaugeMetricFamily(
            "socle_devices", "Devices known, by category", labels=["category"]
        )
        for category, count in sorted(Counter(d.category for d in store.devices()).items()):
            devices.add_metric([category], count)
        yield devices
        spool = runtime.spool
        yield from _gauge("socle_spool_depth", "Snapshots waiting to be sent", spool.depth)
        yield from _gauge(
            "socle_dead_letters", "Snapshots the collector refused", spool.dead_letters
        )
        yield from _gauge("socle_spool_dropped", "Snapshots dropped (queue full)", spool.dropped)
        yield from _gauge(
            "socle_last_upload_timestamp_seconds",
            "Last successful upload",
            _ts(spool.last_success_at),
        )
        yield from _gauge(
            "socle_clock_skew_seconds", "Collector clock minus ours", spool.clock_skew_s
        )
        sync = runtime.clock_synchronised
        yield from _gauge(
            "socle_clock_synchronised",
            "1 when NTP-synchronised",
            None if sync is None else float(sync),
        )
        budget = runtime.data_budget
        if budget is not None:
            yield from _gauge(
                "socle_data_used_bytes", "Test data used this month", budget.used_bytes
            )
            yield from _gauge(
                "socle_data_limit_bytes", "Monthly test data limit", budget.limit_bytes
            )
        yield from self._jobs(runtime.next_runs)
        yield from self._criteria()

    def _jobs(self, next_runs: dict[str, datetime | None]) -> Iterator[GaugeMetricFamily]:
        last = GaugeMetricFamily(
            "socle_job_last_run_timestamp_seconds", "Last start per job", labels=["job"]
        )
        ok = GaugeMetricFamily(
            "socle_job_last_run_ok", "1 if the last run succeeded", labels=["job"]
        )
        for job, run in sorted(self.sources.store.last_runs().items()):
            last.add_metric([job], run.started_at.timestamp())
            if run.ok is not None:
                ok.add_metric([job], float(run.ok))
        upcoming = GaugeMetricFamily(
            "socle_job_next_run_timestamp_seconds", "Next scheduled start", labels=["job"]
        )
        for job, at in sorted(next_runs.items()):
            if at is not None:
                upcoming.add_metric([job], at.timestamp())
        yield from (last, ok, upcoming)

    def _criteria(self) -> Iterator[GaugeMetricFamily]:
        checklist = build_checklist(self.sources.store.latest_assessment())
        if checklist is None:
            return
        by_status = GaugeMetricFamily(
            "socle_criteria", "Socle criteria by status", labels=["status"]
        )
        for status, count in sorted(Counter(c.status for c in checklist.criteria).items()):
            by_status.add_metric([status], count)
        yield by_status
        yield from _gauge("socle_required_criteria_met", "Required criteria met", checklist.met)
        yield from _gauge(
            "socle_required_criteria_judged", "Required criteria judged", checklist.judged
        )


def build_registry(sources: Sources) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(sources))
    return registry
