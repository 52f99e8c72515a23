"""`socle-agent run [--once]`: wire settings, state, jobs, status page and daemon together."""

from __future__ import annotations

import asyncio
import functools
import logging
from datetime import UTC, datetime
from ipaddress import IPv4Address
from pathlib import Path

import psutil

from agent import __version__
from agent.budget import DataBudget as BudgetFile
from agent.clock import clock_synchronised
from agent.config import AgentSettings, load_settings
from agent.daemon import Daemon
from agent.service import STATE_FILE, AgentService
from agent.spool import Spool
from agent.state import StateStore
from agent.status import RuntimeInfo, create_status_app, serve_status
from agent.status.runtime import DataBudget, SpoolStats
from agent.targets import default_route_interface, interface_networks
from agent.worker_client import WorkerRunner

log = logging.getLogger("socle-agent")


def status_bind_address(settings: AgentSettings) -> str:
    """The configured address, else the LAN address (default-route interface), else loopback."""
    if settings.status_page.bind is not None:
        return str(settings.status_page.bind)
    interface = default_route_interface()
    if interface is not None:
        networks = interface_networks(interface, psutil.net_if_addrs)
        if networks:
            return str(networks[0].ip)
    return str(IPv4Address("127.0.0.1"))


def _from_epoch(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def runtime_info(
    settings: AgentSettings, started_at: datetime, daemon: Daemon | None
) -> RuntimeInfo:
    """Read fresh on every status request: spool counters, budget, clock, next runs."""
    now = datetime.now(UTC)
    with Spool.in_state_dir(settings.paths.state_dir) as spool:
        stats, link = spool.stats(), spool.link_status()
    budget = BudgetFile.from_mb(
        settings.paths.state_dir, settings.measurement.monthly_budget_mb, settings.schedule.timezone
    ).status(now)
    return RuntimeInfo(
        version=__version__,
        started_at=started_at,
        next_runs=daemon.next_runs() if daemon is not None else {},
        spool=SpoolStats(
            depth=stats.depth,
            dead_letters=stats.dead_letters,
            dropped=stats.dropped_total,
            last_success_at=_from_epoch(link.last_success_at),
            clock_skew_s=link.clock_skew_s,
            last_error=link.last_error,
        ),
        clock_synchronised=clock_synchronised(now),
        data_budget=DataBudget(used_bytes=budget.used_bytes, limit_bytes=budget.limit_bytes),
    )


def open_store(settings: AgentSettings) -> StateStore:
    return StateStore(settings.paths.state_dir / STATE_FILE)


async def run_once(settings: AgentSettings) -> list[tuple[str, str]]:
    store = open_store(settings)
    try:
        return await AgentService(settings, store, worker=WorkerRunner()).full_cycle()
    finally:
        store.close()


async def run_daemon(settings: AgentSettings, config_path: Path) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    started = datetime.now(UTC)
    store = open_store(settings)
    service = AgentService(settings, store, started_at=started, worker=WorkerRunner())
    holder: dict[str, Daemon] = {}
    app = create_status_app(
        lambda: holder["daemon"].settings,
        store,
        lambda: runtime_info(holder["daemon"].settings, started, holder["daemon"]),
    )
    serve = None
    if settings.status_page.enabled:
        serve = functools.partial(
            serve_status, app, status_bind_address(settings), settings.status_page.port
        )
    daemon = Daemon(
        settings,
        store,
        service,
        reload_settings=lambda: load_settings(config_path),
        on_reload=service.apply_settings,
        serve_status=serve,
    )
    holder["daemon"] = daemon
    try:
        return await daemon.run()
    finally:
        store.close()


def run(settings: AgentSettings, config_path: Path, once: bool) -> int:
    if once:
        outcomes = asyncio.run(run_once(settings))
        for name, summary in outcomes:
            print(f"{name:10} {summary}")
        return 1 if any(summary.startswith("FAILED") for _, summary in outcomes) else 0
    return asyncio.run(run_daemon(settings, config_path))
