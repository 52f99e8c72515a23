"""The snmp probe against a hostile agent on loopback: slow, endless, looping, lying.

The agent is a few lines of asyncio UDP built on pysnmp's v2c codec. It answers
GET with odd types, and GETNEXT/GETBULK with an OID one arc deeper than asked, so
every walk would go on forever; optionally it repeats the same OID (a loop) or
sleeps before each answer. The probe must return within its budget, keep what it
got and never raise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from pyasn1.codec.ber import decoder, encoder
from pydantic import SecretStr
from pysnmp.proto import api, rfc1902

from agent.config import SnmpSettings, SnmpV1V2Credential
from probes.snmp import identify_snmp
from tests.snmpsim_server import LOOPBACK

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)


@dataclass
class Behaviour:
    delay_s: float = 0.0
    loop: bool = False  # answer GETNEXT with the very OID asked (not increasing)
    requests: int = 0


def _get_value(oid: tuple[int, ...]) -> Any:
    if oid == SYS_DESCR:
        return rfc1902.OctetString(b"Hostile \xff\xfe agent\x07" + b"x" * 2000)
    if oid == SYS_OBJECT_ID:
        return rfc1902.Integer(42)  # an integer where an OID is due
    return rfc1902.OctetString(b"\x00\x01")


def _next_values(oid: tuple[int, ...], count: int, behaviour: Behaviour) -> list[tuple[Any, Any]]:
    rows = []
    current = oid
    for _ in range(count):
        current = current if behaviour.loop else (*current, 1)
        rows.append((current, rfc1902.OctetString(b"row")))
    return rows


class HostileAgent(asyncio.DatagramProtocol):
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        asyncio.get_running_loop().create_task(self._answer(data, addr))

    async def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        self.behaviour.requests += 1
        if self.behaviour.delay_s:
            await asyncio.sleep(self.behaviour.delay_s)
        request, _ = decoder.decode(data, asn1Spec=V2C.Message())
        pdu = V2C.apiMessage.get_pdu(request)
        response = V2C.apiMessage.get_response(request)
        reply_pdu = V2C.apiMessage.get_pdu(response)
        asked = [tuple(oid) for oid, _value in V2C.apiPDU.get_varbinds(pdu)]
        if isinstance(pdu, V2C.GetRequestPDU):
            binds = [(oid, _get_value(oid)) for oid in asked]
        elif isinstance(pdu, V2C.GetBulkRequestPDU):
            count = max(1, int(V2C.apiBulkPDU.get_max_repetitions(pdu)))
            binds = [row for oid in asked for row in _next_values(oid, count, self.behaviour)]
        else:
            binds = [row for oid in asked for row in _next_values(oid, 1, self.behaviour)]
        V2C.apiPDU.set_varbinds(reply_pdu, binds)
        if self.transport is not None:
            self.transport.sendto(encoder.encode(response), addr)


@pytest.fixture
async def hostile() -> AsyncIterator[tuple[int, Behaviour]]:
    behaviour = Behaviour()
    loop = asyncio.get_running_loop()
    transport, _protocol = await loop.create_datagram_endpoint(
        lambda: HostileAgent(behaviour), local_addr=(LOOPBACK, 0)
    )
    port = transport.get_extra_info("sockname")[1]
    try:
        yield port, behaviour
    finally:
        transport.close()


def settings(port: int, **overrides: Any) -> SnmpSettings:
    options: dict[str, Any] = {
        "credentials": [SnmpV1V2Credential(version="2c", community=SecretStr("public"))],
        "port": port,
        "fast_timeout_s": 0.5,
        "slow_timeout_s": 0.5,
        "slow_retries": 0,
        "max_walk_rows": 100_000,
        "max_walk_s": 0.5,
    }
    options.update(overrides)
    return SnmpSettings(**options)


async def test_endless_walks_end_at_the_time_budget(hostile: tuple[int, Behaviour]) -> None:
    port, behaviour = hostile
    started = time.monotonic()
    observation = await identify_snmp(LOOPBACK, port, settings(port))
    elapsed = time.monotonic() - started
    assert observation is not None
    assert elapsed < 0.5 * 4 + 1.5, elapsed  # four walk budgets plus the system GETs
    facts = observation.facts
    descr = facts["snmp.sys_descr"]
    assert isinstance(descr, str) and descr.startswith("Hostile") and "\x07" not in descr
    assert "snmp.sys_object_id" not in facts  # an integer is not an OID: dropped, no crash
    assert behaviour.requests > 5


async def test_endless_walks_end_at_the_row_cap(hostile: tuple[int, Behaviour]) -> None:
    port, _behaviour = hostile
    observation = await identify_snmp(
        LOOPBACK, port, settings(port, max_walk_rows=12, max_walk_s=10)
    )
    assert observation is not None
    ssids = observation.facts.get("snmp.ssids", [])
    assert isinstance(ssids, list) and len(ssids) <= 12


async def test_a_looping_agent_does_not_hold_the_probe(hostile: tuple[int, Behaviour]) -> None:
    port, behaviour = hostile
    behaviour.loop = True
    started = time.monotonic()
    observation = await identify_snmp(LOOPBACK, port, settings(port, max_walk_s=5))
    assert observation is not None
    assert time.monotonic() - started < 3
    assert observation.facts["snmp.vendor_subtrees"] == []


async def test_a_slow_agent_is_cut_at_the_budget(hostile: tuple[int, Behaviour]) -> None:
    port, behaviour = hostile
    behaviour.delay_s = 0.2
    started = time.monotonic()
    observation = await identify_snmp(LOOPBACK, port, settings(port, max_walk_s=0.5))
    assert observation is not None
    assert time.monotonic() - started < 0.5 * 4 + 3
