"""Everything the school page shows, from the derived tables and the snapshots' envelopes.

Bounded reads only (30 days of measurements, the last 50 snapshots), each on an
index that starts with the UAI, so one school's page costs the same whether the
collector holds ten schools or forty-five thousand.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from collector.db import (
    READ_ONLY,
    agents,
    assessment_criteria,
    devices,
    measurements,
    school_summary,
    schools,
    snapshots,
)

HISTORY = timedelta(days=30)
MAX_POINTS = 3000  # measurements drawn; an agent testing every 15 min makes 2,880 a month
TIMELINE = 50


@dataclass(frozen=True)
class SchoolView:
    school: dict[str, Any]
    summary: dict[str, Any] | None
    measurements: list[dict[str, Any]]
    devices: list[dict[str, Any]]
    criteria: list[dict[str, Any]]
    agents: list[dict[str, Any]]
    timeline: list[dict[str, Any]]

    def latency(self) -> dict[str, float | None]:
        """Medians over the history: idle and loaded latency, jitter (None when unknown)."""

        def median(key: str) -> float | None:
            values = [m[key] for m in self.measurements if m[key] is not None]
            return round(statistics.median(values), 1) if values else None

        return {k: median(k) for k in ("idle_latency_ms", "loaded_latency_ms", "jitter_ms")}

    def devices_by_category(self) -> list[tuple[str, list[dict[str, Any]]]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for device in self.devices:
            groups.setdefault(device["category"], []).append(device)
        return sorted(groups.items())


def _dicts(conn: Any, query: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(query)]


def school_view(engine: Engine, uai: str, now: datetime | None = None) -> SchoolView | None:
    since = (now or datetime.now(UTC)) - HISTORY
    with engine.connect().execution_options(**READ_ONLY) as conn:
        school = conn.execute(select(schools).where(schools.c.uai == uai)).first()
        if school is None:
            return None
        summary = conn.execute(select(school_summary).where(school_summary.c.uai == uai)).first()
        points = _dicts(
            conn,
            select(measurements)
            .where(measurements.c.uai == uai, measurements.c.started_at >= since)
            .order_by(measurements.c.started_at.desc())
            .limit(MAX_POINTS),
        )
        device_rows = _dicts(
            conn,
            select(devices)
            .where(devices.c.uai == uai)
            .order_by(devices.c.category, devices.c.name, devices.c.mac),
        )
        criteria = _dicts(
            conn,
            select(assessment_criteria)
            .where(assessment_criteria.c.uai == uai)
            .order_by(assessment_criteria.c.position),
        )
        agent_rows = _dicts(
            conn,
            select(
                agents.c.agent_id,
                agents.c.state,
                agents.c.enrolled_via,
                agents.c.created_at,
                agents.c.last_seen_at,
                agents.c.last_seq,
                agents.c.clock_skew_s,
            )
            .where(agents.c.uai == uai)
            .order_by(agents.c.created_at),
        )
        timeline = _dicts(
            conn,
            select(
                snapshots.c.id,
                snapshots.c.agent_id,
                snapshots.c.seq,
                snapshots.c.created_at,
                snapshots.c.received_at,
                snapshots.c.body.is_(None).label("pruned"),
            )
            .where(snapshots.c.uai == uai)
            .order_by(snapshots.c.created_at.desc())
            .limit(TIMELINE),
        )
    for device in device_rows:
        device["in_latest"] = _in_latest(device, summary)
    return SchoolView(
        school=dict(school._mapping),
        summary=dict(summary._mapping) if summary is not None else None,
        measurements=points[::-1],
        devices=device_rows,
        criteria=criteria,
        agents=agent_rows,
        timeline=timeline,
    )


def _in_latest(device: dict[str, Any], summary: Any) -> bool:
    """Rows of the school's current device list carry its report time exactly; rows
    only older snapshots listed carry theirs (see `derived_write.device_writes`)."""
    if summary is None:
        return True
    if summary.devices_at is None:  # not reachable after migration 0005; kept safe
        return bool(device["reported_at"] >= summary.snapshot_at)
    return bool(device["reported_at"] == summary.devices_at)
