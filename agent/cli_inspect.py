"""CLI bodies for the commands an operator runs by hand: discover, identify, probe
throughput, assess, status. Progress goes to stderr, data to stdout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from ipaddress import IPv4Address
from typing import Any

from rich.console import Console
from rich.table import Table

from agent.assess import assess
from agent.assess_inputs import assessment_input
from agent.assess_model import Assessment
from agent.config import AgentSettings
from agent.discovery import CycleResult, PhaseEvent, discover
from agent.identify import IdentifyResult, identify_host
from agent.inventory_view import records, rows_by_category
from agent.referential import load_referential
from agent.service import STATE_FILE, measurement_record
from agent.state import StateStore
from probes.base import Observation
from probes.pjlink import query_host


def open_store(settings: AgentSettings) -> StateStore:
    return StateStore(settings.paths.state_dir / STATE_FILE)


def run_discover(settings: AgentSettings, err: Console) -> CycleResult:
    """One discovery cycle with a line per phase; the result is also remembered."""

    def progress(event: PhaseEvent) -> None:
        if event.state != "progress":
            count = f" ({event.count})" if event.count is not None else ""
            err.print(
                f"[{event.elapsed_s:5.1f} s] {event.phase:8} {event.state:8} {event.message}{count}",
                markup=False,
            )

    result = asyncio.run(discover(settings, progress))
    store = open_store(settings)
    try:
        store.record_cycle(
            result.started_at,
            [r for r in records(result.inventory) if r.last_seen >= result.started_at],
        )
    finally:
        store.close()
    return result


def discovery_table(result: CycleResult) -> Table:
    table = Table(title=f"{result.live_hosts} hosts answered in {result.elapsed_s:.1f} s")
    for column in ("category", "vendor", "model", "IP", "evidence", "health"):
        table.add_column(column, overflow="fold")
    for category, rows in rows_by_category(result.inventory).items():
        for row in rows:
            table.add_row(category, row.vendor, row.model, row.ip, row.evidence, row.health)
    personal = sum(1 for d in result.inventory.devices if d.personal)
    table.caption = f"+ {personal} personal devices (computers, tablets, phones), counted only"
    return table


def run_identify(
    settings: AgentSettings, host: IPv4Address, snmp_port: int, community: str | None
) -> IdentifyResult:
    password = settings.pjlink.password.get_secret_value() if settings.pjlink.password else None

    async def pjlink(ip: IPv4Address) -> Observation | None:
        return await query_host(ip, password=password, timeout_s=settings.pjlink.timeout_s)

    extra = [pjlink] if settings.pjlink.enabled else []
    return asyncio.run(
        identify_host(
            host, snmp_port=snmp_port, community=community, settings=settings.snmp, extra=extra
        )
    )


def current_assessment(settings: AgentSettings) -> Assessment:
    store = open_store(settings)
    try:
        now = datetime.now(UTC)
        result = assess(
            assessment_input(settings, store, now), load_referential(settings.paths.referential)
        )
        store.add_assessment(now, result.model_dump(mode="json"))
        return result
    finally:
        store.close()


def remember_measurement(settings: AgentSettings, record: Any) -> None:
    """A hand-run throughput test counts like a scheduled one (it is a real measurement)."""
    store = open_store(settings)
    try:
        result = record.result
        store.add_measurement(
            "throughput",
            result.started_at,
            measurement_record(record),
            ok=result.ok,
            down_mbps=result.goodput_down_mbps,
            up_mbps=result.goodput_up_mbps,
        )
    finally:
        store.close()


def status_data(settings: AgentSettings) -> dict[str, Any]:
    from agent.cli_run import runtime_info

    store = open_store(settings)
    try:
        runtime = runtime_info(settings, datetime.now(UTC), None)
        last = {
            run.job: {
                "at": run.started_at.isoformat(),
                "ok": run.ok,
                "summary": run.summary,
                "error": run.error,
            }
            for run in reversed(store.job_runs(100))
        }
        return {
            "school": {
                "uai": settings.school.uai,
                "name": settings.school.name,
                "size": settings.school.effective_size,
            },
            "devices": len(store.devices()),
            "last_runs": last,
            "spool": runtime.spool.model_dump(mode="json"),
            "clock_synchronised": runtime.clock_synchronised,
            "data_budget": runtime.data_budget.model_dump(mode="json")
            if runtime.data_budget
            else None,
        }
    finally:
        store.close()
