"""Snapshot content from the agent's memory: what the collector is told, and nothing more.

Built from the state store (not from a live inventory) so that `socle-agent snapshot`
in a separate process and the daemon send the same thing. Privacy is enforced twice:
here personal devices become counts, and `agent.snapshot` has no model that could
carry one individually.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, get_args

from agent import __version__
from agent import snapshot as s
from agent.assess_inputs import stored_results, window_verdict
from agent.bandwidth import Verdict
from agent.categories import PERSONAL_CATEGORIES
from agent.config import AgentSettings
from agent.state import DeviceRecord, StateStore
from probes.throughput_model import ThroughputResult

LISTED_WINDOW = timedelta(days=30)  # infrastructure unseen for a month drops off the snapshot
PERSONAL_WINDOW = timedelta(days=1)  # personal devices: how many were around today
MAX_THROUGHPUT_RESULTS = 50
_LISTED = frozenset(get_args(s.InfrastructureCategory))
_STATUS_SOURCES = {"discovered": "discovered", "declared": "declared", "both": "mixed"}


def _infrastructure(record: DeviceRecord) -> s.InfrastructureDevice:
    health: dict[str, Any] = record.health
    return s.InfrastructureDevice(
        category=record.category if record.category in _LISTED else "other",
        vendor=record.vendor[:256],
        model=record.model[:256],
        name=record.name[:256],
        ip=record.ip,
        mac=record.mac or "",
        serial=record.serial[:256],
        health=s.DeviceHealth(
            supplies=[
                s.Supply(description=str(x.get("description", ""))[:256], percent=x.get("percent"))
                for x in health.get("supplies", [])[:64]
                if isinstance(x, dict)
            ],
            lamp_hours=[int(h) for h in health.get("lamp_hours", [])[:8]],
            errors={
                str(k)[:64]: str(v)[:64] for k, v in list(health.get("errors", {}).items())[:32]
            },
        ),
        evidence=[e[:256] for e in record.evidence[:32]],
        first_seen=record.first_seen,
        last_seen=record.last_seen,
    )


def _counted(record: DeviceRecord) -> bool:
    """People's devices, and anything we cannot name or key: counted, never listed."""
    return record.personal or record.category == "unknown" or not record.mac


def inventory_section(records: list[DeviceRecord], now: datetime) -> s.Inventory:
    """Infrastructure listed (with a MAC, seen within a month); people's devices counted."""
    listed = [
        _infrastructure(r)
        for r in records
        if not _counted(r) and r.last_seen >= now - LISTED_WINDOW
    ]
    counted = [r for r in records if _counted(r) and r.last_seen >= now - PERSONAL_WINDOW]
    by_kind = Counter(
        r.category if r.category in PERSONAL_CATEGORIES else "unknown" for r in counted
    )
    return s.Inventory(
        infrastructure=listed,
        personal=s.PersonalDeviceCounts(
            by_kind=dict(by_kind),
            private_address=sum(r.private_address for r in counted),
        ),
    )


def throughput_section(result: ThroughputResult) -> s.ThroughputResult:
    latency = result.latency
    return s.ThroughputResult(
        backend=result.backend,
        target_host=result.target[:256],
        started_at=result.started_at,
        down_mbps=result.goodput_down_mbps,
        up_mbps=result.goodput_up_mbps,
        line_rate_down_mbps=result.line_rate_down_mbps,
        line_rate_up_mbps=result.line_rate_up_mbps,
        idle_latency_ms=latency.idle_tcp_connect_ms,
        loaded_latency_ms=latency.loaded_rtt_ms,
        jitter_ms=latency.jitter_ms,
        bytes_used=result.bytes_used,
        duration_s=result.duration_s,
        streams=max(
            (d.streams for d in (result.download, result.upload) if d is not None), default=0
        ),
        cut_short=(
            f"{result.cut_short}: {result.reason or ''}"[:256] if result.cut_short else None
        ),
    )


def _pass_fail(value: bool | None) -> str:
    return "unknown" if value is None else ("pass" if value else "fail")


def verdicts_section(verdict: Verdict, window_days: int) -> s.BandwidthVerdicts:
    return s.BandwidthVerdicts(
        minimum=_pass_fail(verdict.meets_minimum),
        desirable=_pass_fail(verdict.meets_desirable),
        window_days=window_days,
        window_median_down_mbps=verdict.down_mbps,
        window_median_up_mbps=verdict.up_mbps,
        tests=verdict.tests,
    )


def assessment_section(record: dict[str, Any] | None, language: str = "fr") -> s.Assessment | None:
    """The stored assessment, reduced to what the collector shows (criteria and summary)."""
    if not record:
        return None
    criteria = []
    for c in record.get("criteria", []):
        if c.get("status") not in ("met", "partly_met", "not_met", "unknown"):
            continue  # not_applicable: nothing to judge (e.g. no mobile pack, no AP)
        sources = {item.get("source") for item in c.get("items", [])}
        source = (
            "mixed" if len(sources) > 1 else _STATUS_SOURCES.get(next(iter(sources), ""), "none")
        )
        if c["id"].startswith("internet"):
            source = "measured"
        criteria.append(
            s.Criterion(
                id=c["id"][:64],
                title=str(c["title"].get(language, ""))[:256],
                status=c["status"],
                message=str(c["message"].get(language, ""))[:1024],
                evidence=[str(e)[:256] for e in c.get("evidence", [])[:32]],
                source=source,
            )
        )
    summary = record.get("summary", {})
    return s.Assessment(
        criteria=criteria,
        summary=s.AssessmentSummary(met=summary.get("met", 0), judged=summary.get("judged", 0)),
    )


def build_content(
    settings: AgentSettings,
    store: StateStore,
    *,
    now: datetime,
    period_start: datetime,
    uptime_s: float,
    clock_synchronised: bool | None,
    clock_skew_s: float | None = None,
) -> s.SnapshotContent:
    """Everything since `period_start`; spool counters are filled in by the spool itself."""
    results = stored_results(store, period_start)[-MAX_THROUGHPUT_RESULTS:]
    errors = [
        f"{run.job}: {run.error}"[:256] for run in store.job_runs(10, errors_only=True) if run.error
    ]
    return s.SnapshotContent(
        period=s.Period(start=min(period_start, now), end=now),
        throughput=[throughput_section(r) for r in results],
        verdicts=verdicts_section(
            window_verdict(settings, store, now), settings.measurement.window_days
        ),
        inventory=inventory_section(store.devices(), now),
        assessment=assessment_section(store.latest_assessment()),
        health=s.AgentHealth(
            version=__version__,
            uptime_s=max(0.0, uptime_s),
            clock_synchronised=clock_synchronised,
            clock_skew_s=clock_skew_s,
            last_errors=errors,
        ),
    )
