"""Build the assessment's input from what the agent remembers (state store + settings).

The assessment is pure; this is the one place that knows where its inputs live: the
inventory and AP presence history in the state store, the declared equipment in the
settings, the bandwidth median over the window from stored throughput results.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, get_args

from agent.assess_model import (
    AssessedDevice,
    AssessmentInput,
    BandwidthSummary,
    PresenceRecord,
    Supply,
)
from agent.bandwidth import Thresholds, Verdict, rolling_verdict, school_thresholds
from agent.categories import DeviceCategory
from agent.config import AgentSettings
from agent.state import DeviceRecord, StateStore
from probes.throughput_model import ThroughputResult

KNOWN_CATEGORIES: frozenset[str] = frozenset(get_args(DeviceCategory))
INVENTORY_WINDOW = timedelta(days=7)  # a device unseen for a week no longer counts as present
AP_CATEGORIES = ("access_point",)


def stored_results(store: StateStore, since: datetime) -> list[ThroughputResult]:
    """Throughput results kept by the daemon (the `result` part of each stored report)."""
    results = []
    for record in store.measurements("throughput", since):
        raw = record.get("result")
        if isinstance(raw, dict):
            results.append(ThroughputResult.model_validate(raw))
    return results


def window_verdict(
    settings: AgentSettings, store: StateStore, now: datetime, thresholds: Thresholds | None = None
) -> Verdict:
    """The school's standing over the window: what snapshots, assessment and status page show."""
    days = settings.measurement.window_days
    results = stored_results(store, now - timedelta(days=days))
    levels = thresholds or school_thresholds(settings)
    return rolling_verdict(results, now, levels, window_days=days)


def _supply(raw: dict[str, Any]) -> Supply:
    """Only the fields the assessment reads: the inventory keeps more (state, units…)."""
    return Supply.model_validate(
        {k: raw[k] for k in ("description", "percent", "level", "max") if k in raw}
    )


def _assessed(record: DeviceRecord) -> AssessedDevice:
    health: dict[str, Any] = record.health
    return AssessedDevice(
        id=record.device_id,
        category=record.category if record.category in KNOWN_CATEGORIES else "unknown",
        vendor=record.vendor,
        model=record.model,
        name=record.name,
        ip=record.ip or "",
        mac=record.mac or "",
        evidence=record.evidence,
        supplies=[_supply(s) for s in health.get("supplies", []) if isinstance(s, dict)],
        lamp_hours=[int(h) for h in health.get("lamp_hours", []) if isinstance(h, int | float)],
        errors={str(k): str(v) for k, v in health.get("errors", {}).items()},
        last_seen=record.last_seen,
    )


def assessment_input(settings: AgentSettings, store: StateStore, now: datetime) -> AssessmentInput:
    recent = [r for r in store.devices() if r.last_seen >= now - INVENTORY_WINDOW]
    verdict = window_verdict(settings, store, now)
    bandwidth = (
        BandwidthSummary(
            median_down_mbps=verdict.down_mbps,
            median_up_mbps=verdict.up_mbps,
            tests=verdict.tests,
            window_days=settings.measurement.window_days,
        )
        if verdict.tests
        else None
    )
    presence = [
        PresenceRecord(device_id=device_id, at=at, present=present)
        for at, device_id, present in store.presence(now - INVENTORY_WINDOW, AP_CATEGORIES)
    ]
    return AssessmentInput(
        school=settings.school,
        declared=settings.declared,
        schedule=settings.schedule,
        devices=[_assessed(r) for r in recent if not r.personal],
        personal_counts=dict(Counter(r.category for r in recent if r.personal)),
        bandwidth=bandwidth,
        ap_presence=presence,
        now=now,
    )
