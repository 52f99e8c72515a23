"""Is someone using the school's internet link right now? Asked before a saturating test.

A saturating test during a video lesson spoils both: the class stutters, and our
figure is low because we share the link. Two ways to tell, best first:

1. The gateway's interface counters over SNMP (IF-MIB `ifHCInOctets`/`ifHCOutOctets`),
   read twice a few seconds apart. Without a configured WAN ifIndex, every
   non-loopback interface is read and the busiest counts: traffic to the internet
   crosses the WAN port and, on the way, a LAN port too.
2. Otherwise, a short series of TCP connect times to the target against the idle
   baseline: a loaded link queues, and queueing shows as delay.

The default threshold is SamKnows' cross-traffic limit (~25,000 B/s).
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from dataclasses import dataclass
from typing import Any, Literal

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    get_cmd,
    walk_cmd,
)

from probes.latency import connect_series

IF_TYPE = "1.3.6.1.2.1.2.2.1.3"  # ifType; 24 = softwareLoopback
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"
IF_HC_OUT_OCTETS = "1.3.6.1.2.1.31.1.1.1.10"
SOFTWARE_LOOPBACK = 24
COUNTER64 = 2**64
BUSY_BYTES_PER_S = 25_000  # B/s; SamKnows defers its tests above this cross-traffic
MAX_INTERFACES = 64  # a school gateway has a handful; a walk must not run away
RTT_MARGIN_MS = 10.0  # ms over the idle baseline that counts as queueing
RTT_MARGIN_RATIO = 0.5  # …or half the baseline, whichever is larger (slow links jitter)

Method = Literal["snmp", "rtt", "none"]


@dataclass(frozen=True)
class BusyCheck:
    """The answer, and enough to record why a test was postponed."""

    busy: bool
    method: Method
    reason: str
    rate_bytes_per_s: float | None = None
    rtt_ms: float | None = None
    baseline_ms: float | None = None


@dataclass(frozen=True)
class SnmpGateway:
    """The gateway to ask; `auth` is a community string or a pysnmp auth object (v3)."""

    host: str
    auth: Any = "public"
    port: int = 161
    if_index: int | None = None
    timeout_s: float = 1.0
    retries: int = 1

    def auth_data(self) -> Any:
        if isinstance(self.auth, str):
            # v2c: Counter64 needs v2c or v3; v3 callers pass a UsmUserData as `auth`.
            return CommunityData(self.auth, mpModel=1)  # noqa: S508
        return self.auth


class SnmpUnavailable(Exception):
    """The gateway did not answer usable counters; fall back to RTT."""


async def _interfaces(engine: SnmpEngine, gw: SnmpGateway, target: Any) -> list[int]:
    if gw.if_index is not None:
        return [gw.if_index]
    indexes: list[int] = []
    walk = walk_cmd(
        engine,
        gw.auth_data(),
        target,
        ContextData(),
        ObjectType(ObjectIdentity(IF_TYPE)),
        lexicographicMode=False,
    )
    async for error_indication, error_status, _index, var_binds in walk:
        if error_indication or error_status:
            raise SnmpUnavailable(f"ifType walk: {error_indication or error_status}")
        for name, value in var_binds:
            if int(value) != SOFTWARE_LOOPBACK:
                indexes.append(int(tuple(name)[-1]))
        if len(indexes) >= MAX_INTERFACES:
            break
    if not indexes:
        raise SnmpUnavailable("no interfaces in ifTable")
    return indexes


async def _octets(
    engine: SnmpEngine, gw: SnmpGateway, target: Any, indexes: list[int]
) -> dict[int, int]:
    """In + out octets per interface (64-bit counters)."""
    objects = [
        ObjectType(ObjectIdentity(f"{column}.{index}"))
        for index in indexes
        for column in (IF_HC_IN_OCTETS, IF_HC_OUT_OCTETS)
    ]
    error_indication, error_status, _index, var_binds = await get_cmd(
        engine, gw.auth_data(), target, ContextData(), *objects
    )
    if error_indication or error_status:
        raise SnmpUnavailable(f"ifHC*Octets: {error_indication or error_status}")
    totals: dict[int, int] = {}
    for name, value in var_binds:
        try:
            count = int(value)
        except (TypeError, ValueError):  # noSuchObject / noSuchInstance
            raise SnmpUnavailable(f"{name} has no counter ({value.prettyPrint()})") from None
        index = int(tuple(name)[-1])
        totals[index] = totals.get(index, 0) + count
    return totals


POLL_S = 0.25  # s between counter reads: agents refresh counters on their own schedule


def _rate(points: list[tuple[float, int]]) -> float:
    """Bytes/s between the first and last *changes* of a counter.

    Agents such as net-snmp serve interface counters from a cache refreshed every
    few seconds; two reads a fixed time apart can then see no change at all while
    traffic flows. Timing the changes themselves measures the real rate.
    """
    changes = [points[0]] + [b for a, b in itertools.pairwise(points) if b[1] != a[1]]
    if len(changes) < 2:
        return 0.0
    first = changes[1] if len(changes) >= 3 else changes[0]
    last = changes[-1]
    seconds = last[0] - first[0]
    return ((last[1] - first[1]) % COUNTER64) / seconds if seconds > 0 else 0.0


async def snmp_link_rate(gw: SnmpGateway, interval_s: float = 3.0) -> tuple[float, int]:
    """Busiest interface's bytes/s, watched for at least `interval_s`, and its ifIndex."""
    engine = SnmpEngine()
    series: dict[int, list[tuple[float, int]]] = {}
    try:
        target = await UdpTransportTarget.create(
            (gw.host, gw.port), timeout=gw.timeout_s, retries=gw.retries
        )
        indexes = await _interfaces(engine, gw, target)
        start = time.monotonic()
        while True:
            now = time.monotonic()
            for index, value in (await _octets(engine, gw, target, indexes)).items():
                series.setdefault(index, []).append((now, value))
            elapsed = now - start
            changed = max(len({v for _t, v in points}) for points in series.values())
            if elapsed >= interval_s and (changed >= 3 or elapsed >= 3 * interval_s):
                break
            await asyncio.sleep(POLL_S)
    finally:
        engine.close_dispatcher()
    rates = {index: _rate(points) for index, points in series.items()}
    busiest = max(rates, key=lambda i: rates[i])
    return rates[busiest], busiest


def rtt_says_busy(median_ms: float, baseline_ms: float) -> bool:
    """Queueing delay above max(10 ms, 50 % of baseline) means someone fills the queue."""
    return median_ms - baseline_ms > max(RTT_MARGIN_MS, RTT_MARGIN_RATIO * baseline_ms)


async def check_busy(
    *,
    gateway: SnmpGateway | None,
    rtt_target: tuple[str, int] | None,
    baseline_ms: float | None,
    interval_s: float = 3.0,
    threshold_bytes_per_s: float = BUSY_BYTES_PER_S,
    rtt_count: int = 10,
) -> BusyCheck:
    """SNMP counters when the gateway answers, else RTT against the idle baseline."""
    snmp_problem = "no gateway configured"
    if gateway is not None:
        try:
            async with asyncio.timeout(
                3 * interval_s + 4 * gateway.timeout_s * (gateway.retries + 1)
            ):
                rate, index = await snmp_link_rate(gateway, interval_s)
        except (SnmpUnavailable, TimeoutError, OSError) as exc:
            snmp_problem = f"gateway SNMP unusable: {exc or type(exc).__name__}"
        else:
            busy = rate > threshold_bytes_per_s
            verdict = "busy" if busy else "quiet"
            return BusyCheck(
                busy,
                "snmp",
                f"link {verdict}: gateway ifIndex {index} moved {rate * 8 / 1e6:.2f} Mbit/s "
                f"over {interval_s:g} s (threshold {threshold_bytes_per_s * 8 / 1e6:.2f})",
                rate_bytes_per_s=rate,
            )
    if rtt_target is None or baseline_ms is None:
        return BusyCheck(
            False, "none", f"cannot tell if the link is busy ({snmp_problem}; no RTT baseline)"
        )
    series = await connect_series(rtt_target[0], rtt_target[1], rtt_count)
    if not series.samples:
        return BusyCheck(False, "rtt", f"{snmp_problem}; target did not answer TCP connects")
    median = statistics.median(series.samples)
    busy = rtt_says_busy(median, baseline_ms)
    return BusyCheck(
        busy,
        "rtt",
        f"link {'busy' if busy else 'quiet'}: connect RTT {median:.1f} ms vs idle "
        f"{baseline_ms:.1f} ms ({snmp_problem})",
        rtt_ms=median,
        baseline_ms=baseline_ms,
    )
