"""The snmp probe under time pressure, on loopback: many communities, silent hosts, deadlines.

The scene of the measured problem: one real device (snmpsim on 127.0.0.1), ten
laptops that never answer SNMP and a dozen configured communities. A "silent host"
is a UDP socket bound on 127.0.0.x at the agent's port that reads and never answers
(a closed port would send ICMP port unreachable, which is not what a laptop does).
Only 127.0.0.0/8 is used.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest

from agent.config import AgentSettings, SnmpSettings
from agent.discovery import run_cycle
from agent.targets import ScanTarget
from probes.base import ProbeContext
from probes.snmp import SnmpProbe
from tests.probes.test_snmp import _good, v2c
from tests.probes.test_snmp_hostile import Behaviour, HostileAgent
from tests.snmpsim_server import LOOPBACK, SnmpsimServer, snmpsim_server

DEVICE = IPv4Address(LOOPBACK)
SILENT = [IPv4Address(f"127.0.0.{n}") for n in range(2, 12)]
GOOD_AT = 7  # index of the right community among the twelve


class _Sink(asyncio.DatagramProtocol):
    """A host that reads every SNMP request and never answers (a laptop without SNMP)."""

    def __init__(self) -> None:
        self.datagrams = 0

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.datagrams += 1


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimServer]:
    data = tmp_path_factory.mktemp("snmprec-budget")
    for name in ("good", "alt"):
        (data / f"{name}.snmprec").write_text(_good(), encoding="utf-8")
    with snmpsim_server(data, probe_community="good") as server:
        yield server


@pytest.fixture
async def silent(device: SnmpsimServer) -> AsyncIterator[list[_Sink]]:
    loop = asyncio.get_running_loop()
    transports: list[asyncio.DatagramTransport] = []
    sinks: list[_Sink] = []
    try:
        for ip in SILENT:
            transport, sink = await loop.create_datagram_endpoint(
                _Sink, local_addr=(str(ip), device.port)
            )
            transports.append(transport)
            sinks.append(sink)
        yield sinks
    finally:
        for transport in transports:
            transport.close()


def twelve_communities(port: int, **overrides: Any) -> SnmpSettings:
    """The default timeouts (0.5 s fast; 2 s slow, 1 retry) with the right community 8th."""
    credentials = [v2c(f"wrong-{n}") for n in range(11)]
    credentials.insert(GOOD_AT, v2c("good"))
    return SnmpSettings(credentials=credentials, port=port, **overrides)


def context() -> ProbeContext:
    return ProbeContext(subnets=[IPv4Network("127.0.0.0/28")], hosts=[DEVICE, *SILENT])


async def test_a_pass_costs_one_timeout_not_one_per_community(
    device: SnmpsimServer, silent: list[_Sink]
) -> None:
    probe = SnmpProbe(twelve_communities(device.port))
    started = time.monotonic()
    observations = await probe.run(context())
    elapsed = time.monotonic() - started
    # one after the other this took ~56 s: 12 × (0.5 s + 2 × 2 s) per silent host
    assert elapsed < 8, elapsed
    assert [o.ip for o in observations] == [DEVICE]
    assert observations[0].facts["snmp.credential_index"] == GOOD_AT
    assert observations[0].facts["snmp.sys_descr"] == "ACME LaserJet 100"
    assert probe.known_credentials == {DEVICE: GOOD_AT}
    assert all(sink.datagrams == 12 * 3 for sink in silent)  # fast once, slow twice


async def test_the_deadline_cuts_the_slow_pass_and_keeps_the_device(
    device: SnmpsimServer, silent: list[_Sink]
) -> None:
    probe = SnmpProbe(twelve_communities(device.port))
    started = time.monotonic()
    probe.set_deadline(started + 4.0)  # the slow pass (4 s) starts, then is cut
    observations = await probe.run(context())
    assert time.monotonic() - started < 4.0
    assert [o.ip for o in observations] == [DEVICE]
    assert all(sink.datagrams > 12 for sink in silent)  # the slow pass did start
    probe.set_deadline(time.monotonic() - 1)  # a deadline holds for one run only
    assert await probe.run(ProbeContext(subnets=[], hosts=[])) == []
    assert len(await probe.run(ProbeContext(subnets=[], hosts=[DEVICE]))) == 1


async def test_no_slow_pass_without_time_for_one_slow_answer(
    device: SnmpsimServer, silent: list[_Sink]
) -> None:
    probe = SnmpProbe(twelve_communities(device.port))
    started = time.monotonic()
    probe.set_deadline(started + 2.0)
    observations = await probe.run(context())
    assert time.monotonic() - started < 2.0
    assert [o.ip for o in observations] == [DEVICE]
    assert all(sink.datagrams == 12 for sink in silent)


async def test_the_first_working_credential_in_order_wins(device: SnmpsimServer) -> None:
    settings = SnmpSettings(
        credentials=[v2c("wrong"), v2c("alt"), v2c("good")], port=device.port, slow_retries=0
    )
    for _ in range(3):
        observations = await SnmpProbe(settings).run(ProbeContext(subnets=[], hosts=[DEVICE]))
        assert observations[0].facts["snmp.credential_index"] == 1


async def test_a_device_half_read_at_the_deadline_is_kept() -> None:
    behaviour = Behaviour(delay_s=0.2)  # every answer late, every walk endless
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: HostileAgent(behaviour), local_addr=(LOOPBACK, 0)
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        settings = SnmpSettings(credentials=[v2c("public")], port=port, max_walk_s=10)
        probe = SnmpProbe(settings)
        started = time.monotonic()
        probe.set_deadline(started + 1.5)  # reading it fully would take ~40 s
        observations = await probe.run(ProbeContext(subnets=[], hosts=[DEVICE]))
        assert time.monotonic() - started < 1.5
    finally:
        transport.close()
    assert len(observations) == 1
    descr = observations[0].facts["snmp.sys_descr"]
    assert isinstance(descr, str) and descr.startswith("Hostile")
    assert behaviour.requests > 2


async def test_discovery_keeps_snmp_results_when_its_budget_runs_out(
    device: SnmpsimServer, silent: list[_Sink]
) -> None:
    settings = AgentSettings.model_validate({"school": {"uai": "0751234J", "classes": 4}})
    probe = SnmpProbe(twelve_communities(device.port))
    # snmpsim indexes its data on first use; on a loaded machine that first answer can
    # miss the fast pass. Warm it up so the test measures the deadline, not snmpsim.
    await SnmpProbe(twelve_communities(device.port)).run(ProbeContext(subnets=[], hosts=[DEVICE]))
    result = await run_cycle(
        settings,
        {"snmp": probe},
        targets=[ScanTarget(IPv4Network("127.0.0.0/28"))],  # routed: every address is probed
        budget_s=4.0,  # the slow pass starts and is cut; a timeout would have lost the device
    )
    assert result.timings_s["snmp"] < 4.0
    assert "snmp" not in result.errors
    assert result.observations["snmp"] == 1
