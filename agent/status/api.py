"""The JSON API (`/api/v1/…`): the same views as the pages, for scripts and municipal IT.

Versioned in the path so a fleet tool written against v1 keeps working when the page
changes. Measurement records are filtered to known keys: a measurer may store more
(server names, raw samples) than a LAN client needs to see.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from agent.state import DeviceRecord
from agent.status.bandwidth import flag, number
from agent.status.data import (
    Sources,
    assessment_summary,
    bandwidth_view,
    collector_view,
    runs_view,
)
from agent.status.inventory import build_inventory, health_of
from agent.status.jsonable import jsonable
from agent.status.redact import Redactor

MAX_DAYS = 90  # what the state store keeps
NUMERIC_KEYS = (
    "down_mbps",
    "up_mbps",
    "line_down_mbps",
    "line_up_mbps",
    "idle_rtt_ms",
    "loaded_rtt_ms",
    "jitter_ms",
    "bytes_used",
    "duration_s",
    "streams",
)
_GET_HEAD = ["GET", "HEAD"]


KINDS = ("throughput", "latency")
PREFIX = "/api/v1"


def _json(data: Any) -> JSONResponse:
    return JSONResponse(jsonable(data))


def _invalid(name: str, value: str, expected: str) -> JSONResponse:
    """422 like a validating framework: the parameter, what it got, what it expects."""
    detail = [{"loc": ["query", name], "input": value, "msg": expected}]
    return JSONResponse({"detail": detail}, status_code=422)


def _device(device: DeviceRecord) -> dict[str, Any]:
    return {
        "id": device.device_id,
        "category": device.category,
        "vendor": device.vendor,
        "model": device.model,
        "name": device.name,
        "ip": device.ip,
        "mac": device.mac,
        "serial": device.serial,
        "evidence": device.evidence,
        "health": asdict(health_of(device.health)),
        "first_seen": device.first_seen,
        "last_seen": device.last_seen,
    }


def measurement_entry(at: datetime, ok: bool, record: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"at": at, "ok": ok}
    for key in NUMERIC_KEYS:
        value = number(record, key)
        if value is not None:
            entry[key] = value
    verdict = {k: v for k in ("minimum_met", "desirable_met") if (v := flag(record, k)) is not None}
    if verdict:
        entry["verdict"] = verdict
    return entry


class Api:
    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{PREFIX}/status", self.status, methods=_GET_HEAD),
            Route(f"{PREFIX}/inventory", self.inventory, methods=_GET_HEAD),
            Route(f"{PREFIX}/measurements", self.measurements, methods=_GET_HEAD),
        ]

    def status(self, _request: Request) -> JSONResponse:
        settings = self.sources.settings()
        runtime = self.sources.runtime()
        redactor = Redactor(settings)
        now = datetime.now(UTC)
        bw = bandwidth_view(self.sources, settings, now)
        collector = collector_view(settings, runtime, redactor)
        school = settings.school
        return _json(
            {
                "generated_at": now,
                "school": {
                    "uai": school.uai,
                    "name": school.name,
                    "commune": school.commune,
                    "classes": school.classes,
                    "size": school.effective_size,
                },
                "agent": {
                    "version": runtime.version,
                    "started_at": runtime.started_at,
                    "uptime_s": round(runtime.uptime_s(now), 1),
                    "clock_synchronised": runtime.clock_synchronised,
                },
                "bandwidth": {
                    "levels": bw.levels.model_dump(mode="json"),
                    "window_days": bw.window_days,
                    **asdict(bw.judgement),
                    "latest": asdict(bw.latest) if bw.latest else None,
                    "latency": asdict(bw.latency) if bw.latency else None,
                },
                "jobs": [asdict(row) for row in runs_view(self.sources, runtime, redactor)],
                "collector": {
                    "url": collector.url,
                    **collector.spool.model_dump(exclude={"last_error"}),
                    "last_error": collector.last_error,
                    "clock_skew_warning": collector.skew_warning,
                },
                "data_budget": runtime.data_budget,
                "assessment": assessment_summary(self.sources.store.latest_assessment()),
            }
        )

    def inventory(self, _request: Request) -> JSONResponse:
        inventory = build_inventory(self.sources.store.devices())
        return _json(
            {
                "devices": [_device(d) for _, devices in inventory.groups for d in devices],
                "personal": {
                    "by_category": inventory.personal,
                    "total": inventory.personal_total,
                    "private_address": inventory.private_address,
                },
                "unidentified": {
                    "by_vendor": inventory.unknown_by_vendor,
                    "total": inventory.unknown_total,
                },
            }
        )

    def measurements(self, request: Request) -> JSONResponse:
        """`?kind=throughput|latency` (default throughput), `?days=1…90` (default 30)."""
        kind = request.query_params.get("kind", "throughput")
        if kind not in KINDS:
            return _invalid("kind", kind, f"Input should be {' or '.join(map(repr, KINDS))}")
        raw_days = request.query_params.get("days", "30")
        days = int(raw_days) if raw_days.strip().lstrip("+-").isdigit() else None
        if days is None or not 1 <= days <= MAX_DAYS:
            return _invalid("days", raw_days, f"Input should be an integer from 1 to {MAX_DAYS}")
        since = datetime.now(UTC) - timedelta(days=days)
        rows = self.sources.store.timed_measurements(kind, since)
        return _json(
            {
                "kind": kind,
                "since": since,
                "measurements": [measurement_entry(at, ok, record) for at, ok, record in rows],
            }
        )
