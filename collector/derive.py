"""From one verified snapshot to the rows the dashboard reads (measurements, devices, …).

Computed in the request handler, where the snapshot is already parsed, and written
by the writer thread in the snapshot's own transaction: the derived tables can
never disagree with what was acknowledged, and the dashboard never re-parses JSON.
Alert flags are decided here, once per snapshot, except "silent" which depends on
the clock at query time.
"""

from __future__ import annotations

import hashlib
import marshal
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from agent.snapshot import DeviceHealth, InfrastructureDevice, Snapshot, Supply
from collector.config import AlertSettings

# Supplies that are consumables one buys (not waste containers or drum counters).
_CONSUMABLE = re.compile(r"toner|ink|encre|cartouche|cartridge", re.IGNORECASE)
_NOT_CONSUMABLE = re.compile(r"waste|usag|rebut|récup", re.IGNORECASE)
_LAMP_FAULT = frozenset({"warning", "error", "fault"})
WIFI_CRITERION = "wifi_switch_off"
INTERNET_PREFIX = "internet"  # criteria about bandwidth, not equipment
MAX_ERRORS_TEXT = 2600
# Every devices column but the school, the report time and the two datetimes (which
# marshal cannot write; they go in as timestamps). A test keeps this list complete.
DIGESTED_COLUMNS = (
    "mac",
    "category",
    "vendor",
    "model",
    "name",
    "ip",
    "serial",
    "min_toner_percent",
    "lamp_hours",
    "lamp_rated_hours",
    "toner_low",
    "lamp_end",
    "health_text",
)
_DIGESTED = itemgetter(*DIGESTED_COLUMNS)


@dataclass(frozen=True)
class Derived:
    """Rows for one snapshot; `snapshot_id` is added by the writer once it is known."""

    uai: str
    agent_id: str
    created_at: datetime
    measurements: list[dict[str, Any]]
    devices: list[dict[str, Any]]
    assessment: dict[str, Any] | None
    criteria: list[dict[str, Any]]
    summary: dict[str, Any]


@lru_cache(maxsize=4096)
def _is_consumable(description: str) -> bool:
    """Cached: a fleet's printers report a few dozen distinct supply names, each
    seen on every snapshot (two regex searches per supply were ~15 % of derive)."""
    return bool(_CONSUMABLE.search(description)) and not _NOT_CONSUMABLE.search(description)


def _min_toner(supplies: list[Supply]) -> float | None:
    levels = [
        s.percent for s in supplies if s.percent is not None and _is_consumable(s.description)
    ]
    return min(levels) if levels else None


def _health_text(health: DeviceHealth) -> str:
    parts = [f"{s.description} {s.percent:.0f} %" for s in health.supplies if s.percent is not None]
    parts += [f"lamp {h} h" for h in health.lamp_hours]
    parts += [f"{k}: {v}" for k, v in health.errors.items() if v.lower() != "ok"]
    return "; ".join(parts)[:1024]


def devices_digest(rows: Sequence[dict[str, Any]]) -> str:
    """Identifies a snapshot's device rows, all but their school and report time.

    Equal digests, equal rows: the writer then leaves the school's device rows as
    they are (twenty upserts per snapshot were half of PostgreSQL's ingest work).
    The rows themselves are digested, so whatever decides them (the devices, the
    alert thresholds, this module's code) is covered. `marshal` version 2 writes
    equal values as equal bytes in every process of one Python version (no object
    references); another version may write other bytes, which costs one rewrite.
    """
    values = [
        (*_DIGESTED(r), r["first_seen"].timestamp(), r["last_seen"].timestamp()) for r in rows
    ]
    return hashlib.blake2b(marshal.dumps(values, 2), digest_size=16).hexdigest()


def device_row(
    device: InfrastructureDevice, alerts: AlertSettings, uai: str, reported_at: datetime
) -> dict[str, Any]:
    """One devices row; runs 20+ times per snapshot, so the common empty cases are short."""
    health = device.health
    toner = _min_toner(health.supplies) if health.supplies else None
    lamp = max(health.lamp_hours) if health.lamp_hours else None
    lamp_fault = bool(health.errors) and health.errors.get("lamp", "").lower() in _LAMP_FAULT
    rated = alerts.lamp_rated_hours
    return {
        "uai": uai,
        "reported_at": reported_at,
        "mac": device.mac,
        "category": device.category,
        "vendor": device.vendor,
        "model": device.model,
        "name": device.name,
        "ip": device.ip,
        "serial": device.serial,
        "first_seen": device.first_seen,
        "last_seen": device.last_seen,
        "min_toner_percent": toner,
        "lamp_hours": lamp,
        "lamp_rated_hours": rated if lamp is not None else None,
        "toner_low": toner is not None and toner <= alerts.toner_low_percent,  # as the agent
        "lamp_end": lamp_fault or (lamp is not None and lamp >= rated * alerts.lamp_warn_ratio),
        "health_text": _health_text(health)
        if health.supplies or health.lamp_hours or health.errors
        else "",
    }


def derive(
    snapshot: Snapshot,
    *,
    received_at: datetime,
    skew_s: float,
    alerts: AlertSettings,
    has_nul: bool = True,
) -> Derived:
    """Every derived row of `snapshot` (pure: no database, no clock)."""
    uai, created = snapshot.uai, snapshot.created_at
    measurements = [
        {
            "uai": uai,
            "agent_id": snapshot.agent_id,
            "started_at": t.started_at,
            "backend": t.backend,
            "target_host": t.target_host,
            "down_mbps": t.down_mbps,
            "up_mbps": t.up_mbps,
            "idle_latency_ms": t.idle_latency_ms,
            "loaded_latency_ms": t.loaded_latency_ms,
            "jitter_ms": t.jitter_ms,
            "bytes_used": t.bytes_used,
            "cut_short": t.cut_short,
        }
        for t in snapshot.throughput
    ]
    by_mac: dict[str, dict[str, Any]] = {}
    for device in snapshot.inventory.infrastructure:
        by_mac[device.mac] = device_row(device, alerts, uai, created)
    device_rows = sorted(by_mac.values(), key=lambda row: row["mac"])  # lock order
    criteria: list[dict[str, Any]] = []
    assessment = None
    met = judged = 0
    if snapshot.assessment is not None:
        met, judged = snapshot.assessment.summary.met, snapshot.assessment.summary.judged
        assessment = {"uai": uai, "assessed_at": created, "met": met, "judged": judged}
        seen: set[str] = set()
        for position, c in enumerate(snapshot.assessment.criteria):
            if c.id in seen:
                continue
            seen.add(c.id)
            criteria.append(
                {
                    "uai": uai,
                    "criterion_id": c.id,
                    "position": position,
                    "title": c.title,
                    "status": c.status,
                    "message": c.message,
                    "source": c.source,
                }
            )
    status = {c["criterion_id"]: c["status"] for c in criteria}
    equipment = [s for cid, s in status.items() if not cid.startswith(INTERNET_PREFIX)]
    verdicts = snapshot.verdicts
    health = snapshot.health
    skew = health.clock_skew_s if health.clock_skew_s is not None else skew_s
    flags = {
        "alert_below_minimum": verdicts is not None and verdicts.minimum == "fail",
        "alert_toner_low": any(d["toner_low"] for d in device_rows),
        "alert_lamp_end": any(d["lamp_end"] for d in device_rows),
        "alert_wifi_on": status.get(WIFI_CRITERION) == "not_met",
        "alert_clock_skew": abs(skew_s) > alerts.max_clock_skew_s
        or (health.clock_skew_s is not None and abs(health.clock_skew_s) > alerts.max_clock_skew_s),
        "alert_dead_letters": health.dead_letters > 0,
    }
    summary = {
        "uai": uai,
        "last_seen_at": received_at,
        "snapshot_at": created,
        "agent_id": snapshot.agent_id,
        "verdict_minimum": verdicts.minimum if verdicts else "unknown",
        "verdict_desirable": verdicts.desirable if verdicts else "unknown",
        "median_down_mbps": verdicts.window_median_down_mbps if verdicts else None,
        "median_up_mbps": verdicts.window_median_up_mbps if verdicts else None,
        "tests": verdicts.tests if verdicts else 0,
        "met": met,
        "judged": judged,
        "score_pct": round(100.0 * met / judged, 1) if judged else None,
        "equipment_ok": bool(equipment) and all(s == "met" for s in equipment),
        "devices": len(device_rows),
        **flags,
        "alerts": sum(flags.values()),
        "agent_version": health.version,
        "uptime_s": health.uptime_s,
        "spool_depth": health.spool_depth,
        "dead_letters": health.dead_letters,
        "dropped_snapshots": health.dropped_snapshots,
        "clock_synchronised": health.clock_synchronised,
        "clock_skew_s": skew,
        "last_errors": "\n".join(health.last_errors)[:MAX_ERRORS_TEXT],
    }
    if has_nul:  # the caller knows when the raw JSON has no "\u0000": skip the scan
        measurements = [_clean(r) for r in measurements]
        device_rows = [_clean(r) for r in device_rows]
        criteria = [_clean(r) for r in criteria]
        summary = _clean(summary)
    summary["devices_digest"] = devices_digest(device_rows)
    return Derived(
        uai=uai,
        agent_id=snapshot.agent_id,
        created_at=created,
        measurements=measurements,
        devices=device_rows,
        assessment=assessment,
        criteria=criteria,
        summary=summary,
    )


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """NUL characters out of text: valid JSON, but PostgreSQL text cannot hold them."""
    return {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in row.items()}
