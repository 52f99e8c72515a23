"""The snmp probe: find which hosts speak SNMP, with which credential, and what they are.

Why two passes: most hosts on a school LAN (phones, laptops) do not run SNMP, and
waiting the full timeout with retries for each would make discovery slow. The fast
pass tries every credential once with a short timeout; only the hosts that stayed
silent get the slow pass (longer timeout, retries) for busy or sleepy devices.

Why the communities of a host are tried at once: an agent answers only the right
one and drops the others without a word, so trying 11 communities one after the
other cost a silent laptop 11 timeouts per pass (~50 s for 9 laptops). Sent
together, a pass costs one timeout per host. SNMPv3 users stay one after the other:
each needs engine discovery, and a wrong user must not race the right one.

Why a deadline: discovery cancels a probe that overruns its share of the cycle, and
a cancelled probe returns nothing. `SnmpProbe.set_deadline` tells the probe when it
must be done; it then stops on its own a little earlier and returns every device
already identified, including one whose tables were still being read.

The credential that worked is remembered per device (`known_credentials`, an index
into the settings list — never the secret) so the next run tries it first, alone;
the daemon may persist that map. Facts emitted: the `snmp.*` keys of
docs/observations.md.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from agent.config import SnmpSettings
from probes.base import Observation, ProbeContext, normalise_mac
from probes.snmp_collect import collect
from probes.snmp_session import Oid, SnmpSession, SnmpStacks, SnmpUnreachable, reach

log = logging.getLogger(__name__)

__all__ = ["SnmpProbe", "identify_snmp"]

_WRAP_UP_S = 0.2  # s: the run stops this long before its deadline, to close pysnmp
_COLLECT_MARGIN_S = 0.2  # s: reading a device ends this long before the run stops

Reached = tuple[SnmpSession, dict[Oid, Any]]
Found = tuple[int, SnmpSession, dict[Oid, Any]]


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


def _seconds_until(deadline: float | None) -> float | None:
    return None if deadline is None else deadline - time.monotonic()


async def _after(
    previous: asyncio.Task[Reached] | None, attempt: Callable[[], Awaitable[Reached]]
) -> Reached:
    """Run `attempt` once `previous` has failed: how v3 users stay one after the other."""
    if previous is not None:
        await asyncio.wait([previous])
        if not previous.cancelled() and previous.exception() is None:
            raise SnmpUnreachable("an earlier SNMPv3 user answered")
    return await attempt()


async def _first_answer(
    stacks: SnmpStacks, ip: str, port: int, settings: SnmpSettings, order: list[int], step: _Pass
) -> Found | None:
    """Try the credentials of `order` together (v3 users in turn); keep the first in order.

    Taking the first *in order* rather than the first to answer keeps the choice
    stable when a device accepts two credentials (v1 and v2c `public`, say): it
    waits at most one timeout for the credentials listed before the one that answered.
    A failing credential, even a v3 authentication error, never stops the others.
    """
    tasks: dict[int, asyncio.Task[Reached]] = {}
    previous_v3: asyncio.Task[Reached] | None = None
    for index in order:
        credential = settings.credentials[index]
        attempt = functools.partial(
            reach, stacks, ip, port, credential, timeout_s=step.timeout_s, retries=step.retries
        )
        if credential.version == "3":
            previous_v3 = asyncio.create_task(_after(previous_v3, attempt))
            tasks[index] = previous_v3
        else:
            tasks[index] = asyncio.create_task(attempt())
    try:
        for index in order:
            try:
                session, first = await tasks[index]
            except SnmpUnreachable as exc:
                log.debug(
                    "snmp %s: credential #%d (v%s) got no answer: %s",
                    ip,
                    index,
                    settings.credentials[index].version,
                    exc,
                )
                continue
            return index, session, first
        return None
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)


async def _try_ladder(
    stacks: SnmpStacks, ip: str, port: int, settings: SnmpSettings, known: int | None, step: _Pass
) -> Found | None:
    """The credential that worked last time alone first, then all the others together.

    Alone first so that a known device is not sent ten wrong communities every
    cycle (many log them, some send authenticationFailure traps).
    """
    order = _ladder(settings, known)
    if known is not None and order[:1] == [known]:
        found = await _first_answer(stacks, ip, port, settings, order[:1], step)
        if found is not None:
            return found
        order = order[1:]
    return await _first_answer(stacks, ip, port, settings, order, step)


async def _read(
    ip: IPv4Address, found: Found, settings: SnmpSettings, deadline: float | None
) -> Observation:
    """Read a reached device; reading stops at `deadline` (monotonic) with what it has."""
    index, session, first = found
    facts = await collect(
        session,
        first,
        max_rows=settings.max_walk_rows,
        max_walk_s=settings.max_walk_s,
        deadline=deadline,
    )
    facts["snmp.version"] = session.version
    facts["snmp.credential_index"] = index
    return Observation(probe="snmp", ip=ip, facts=facts)


async def identify_snmp(
    ip: str | IPv4Address,
    port: int,
    settings: SnmpSettings,
    *,
    stacks: SnmpStacks | None = None,
    deadline: float | None = None,
) -> Observation | None:
    """One host: fast attempt, then slow attempt; None if it never answered.

    Pass `stacks` (a `probes.snmp_session.SnmpStacks`) to share one across many
    calls: creating pysnmp's engine loads its MIB modules (~0.1–0.2 s of CPU).
    `deadline` (`time.monotonic()`) caps the time spent reading the device.
    """
    address = IPv4Address(str(ip))
    stacks_in_use = SnmpStacks() if stacks is None else stacks
    try:
        for step in _passes(settings):
            found = await _try_ladder(stacks_in_use, str(address), port, settings, None, step)
            if found is not None:
                return await _read(address, found, settings, deadline)
        return None
    finally:
        if stacks is None:
            stacks_in_use.close_dispatcher()


class SnmpProbe:
    """`probes.base.Probe` for SNMP over the live hosts of `ProbeContext.hosts`."""

    name = "snmp"

    def __init__(
        self, settings: SnmpSettings, known_credentials: Mapping[IPv4Address, int] | None = None
    ) -> None:
        self.settings = settings
        self.known_credentials: dict[IPv4Address, int] = dict(known_credentials or {})
        self._deadline: float | None = None

    def set_deadline(self, deadline: float | None) -> None:
        """The `time.monotonic()` instant by which the next `run` must have returned.

        Discovery calls this with the end of the probe's share of the cycle, because
        its own timeout cancels the probe and every observation is then lost. The
        deadline holds for one run only, so a reused probe never inherits a stale one.
        """
        self._deadline = deadline

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        """Fast pass over all hosts, slow pass over the silent ones; one Observation per device.

        Devices are recorded as each one is done, so when the deadline comes the
        run stops and still returns all of them.
        """
        deadline, self._deadline = self._deadline, None
        stop = None if deadline is None else deadline - _WRAP_UP_S
        hosts = list(dict.fromkeys(ctx.hosts))
        found: dict[IPv4Address, Observation] = {}
        stacks = SnmpStacks()
        try:
            async with asyncio.timeout(_seconds_until(stop)):
                await self._passes(stacks, hosts, found, stop, ctx)
        except TimeoutError:
            log.info("snmp: time budget spent, keeping %d devices", len(found))
            ctx.progress(f"snmp: time budget spent, keeping {len(found)} devices")
        finally:
            stacks.close_dispatcher()
        return [found[ip] for ip in hosts if ip in found]

    async def _passes(
        self,
        stacks: SnmpStacks,
        hosts: Sequence[IPv4Address],
        found: dict[IPv4Address, Observation],
        stop: float | None,
        ctx: ProbeContext,
    ) -> None:
        """Reach hosts pass by pass; each host is read in its own task as soon as it answers.

        Reading apart from reaching lets the slow pass start as soon as the fast one
        has heard what it could, instead of waiting for the slowest device to be read;
        starting the read at once (not when the whole pass is over) matters because a
        pass of many hosts and communities costs pysnmp real CPU time (~2–9 ms per
        request on a small box), which would otherwise eat the reading time.
        """
        limit = asyncio.Semaphore(self.settings.concurrency)
        reading_ends = None if stop is None else stop - _COLLECT_MARGIN_S
        silent = list(hosts)
        async with asyncio.TaskGroup() as readers:

            async def reach_then_read(ip: IPv4Address, step: _Pass) -> bool:
                hit = await self._reach(stacks, limit, ip, step)
                if hit is None:
                    return False
                readers.create_task(self._read(limit, ip, hit, reading_ends, found, ctx))
                return True

            for number, step in enumerate(_passes(self.settings)):
                left = _seconds_until(stop)
                if not silent or (number > 0 and left is not None and left < step.timeout_s):
                    break  # no host left, or no time for even one slow answer
                ctx.progress(f"snmp: pass {number + 1}, {len(silent)} hosts")
                reached = await asyncio.gather(*(reach_then_read(ip, step) for ip in silent))
                silent = [ip for ip, hit in zip(silent, reached, strict=True) if not hit]

    async def _reach(
        self, stacks: SnmpStacks, limit: asyncio.Semaphore, ip: IPv4Address, step: _Pass
    ) -> Found | None:
        known = self.known_credentials.get(ip)
        async with limit:
            try:
                return await _try_ladder(
                    stacks, str(ip), self.settings.port, self.settings, known, step
                )
            except Exception as exc:  # one odd device must not sink the whole pass
                log.warning("snmp %s: unexpected %s, device skipped", ip, type(exc).__name__)
                return None

    async def _read(
        self,
        limit: asyncio.Semaphore,
        ip: IPv4Address,
        hit: Found,
        reading_ends: float | None,
        found: dict[IPv4Address, Observation],
        ctx: ProbeContext,
    ) -> None:
        """Read one reached host and record it in `found` at once (so a later stop keeps it)."""
        self.known_credentials[ip] = hit[0]
        async with limit:
            try:
                observation = await _read(ip, hit, self.settings, reading_ends)
            except Exception as exc:  # one odd device must not sink the whole probe
                log.warning("snmp %s: unexpected %s, device skipped", ip, type(exc).__name__)
                return
        found[ip] = _with_mac(observation, ctx.macs.get(ip))


def _with_mac(observation: Observation, mac: str | None) -> Observation:
    if mac is None:
        return observation
    try:
        return observation.model_copy(update={"mac": normalise_mac(mac)})
    except ValueError:
        return observation
