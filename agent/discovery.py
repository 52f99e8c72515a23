"""One discovery cycle: ARP first, then mDNS ‖ SNMP ‖ PJLink on the live hosts, merge, classify.

ARP comes first because it is the one protocol every device answers, and its list of
live hosts keeps SNMP and PJLink from knocking on 250 empty addresses. The other
probes run concurrently, each with its own deadline inside the cycle's budget: a
probe that overruns or fails costs only its own observations, never the cycle.
Progress is reported per phase through a callback so the CLI can draw it and the
daemon can log it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, Literal

from agent.config import AgentSettings
from agent.inventory import CycleSummary, Inventory
from agent.targets import PROC_ROUTE, ScanTarget, excluded, resolve_targets
from probes.base import Observation, Probe, ProbeContext, utc_now

log = logging.getLogger(__name__)

DEFAULT_BUDGET_S = 60.0  # s: a cycle never takes longer, whatever the network does
ARP_SHARE = 0.5  # ARP may use at most half of the budget: later phases need its hosts
MAX_UNATTACHED_HOSTS = 1024  # routed subnets (no ARP) are probed address by address

State = Literal["start", "progress", "done", "failed", "timeout", "skipped"]


@dataclass(frozen=True)
class PhaseEvent:
    """One progress report: `phase` is `targets`, a probe name, or `classify`."""

    phase: str
    state: State
    message: str
    elapsed_s: float
    count: int | None = None


ProgressFn = Callable[[PhaseEvent], None]


@dataclass
class CycleResult:
    """What one cycle did; the devices themselves are in `inventory`."""

    started_at: datetime
    inventory: Inventory
    targets: list[ScanTarget] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    observations: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    live_hosts: int = 0
    summary: CycleSummary | None = None
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Cycle metadata for `discover --json` (the devices come from inventory_view)."""
        return {
            "started_at": self.started_at.isoformat(),
            "elapsed_s": round(self.elapsed_s, 3),
            "targets": [
                {"network": str(t.network), "interface": t.interface} for t in self.targets
            ],
            "live_hosts": self.live_hosts,
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "observations": dict(self.observations),
            "errors": dict(self.errors),
            "duplicate_ips": [
                str(ip) for ip in (self.summary.duplicate_ips if self.summary else [])
            ],
        }


class _Clock:
    def __init__(self, budget_s: float, progress: ProgressFn | None) -> None:
        self.start = time.monotonic()
        self.budget_s = budget_s
        self.progress = progress or (lambda _event: None)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def left(self) -> float:
        return max(self.budget_s - self.elapsed(), 0.0)

    def emit(self, phase: str, state: State, message: str, count: int | None = None) -> None:
        try:
            self.progress(PhaseEvent(phase, state, message, self.elapsed(), count))
        except Exception:  # a broken progress bar must not stop discovery
            log.debug("progress callback failed", exc_info=True)


async def run_cycle(
    settings: AgentSettings,
    probes: Mapping[str, Probe],
    *,
    inventory: Inventory | None = None,
    targets: Sequence[ScanTarget] | None = None,
    progress: ProgressFn | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    route_path: Path = PROC_ROUTE,
) -> CycleResult:
    """Run one cycle with `probes` (see `probes.registry.build`) and merge into `inventory`."""
    clock = _Clock(budget_s, progress)
    result = CycleResult(started_at=utc_now(), inventory=inventory or Inventory())
    collected = await _sweep(settings, probes, result, clock, targets, route_path)
    if collected is not None:
        _merge(result, collected, clock)
    return result


async def sweep(
    settings: AgentSettings,
    probes: Mapping[str, Probe],
    *,
    progress: ProgressFn | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    route_path: Path = PROC_ROUTE,
) -> tuple[CycleResult, list[Observation]]:
    """The network half of a cycle, without merging: what the daemon's worker runs.

    The daemon keeps the inventory (devices are merged across cycles by MAC), so the
    worker only returns what the probes heard; `merge` finishes the cycle."""
    clock = _Clock(budget_s, progress)
    result = CycleResult(started_at=utc_now(), inventory=Inventory())
    collected = await _sweep(settings, probes, result, clock, None, route_path)
    result.elapsed_s = clock.elapsed()
    return result, collected or []


def merge(
    result: CycleResult, observations: list[Observation], progress: ProgressFn | None = None
) -> CycleResult:
    """The other half: merge a sweep's observations into `result.inventory` and classify."""
    if not result.targets:
        return result
    clock = _Clock(DEFAULT_BUDGET_S, progress)
    clock.start -= result.elapsed_s  # the cycle started when the sweep did
    _merge(result, observations, clock)
    return result


async def _sweep(
    settings: AgentSettings,
    probes: Mapping[str, Probe],
    result: CycleResult,
    clock: _Clock,
    targets: Sequence[ScanTarget] | None,
    route_path: Path,
) -> list[Observation] | None:
    """Targets, ARP, then the other probes; None when there is nothing to scan."""
    chosen = list(targets) if targets is not None else resolve_targets(settings.network, route_path)
    result.targets = chosen
    if not chosen:
        clock.emit("targets", "skipped", "nothing to scan (no subnet configured, no default route)")
        return None
    clock.emit("targets", "done", ", ".join(str(t.network) for t in chosen), len(chosen))
    skip = excluded(chosen, settings.network)
    interfaces = {t.interface for t in chosen}
    base = ProbeContext(
        subnets=[t.network for t in chosen],
        interface=interfaces.pop() if len(interfaces) == 1 else None,
    )
    collected: list[Observation] = []
    if "arp" in probes:
        arp = await _run_probe("arp", probes["arp"], base, clock, clock.left() * ARP_SHARE, result)
        collected += arp
    else:
        arp = []
    macs = {o.ip: o.mac for o in arp if o.ip is not None and o.mac is not None}
    hosts = sorted({*macs, *_unattached_hosts(chosen)} - skip)
    result.live_hosts = len(hosts)
    ctx = ProbeContext(
        subnets=base.subnets,
        interface=base.interface,
        hosts=hosts,
        macs=macs,
        progress=base.progress,
    )
    others = [(name, probe) for name, probe in probes.items() if name != "arp"]
    batches = await asyncio.gather(
        *(_run_probe(name, probe, ctx, clock, clock.left(), result) for name, probe in others)
    )
    collected += [obs for batch in batches for obs in batch if obs.ip not in skip]
    return collected


def _merge(result: CycleResult, collected: list[Observation], clock: _Clock) -> None:
    clock.emit("classify", "start", f"merging {len(collected)} observations")
    started = clock.elapsed()
    result.summary = result.inventory.ingest(collected, result.started_at)
    result.timings_s["classify"] = clock.elapsed() - started
    clock.emit("classify", "done", f"{result.summary.seen} devices", result.summary.seen)
    result.elapsed_s = clock.elapsed()
    result.timings_s["cycle"] = result.elapsed_s


def _unattached_hosts(targets: Sequence[ScanTarget]) -> list[IPv4Address]:
    """Every address of subnets we are not on (no ARP there), bounded."""
    hosts: list[IPv4Address] = []
    for target in targets:
        if target.interface is None:
            hosts += list(target.network.hosts())[: MAX_UNATTACHED_HOSTS - len(hosts)]
    return hosts


async def _run_probe(
    name: str,
    probe: Probe,
    ctx: ProbeContext,
    clock: _Clock,
    limit_s: float,
    result: CycleResult,
) -> list[Observation]:
    """Run one probe within `limit_s`; failures and overruns become errors, not exceptions."""
    started = clock.elapsed()
    clock.emit(name, "start", f"{len(ctx.hosts)} hosts" if ctx.hosts else "")
    probe_ctx = ProbeContext(
        subnets=ctx.subnets,
        interface=ctx.interface,
        hosts=ctx.hosts,
        macs=ctx.macs,
        progress=lambda message: clock.emit(name, "progress", message),
    )
    observations: list[Observation] = []
    # Optional hook: told its deadline, a probe can stop in time and return partial
    # results, which the timeout below would lose by cancelling it.
    set_deadline = getattr(probe, "set_deadline", None)
    if callable(set_deadline):
        set_deadline(time.monotonic() + limit_s)
    try:
        async with asyncio.timeout(limit_s):
            observations = await probe.run(probe_ctx)
    except TimeoutError:
        result.errors[name] = f"stopped after {limit_s:.1f} s"
        clock.emit(name, "timeout", result.errors[name])
    except Exception as exc:  # one probe's bug or network trouble must not end the cycle
        log.warning("discovery: probe %s failed: %s", name, exc, exc_info=True)
        result.errors[name] = f"{type(exc).__name__}: {exc}"[:256]
        clock.emit(name, "failed", result.errors[name])
    else:
        clock.emit(name, "done", f"{len(observations)} observations", len(observations))
    result.timings_s[name] = clock.elapsed() - started
    result.observations[name] = len(observations)
    return observations


async def discover(
    settings: AgentSettings,
    progress: ProgressFn | None = None,
    *,
    inventory: Inventory | None = None,
    names: Sequence[str] | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
) -> CycleResult:
    """`socle-agent discover`: build the probes from settings and run one cycle."""
    from probes.registry import DEFAULT_PROBES, build

    probes = build(settings, names if names is not None else DEFAULT_PROBES)
    return await run_cycle(
        settings, probes, inventory=inventory, progress=progress, budget_s=budget_s
    )


def discover_json(result: CycleResult) -> dict[str, Any]:
    """`discover --json`: cycle metadata and the privacy-safe inventory view."""
    from agent.inventory_view import shareable

    return {"cycle": result.to_json(), "inventory": shareable(result.inventory)}


async def identify_local(
    host: IPv4Address,
    settings: AgentSettings,
    *,
    pjlink_port: int = 4352,
    mdns_browse_s: float = 2.0,
) -> list[Observation]:
    """PJLink and mDNS observations about one host (for `socle-agent identify HOST`).

    mDNS is only browsed when a local interface is on the host's subnet; PJLink is a
    unicast TCP query and works across routers.
    """
    from agent.targets import interface_networks
    from probes.mdns import MdnsProbe
    from probes.pjlink import query_host

    password = settings.pjlink.password
    pjlink = query_host(
        host,
        pjlink_port,
        password.get_secret_value() if password else None,
        settings.pjlink.timeout_s,
    )
    import psutil

    local = [
        (name, iface.network)
        for name in psutil.net_if_addrs()
        for iface in interface_networks(name, psutil.net_if_addrs)
        if host in iface.network
    ]
    observations: list[Observation] = []
    if local:
        name, network = local[0]
        ctx = ProbeContext(subnets=[network], interface=name, hosts=[host])
        found, pj = await asyncio.gather(MdnsProbe(browse_s=mdns_browse_s).run(ctx), pjlink)
        observations += [obs for obs in found if obs.ip == host]
    else:
        pj = await pjlink
    if pj is not None:
        observations.append(pj)
    return observations
