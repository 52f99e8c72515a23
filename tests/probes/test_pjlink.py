"""PJLink probe against real TCP peers on loopback (well-behaved, protected, lying, mute)
and the class 2 search inside a namespace LAN."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from ipaddress import IPv4Address, IPv4Network

import pytest

from probes.base import ProbeContext
from probes.pjlink import PjlinkProbe, auth_digest, parse_errors, parse_lamps, query
from tests.probes.netlab import lab, needs_netns

LOOPBACK = IPv4Address("127.0.0.1")

ANSWERS: dict[str, bytes] = {
    "%1CLSS": b"2",
    "%1NAME": b"Salle 3",
    "%1INF1": b"EPSON",
    "%1INF2": b"EB-4770W",
    "%1INFO": b"ERR1",
    "%1POWR": b"1",
    "%1LAMP": b"1234 1",
    "%1ERST": b"020100",
    "%2SNUM": b"X4HK1234567",
    "%2SVER": b"1.02",
}


@asynccontextmanager
async def projector(
    answers: dict[str, bytes] | None = None,
    password: str | None = None,
    greeting: bytes | None = None,
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object] | None = None,
) -> AsyncIterator[int]:
    """A fake PJLink projector on 127.0.0.1; yields its port."""
    answers = ANSWERS if answers is None else answers
    random = "498e4a67"

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if password is None:
                writer.write(greeting or b"PJLINK 0\r")
            else:
                writer.write(f"PJLINK 1 {random}\r".encode())
            first = True
            while line := await reader.readuntil(b"\r"):
                text = line.decode().strip()
                if first and password is not None:
                    digest, text = text[:32], text[32:]
                    if digest != hashlib.md5((random + password).encode()).hexdigest():
                        writer.write(b"PJLINK ERRA\r")
                        await writer.drain()
                        return
                first = False
                command = text[:6]
                value = answers.get(command, b"ERR1")
                writer.write(command.encode() + b"=" + value + b"\r")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handler or serve, "127.0.0.1", 0)  # type: ignore[arg-type]
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def test_digest_and_parsers() -> None:
    # The specification's own example: random 498e4a67, password JBMIAProjectorLink.
    assert auth_digest("498e4a67", "JBMIAProjectorLink") == "5d8409bc1c3fa39749434aa3a5c38682"
    assert parse_lamps("1234 1 56 0 x 1 7") == [
        {"hours": 1234, "on": True},
        {"hours": 56, "on": False},
    ]
    assert parse_errors("020100") == {
        "fan": "ok",
        "lamp": "error",
        "temperature": "ok",
        "cover": "warning",
        "filter": "ok",
        "other": "ok",
    }
    assert parse_errors("9z") == {}


async def test_class2_projector_tells_everything() -> None:
    async with projector() as port:
        facts = await query(LOOPBACK, port, timeout_s=1)
    assert facts == {
        "pjlink.auth_failed": False,
        "pjlink.class": 2,
        "pjlink.name": "Salle 3",
        "pjlink.manufacturer": "EPSON",
        "pjlink.model": "EB-4770W",
        "pjlink.power": "on",
        "pjlink.lamps": [{"hours": 1234, "on": True}],
        "pjlink.errors": {
            "fan": "ok",
            "lamp": "error",
            "temperature": "ok",
            "cover": "warning",
            "filter": "ok",
            "other": "ok",
        },
        "pjlink.serial": "X4HK1234567",
        "pjlink.software": "1.02",
    }


async def test_class1_projector_is_not_asked_class2_questions() -> None:
    async with projector({**ANSWERS, "%1CLSS": b"1"}) as port:
        facts = await query(LOOPBACK, port, timeout_s=1)
    assert facts is not None and facts["pjlink.class"] == 1
    assert "pjlink.serial" not in facts


async def test_password_protected_projector() -> None:
    async with projector(password="JBMIAProjectorLink") as port:
        good = await query(LOOPBACK, port, password="JBMIAProjectorLink", timeout_s=1)
        wrong = await query(LOOPBACK, port, password="nope", timeout_s=1)
        missing = await query(LOOPBACK, port, timeout_s=1)
    assert good is not None and good["pjlink.model"] == "EB-4770W"
    assert wrong == {"pjlink.auth_failed": True}
    assert missing == {"pjlink.auth_failed": True}


async def test_erra_in_the_greeting() -> None:
    async with projector(greeting=b"PJLINK ERRA\r") as port:
        assert await query(LOOPBACK, port, timeout_s=1) == {"pjlink.auth_failed": True}


async def test_a_device_that_accepts_and_never_answers_does_not_stall() -> None:
    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    async with projector(handler=mute) as port:
        start = time.monotonic()
        assert await query(LOOPBACK, port, timeout_s=0.3) is None
    assert time.monotonic() - start < 1.0


async def test_a_device_that_greets_then_goes_quiet_is_bounded() -> None:
    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"PJLINK 0\r")
        await asyncio.sleep(30)

    async with projector(handler=half) as port:
        start = time.monotonic()
        facts = await query(LOOPBACK, port, timeout_s=0.3)
    assert time.monotonic() - start < 1.5
    assert facts == {"pjlink.auth_failed": False}


async def test_lying_strings_are_cleaned_and_capped() -> None:
    evil = {
        **ANSWERS,
        "%1NAME": b"<script>alert(1)</script>\xff\xfe\x00\x1b[31m",
        "%1INF1": b"A" * 65536,
        "%1INF2": "Modèle".encode("latin-1"),
    }
    async with projector(evil) as port:
        facts = await query(LOOPBACK, port, timeout_s=1)
    assert facts is not None
    name = facts["pjlink.name"]
    assert isinstance(name, str) and name.startswith("<script>alert(1)</script>")
    assert all(ch.isprintable() for ch in name)
    manufacturer = facts.get("pjlink.manufacturer")
    assert manufacturer is None or len(str(manufacturer)) <= 128
    assert facts["pjlink.model"] == "Modèle"


async def test_a_flood_without_line_ends_is_bounded() -> None:
    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for _ in range(2000):
                writer.write(b"PJLINK " + b"x" * 4096)
                await writer.drain()
        except ConnectionError:
            pass

    async with projector(handler=flood) as port:
        start = time.monotonic()
        await query(LOOPBACK, port, timeout_s=0.5)
    assert time.monotonic() - start < 2.0


async def test_not_pjlink_and_closed_ports_give_nothing() -> None:
    async with projector(greeting=b"HTTP/1.1 400 Bad Request\r\n\r\n") as port:
        assert await query(LOOPBACK, port, timeout_s=0.5) is None
    async with projector() as port:
        pass
    assert await query(LOOPBACK, port, timeout_s=0.5) is None


async def test_probe_queries_live_hosts_and_keeps_arp_macs() -> None:
    async with projector() as port:
        probe = PjlinkProbe(search_wait_s=0, timeout_s=1, port=port)
        ctx = ProbeContext(
            subnets=[],
            hosts=[LOOPBACK, IPv4Address("127.0.0.2")],
            macs={LOOPBACK: "00:0b:ab:00:00:01"},
        )
        observations = await probe.run(ctx)
    assert len(observations) == 1
    assert observations[0].mac == "00:0b:ab:00:00:01"
    assert observations[0].facts["pjlink.model"] == "EB-4770W"


RESPONDER = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("0.0.0.0", 4352))
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(2048)
    if data == b"%2SRCH\\r":
        s.sendto(b"%2ACKN=00:0B:AB:12:34:56\\r", (addr[0], 4352))
        s.sendto(b"%2ACKN=garbage\\r", addr)
"""

SEARCH = """
import asyncio, json
from ipaddress import IPv4Network
from probes.pjlink import search
found = asyncio.run(search([IPv4Network("10.77.0.0/24")], 1.0, "eth0"))
print(json.dumps({str(k): v for k, v in found.items()}))
"""


@needs_netns
def test_class2_search_on_the_subnet_broadcast() -> None:
    with lab() as net:
        agent = net.add_host("agent", "10.77.0.2")
        beamer = net.add_host("beamer", "10.77.0.30", "00:0b:ab:12:34:56")
        responder = net.spawn(beamer, RESPONDER)
        assert responder.stdout is not None and responder.stdout.readline().strip() == "ready"
        found = net.run_json(agent, SEARCH)
    assert found == {"10.77.0.30": "00:0b:ab:12:34:56"}


@pytest.mark.parametrize("prefix", [31, 32])
async def test_no_search_without_a_broadcast_address(prefix: int) -> None:
    from probes.pjlink import search

    assert await search([IPv4Network(f"10.0.0.0/{prefix}")], 0.1) == {}
