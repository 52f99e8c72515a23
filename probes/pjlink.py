"""PJLink: projectors and displays that say what they are, their lamp hours and errors.

Two steps. Class 2 search broadcasts `%2SRCH` to UDP 4352 on the scanned subnet's
broadcast address only (never the limited broadcast, never another network) and
collects `%2ACKN=<mac>` answers for a few seconds. Then every live host (from ARP)
and every responder gets class 1 TCP queries on port 4352; a closed port costs one
RST. Projectors lie and hang: every read has a timeout, lines are capped, the whole
conversation with one device has a deadline, and a device that accepts the
connection and never speaks is simply dropped.

Facts: `pjlink.*` (docs/observations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import socket
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from probes.base import FactValue, Observation, ProbeContext, clean_text, normalise_mac

log = logging.getLogger(__name__)

PJLINK_PORT = 4352
SEARCH = b"%2SRCH\r"
_MAX_LINE = 1024  # bytes: a PJLink answer is at most 136 bytes; anything longer is garbage
_CONVERSATION_FACTOR = 3  # × timeout_s: deadline of a whole exchange (13 short reads)
_CONCURRENCY = 32  # simultaneous TCP conversations

POWER = {"0": "off", "1": "on", "2": "cooling", "3": "warming"}
ERST_FIELDS = ("fan", "lamp", "temperature", "cover", "filter", "other")
ERST_LEVELS = {"0": "ok", "1": "warning", "2": "error"}
TEXT_QUERIES = {"NAME": "name", "INF1": "manufacturer", "INF2": "model", "INFO": "info"}
CLASS2_QUERIES = {"SNUM": "serial", "SVER": "software"}
_ERRORS = {"ERR1", "ERR2", "ERR3", "ERR4"}


class AuthFailed(Exception):
    """The projector answered `PJLINK ERRA` (wrong or missing password)."""


class _Conversation:
    """One TCP session: buffered CR-terminated lines, each read bounded in time and size."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        timeout_s: float,
    ) -> None:
        self.reader, self.writer, self.timeout_s = reader, writer, timeout_s
        self.buffer = bytearray()
        self.digest = ""

    async def line(self) -> str | None:
        """Next line, None on EOF. Raises TimeoutError when the device goes quiet."""
        async with asyncio.timeout(self.timeout_s):
            while b"\r" not in self.buffer:
                chunk = await self.reader.read(_MAX_LINE)
                if not chunk:
                    break
                if len(self.buffer) > _MAX_LINE:  # oversized: keep the head, skip to the CR
                    del self.buffer[_MAX_LINE:]
                self.buffer += chunk
        if not self.buffer:
            return None
        raw, _, rest = bytes(self.buffer).partition(b"\r")
        self.buffer = bytearray(rest)
        return _decode(raw[:_MAX_LINE]).strip("\n ")

    async def ask(self, cls: int, command: str) -> str | None:
        """Query `%<cls><command> ?`; the value, or None when the device refuses or errs."""
        self.writer.write(f"{self.digest}%{cls}{command} ?\r".encode("ascii"))
        self.digest = ""  # the digest prefixes only the first command of a session
        await self.writer.drain()
        answer = await self.line()
        if answer is None:
            raise ConnectionError("closed")
        if answer.upper().startswith("PJLINK ERRA"):
            raise AuthFailed
        prefix = f"%{cls}{command}="
        if not answer.upper().startswith(prefix):
            return None
        value = answer[len(prefix) :]
        return None if value.strip().upper() in _ERRORS else value


def _decode(raw: bytes) -> str:
    """Class 2 allows UTF-8 names; older firmware sends Latin-1. Never fails."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def auth_digest(random: str, password: str) -> str:
    """PJLink class 1 authentication: MD5 of the greeting's random then the password."""
    return hashlib.md5((random + password).encode("latin-1"), usedforsecurity=False).hexdigest()


def parse_lamps(value: str) -> list[dict[str, Any]]:
    """`"1234 1 56 0"` → `[{"hours": 1234, "on": True}, {"hours": 56, "on": False}]`."""
    parts = value.split()
    lamps: list[dict[str, Any]] = []
    for hours, state in zip(parts[0:16:2], parts[1:16:2], strict=False):
        if hours.isdigit() and state in ("0", "1"):
            lamps.append({"hours": min(int(hours), 99_999), "on": state == "1"})
    return lamps


def parse_errors(value: str) -> dict[str, str]:
    """ERST's six digits → component → ok/warning/error (bad digits are skipped)."""
    return {
        name: ERST_LEVELS[digit]
        for name, digit in zip(ERST_FIELDS, value.strip(), strict=False)
        if digit in ERST_LEVELS
    }


async def query(
    ip: IPv4Address, port: int = PJLINK_PORT, password: str | None = None, timeout_s: float = 2.0
) -> dict[str, FactValue] | None:
    """Everything a PJLink device tells about itself; None when it is not one (or is mute)."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(str(ip), port, limit=_MAX_LINE), timeout_s
        )
    except (OSError, TimeoutError):
        return None
    talk = _Conversation(reader, writer, timeout_s)
    facts: dict[str, FactValue] = {}
    try:
        async with asyncio.timeout(timeout_s * _CONVERSATION_FACTOR):
            await _converse(talk, password, facts)
    except AuthFailed:
        facts["pjlink.auth_failed"] = True
    except (OSError, TimeoutError, ConnectionError, UnicodeError) as exc:
        log.debug("pjlink %s: %s", ip, exc)
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 0.5)
    return facts or None


async def _converse(talk: _Conversation, password: str | None, facts: dict[str, FactValue]) -> None:
    greeting = (await talk.line() or "").split()
    if len(greeting) < 2 or greeting[0].upper() != "PJLINK":
        return
    if greeting[1].upper() == "ERRA":
        raise AuthFailed
    facts["pjlink.auth_failed"] = False
    if greeting[1] == "1":
        if password is None or len(greeting) < 3:
            raise AuthFailed
        talk.digest = auth_digest(greeting[2], password)
    clss = await talk.ask(1, "CLSS")
    level = 2 if clss is not None and clss.strip() == "2" else 1
    facts["pjlink.class"] = level
    for command, key in TEXT_QUERIES.items():
        _put_text(facts, f"pjlink.{key}", await talk.ask(1, command))
    power = await talk.ask(1, "POWR")
    if power is not None and power.strip() in POWER:
        facts["pjlink.power"] = POWER[power.strip()]
    lamps = await talk.ask(1, "LAMP")
    if lamps is not None:
        facts["pjlink.lamps"] = parse_lamps(lamps)
    errors = await talk.ask(1, "ERST")
    if errors is not None:
        facts["pjlink.errors"] = dict(parse_errors(errors))
    if level == 2:
        for command, key in CLASS2_QUERIES.items():
            _put_text(facts, f"pjlink.{key}", await talk.ask(2, command))


def _put_text(facts: dict[str, FactValue], key: str, value: str | None) -> None:
    if value is not None and (text := clean_text(value, limit=128)):
        facts[key] = text


class _SearchProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.found: dict[IPv4Address, str | None] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        text = data[:_MAX_LINE].decode("latin-1").strip()
        if not text.upper().startswith("%2ACKN="):
            return  # notifications (LKUP, POWR…) and our own broadcast echo
        try:
            ip = IPv4Address(addr[0])
        except ValueError:
            return
        try:
            self.found[ip] = normalise_mac(text[7:])
        except ValueError:
            self.found.setdefault(ip, None)


def _search_socket(interface: str | None) -> socket.socket:
    """UDP socket allowed to broadcast, on port 4352 when free (some answer to 4352)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if interface:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode())
    try:
        sock.bind(("0.0.0.0", PJLINK_PORT))
    except OSError:
        sock.bind(("0.0.0.0", 0))
    sock.setblocking(False)
    return sock


async def search(
    subnets: Iterable[IPv4Network], wait_s: float, interface: str | None = None
) -> dict[IPv4Address, str | None]:
    """Class 2 search on each subnet's own broadcast address: responder IP → MAC it claims."""
    targets = [s.broadcast_address for s in subnets if s.prefixlen < 31]
    if not targets or wait_s <= 0:
        return {}
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        _SearchProtocol, sock=_search_socket(interface)
    )
    try:
        for address in targets:
            with contextlib.suppress(OSError):
                transport.sendto(SEARCH, (str(address), PJLINK_PORT))
        await asyncio.sleep(wait_s)
    finally:
        transport.close()
    return protocol.found


class PjlinkProbe:
    """Search (class 2) then query every live host and responder (class 1, class 2 extras)."""

    name = "pjlink"

    def __init__(
        self,
        password: str | None = None,
        search_wait_s: float = 2.0,
        timeout_s: float = 2.0,
        port: int = PJLINK_PORT,
    ) -> None:
        self.password, self.search_wait_s = password, search_wait_s
        self.timeout_s, self.port = timeout_s, port

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        try:
            found = await search(ctx.subnets, self.search_wait_s, ctx.interface)
        except OSError as exc:
            log.warning("pjlink search failed: %s", exc)
            found = {}
        hosts = sorted({*ctx.hosts, *found})
        ctx.progress(f"pjlink: {len(found)} search answers, querying {len(hosts)} hosts")
        gate = asyncio.Semaphore(_CONCURRENCY)

        async def one(ip: IPv4Address) -> Observation | None:
            async with gate:
                facts = await query(ip, self.port, self.password, self.timeout_s)
            if facts is None and ip not in found:
                return None
            facts = facts or {}
            if ip in found:
                facts.setdefault("pjlink.class", 2)
            mac = ctx.macs.get(ip) or found.get(ip)
            return Observation(probe=self.name, ip=ip, mac=mac, facts=facts)

        results = await asyncio.gather(*(one(ip) for ip in hosts))
        return [obs for obs in results if obs is not None]


async def query_host(
    ip: IPv4Address, port: int = PJLINK_PORT, password: str | None = None, timeout_s: float = 2.0
) -> Observation | None:
    """PJLink identity of one host (for `socle-agent identify HOST`); None if not PJLink."""
    facts = await query(ip, port, password, timeout_s)
    return None if facts is None else Observation(probe="pjlink", ip=ip, facts=facts)
