"""The snmp probe: find which hosts speak SNMP, with which credential, and what they are.

Why two passes: most hosts on a school LAN (phones, laptops) do not run SNMP, and
waiting the full timeout with retries for each would make discovery slow. The fast
pass tries every credential once with a short timeout; only the hosts that stayed
silent get the slow pass (longer timeout, retries) for busy or sleepy devices.

The credential that worked is remembered per device (`known_credentials`, an index
into the settings list — never the secret) so the next run tries it first; the
daemon may persist that map. Facts emitted: the `snmp.*` keys of docs/observations.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

from agent.config import SnmpSettings
from probes.base import Observation, ProbeContext, normalise_mac
from probes.snmp_collect import collect
from probes.snmp_session import Oid, SnmpSession, SnmpUnreachable, new_engine, reach

log = logging.getLogger(__name__)

__all__ = ["SnmpProbe", "identify_snmp"]


@dataclass(frozen=True)
class _Pass:
    """Timeout and retries for one pass over the hosts."""

    timeout_s: float
    retries: int


def _passes(settings: SnmpSettings) -> tuple[_Pass, _Pass]:
    return _Pass(settings.fast_timeout_s, 0), _Pass(settings.slow_timeout_s, settings.slow_retries)


def _ladder(settings: SnmpSettings, known: int | None) -> list[int]:
    """Credential indexes to try, the one that worked last time first."""
    order = list(range(len(settings.credentials)))
    if known is not None and known in order:
        order.remove(known)
        order.insert(0, known)
    return order


async def _try_ladder(
    engine: SnmpEngine, ip: str, port: int, settings: SnmpSettings, known: int | None, step: _Pass
) -> tuple[int, SnmpSession, dict[Oid, Any]] | None:
    """First credential that gets an answer; a failing one (even v3 auth) never stops the ladder."""
    for index in _ladder(settings, known):
        credential = settings.credentials[index]
        try:
            session, first = await reach(
                engine, ip, port, credential, timeout_s=step.timeout_s, retries=step.retries
            )
        except SnmpUnreachable as exc:
            log.debug(
                "snmp %s: credential #%d (v%s) got no answer: %s",
                ip,
                index,
                credential.version,
                exc,
            )
            continue
        return index, session, first
    return None


async def _observe(
    engine: SnmpEngine,
    ip: IPv4Address,
    port: int,
    settings: SnmpSettings,
    known: int | None,
    step: _Pass,
) -> tuple[int, Observation] | None:
    found = await _try_ladder(engine, str(ip), port, settings, known, step)
    if found is None:
        return None
    index, session, first = found
    facts = await collect(
        session, first, max_rows=settings.max_walk_rows, max_walk_s=settings.max_walk_s
    )
    facts["snmp.version"] = session.version
    facts["snmp.credential_index"] = index
    return index, Observation(probe="snmp", ip=ip, facts=facts)


async def identify_snmp(
    ip: str | IPv4Address, port: int, settings: SnmpSettings, *, engine: SnmpEngine | None = None
) -> Observation | None:
    """One host: fast attempt, then slow attempt; None if it never answered.

    Pass `engine` (from `probes.snmp_session.new_engine`) to reuse one across many
    calls: creating an SnmpEngine loads its MIB modules (~0.1–0.2 s of CPU).
    """
    address = IPv4Address(str(ip))
    active = new_engine() if engine is None else engine
    try:
        for step in _passes(settings):
            found = await _observe(active, address, port, settings, None, step)
            if found is not None:
                return found[1]
        return None
    finally:
        if engine is None:
            active.close_dispatcher()


class SnmpProbe:
    """`probes.base.Probe` for SNMP over the live hosts of `ProbeContext.hosts`."""

    name = "snmp"

    def __init__(
        self, settings: SnmpSettings, known_credentials: Mapping[IPv4Address, int] | None = None
    ) -> None:
        self.settings = settings
        self.known_credentials: dict[IPv4Address, int] = dict(known_credentials or {})

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        """Fast pass over all hosts, slow pass over the silent ones; one Observation per device."""
        engine = new_engine()
        limit = asyncio.Semaphore(self.settings.concurrency)
        found: dict[IPv4Address, Observation] = {}
        try:
            silent: Sequence[IPv4Address] = list(dict.fromkeys(ctx.hosts))
            for number, step in enumerate(_passes(self.settings)):
                if not silent:
                    break
                ctx.progress(f"snmp: pass {number + 1}, {len(silent)} hosts")
                results = await asyncio.gather(
                    *(self._one(engine, limit, ip, step, ctx) for ip in silent)
                )
                for ip, result in zip(silent, results, strict=True):
                    if result is not None:
                        found[ip] = result
                silent = [ip for ip in silent if ip not in found]
        finally:
            engine.close_dispatcher()
        return [found[ip] for ip in ctx.hosts if ip in found]

    async def _one(
        self,
        engine: SnmpEngine,
        limit: asyncio.Semaphore,
        ip: IPv4Address,
        step: _Pass,
        ctx: ProbeContext,
    ) -> Observation | None:
        async with limit:
            try:
                result = await _observe(
                    engine,
                    ip,
                    self.settings.port,
                    self.settings,
                    self.known_credentials.get(ip),
                    step,
                )
            except Exception as exc:  # one odd device must not sink the whole pass
                log.warning("snmp %s: unexpected %s, device skipped", ip, type(exc).__name__)
                return None
        if result is None:
            return None
        index, observation = result
        self.known_credentials[ip] = index
        mac = ctx.macs.get(ip)
        if mac is not None:
            try:
                return observation.model_copy(update={"mac": normalise_mac(mac)})
            except ValueError:
                return observation
        return observation
