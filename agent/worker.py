"""`python -m agent.worker`: one network-heavy job in a short-lived process, then exit.

Why a process: the libraries a discovery sweep needs (scapy, pysnmp's engine and MIB
modules, zeroconf) and the busy-link check before a throughput test (pysnmp) cost
60 MB or more of RSS once imported, and Python never gives that back. The daemon runs
every 15 minutes for months on a Raspberry Pi; the sweep runs twice an hour for a few
seconds. So the daemon spawns this worker, which imports what the job needs, does it,
prints one JSON envelope on stdout and exits, returning all of its memory.

Protocol (`agent.worker_wire`): stdin carries one JSON request `{job, settings,
options}`; stdout gets `{"ok": true, "result": …, "peak_rss_kb": …}`. Logs go to stderr,
which the daemon forwards to its own. SIGTERM cancels the job (sockets closed, zeroconf
unregistered) and the worker exits 143; the daemon's time limit is enforced by the
daemon, with a slightly shorter one here so an orphaned worker ends by itself too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from agent.config import AgentSettings
from agent.worker_wire import WireError, settings_from_wire, sweep_to_wire

log = logging.getLogger("socle-agent.worker")

EXIT_CANCELLED = 128 + signal.SIGTERM  # the shell's convention for "ended by SIGTERM"
EXIT_BAD_REQUEST = 2


async def discovery_job(settings: AgentSettings, options: dict[str, Any]) -> dict[str, Any]:
    """The probes' sweep; the daemon merges it into its inventory."""
    from agent.discovery import DEFAULT_BUDGET_S, sweep
    from agent.snmp_memory import from_wire
    from probes.registry import DEFAULT_PROBES, build
    from probes.snmp import SnmpProbe

    probes = build(settings, options.get("probes", DEFAULT_PROBES))
    snmp = probes.get("snmp")
    if isinstance(snmp, SnmpProbe):  # what the daemon remembers: the right community first
        snmp.known_credentials.update(from_wire(options.get("known_snmp")))
    result, observations = await sweep(
        settings, probes, budget_s=float(options.get("budget_s", DEFAULT_BUDGET_S))
    )
    return sweep_to_wire(result, observations)


async def throughput_job(settings: AgentSettings, _options: dict[str, Any]) -> dict[str, Any]:
    """Busy-link check (SNMP on the gateway), budget, then the saturating test."""
    from agent.bandwidth_run import Gentleness, measure_bandwidth
    from agent.gateway import gateway_for

    report = await measure_bandwidth(settings, gentle=Gentleness(gateway=gateway_for(settings)))
    data: dict[str, Any] = report.model_dump(mode="json")
    return data


Job = Callable[[AgentSettings, dict[str, Any]], Awaitable[dict[str, Any]]]
JOBS: dict[str, Job] = {"discovery": discovery_job, "throughput": throughput_job}


def parse_request(text: str) -> tuple[Job, AgentSettings, dict[str, Any], float | None]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WireError(f"request is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("job") not in JOBS:
        raise WireError(f"unknown job (known: {', '.join(JOBS)})")
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise WireError("options: expected an object")
    limit = options.get("time_limit_s")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float)):
        raise WireError("time_limit_s: expected a number of seconds")
    return JOBS[data["job"]], settings_from_wire(data.get("settings")), options, limit


class TimeLimitReached(Exception):
    """The job's own deadline passed (the daemon would kill us a little later anyway)."""


async def _run(job: Job, settings: AgentSettings, options: dict[str, Any], limit: float | None) -> dict[str, Any]:  # fmt: skip
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        async with asyncio.timeout(limit) as deadline:
            return await job(settings, options)
    except TimeoutError:
        if deadline.expired():
            raise TimeLimitReached(f"stopped after its time limit of {limit:.0f} s") from None
        raise


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a test makes hundreds of requests
    try:
        job, settings, options, limit = parse_request(sys.stdin.read())
    except ValueError as exc:  # WireError, pydantic's ValidationError
        log.error("bad request: %s", str(exc).splitlines()[0])
        return EXIT_BAD_REQUEST
    try:
        result = asyncio.run(_run(job, settings, options, limit))
    except asyncio.CancelledError:
        log.warning("stopped (SIGTERM)")
        return EXIT_CANCELLED
    except TimeLimitReached as exc:
        log.error("TimeLimitReached: %s", exc)
        return 1
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    envelope = {"ok": True, "result": result, "peak_rss_kb": peak_kb}
    sys.stdout.write(json.dumps(envelope, separators=(",", ":")) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
