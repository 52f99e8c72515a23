"""Client-side checks run *inside* a rig namespace (normally the agent's).

Why: the rig's own tests and the demo's ``status`` must see the school the way
the agent will: from the agent namespace, over the simulated LAN.  These are
deliberately simple clients (not the agent's probes) used to prove the rig
answers.  Run as ``python -m tests.rig.checks <snmp|walk|mdns|pjlink|search> JSON``;
prints one JSON document.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import time
from typing import Any


async def snmp_get(targets: list[list[str]], oid: str = "1.3.6.1.2.1.1.1.0") -> dict[str, Any]:
    """GET ``oid`` from each [ip, community]; returns ip -> value (or {"error": ...})."""
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        get_cmd,
    )

    engine = SnmpEngine()

    async def one(ip: str, community: str) -> tuple[str, Any]:
        target = await UdpTransportTarget.create((ip, 161), timeout=1, retries=2)
        err, status, _, binds = await get_cmd(
            engine,
            CommunityData(community, mpModel=1),
            target,
            ContextData(),
            ObjectType(ObjectIdentity(oid)),
        )
        if err or status:
            return ip, {"error": str(err or status.prettyPrint())}
        value = binds[0][1]
        raw = value.asOctets() if hasattr(value, "asOctets") else str(value).encode()
        return ip, raw.decode("utf-8", errors="replace")

    results = await asyncio.gather(*(one(ip, c) for ip, c in targets))
    engine.close_dispatcher()
    return dict(results)


async def snmp_walk(ip: str, community: str, oid: str) -> dict[str, str]:
    """Walk a subtree; returns oid -> prettyPrinted value."""
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        walk_cmd,
    )

    engine = SnmpEngine()
    out: dict[str, str] = {}
    target = await UdpTransportTarget.create((ip, 161), timeout=1, retries=2)
    async for err, status, _, binds in walk_cmd(
        engine,
        CommunityData(community, mpModel=1),
        target,
        ContextData(),
        ObjectType(ObjectIdentity(oid)),
        lexicographicMode=False,
    ):
        if err or status:
            break
        for name, val in binds:
            out[str(name)] = val.prettyPrint()
    engine.close_dispatcher()
    return out


async def mdns_browse(
    types: list[str], expect: int, timeout_s: float, ip: str
) -> list[dict[str, Any]]:
    """Browse DNS-SD types on the interface with address ``ip``; resolve every instance."""
    from zeroconf import IPVersion, ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

    azc = AsyncZeroconf(interfaces=[ip], ip_version=IPVersion.V4Only)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    tasks: set[asyncio.Task[None]] = set()
    all_found = asyncio.Event()

    async def resolve(stype: str, name: str) -> None:
        info = AsyncServiceInfo(stype, name)
        if await info.async_request(azc.zeroconf, 3000):
            found[(stype, name)] = {
                "type": stype.removesuffix(".local."),
                "instance": name.removesuffix("." + stype),
                "port": info.port,
                "addresses": info.parsed_addresses(),
                "server": info.server,
                "txt": {k.decode(): (v or b"").decode() for k, v in info.properties.items()},
            }
            if len(found) >= expect:
                all_found.set()

    def on_change(zeroconf: Any, service_type: str, name: str, state_change: Any) -> None:
        if state_change is ServiceStateChange.Added:
            t = asyncio.ensure_future(resolve(service_type, name))
            tasks.add(t)
            t.add_done_callback(tasks.discard)

    full = [t.rstrip(".") + ".local." for t in types]
    browser = AsyncServiceBrowser(azc.zeroconf, full, handlers=[on_change])
    if expect > 0:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(all_found.wait(), timeout_s)
    await browser.async_cancel()
    await azc.async_close()
    return list(found.values())


async def pjlink_query(
    ip: str, commands: list[str], password: str | None = None, port: int = 4352
) -> dict[str, Any]:
    """Connect to TCP 4352, authenticate if asked, send commands; returns greeting + replies."""
    import hashlib

    reader, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), 3)
    greeting = (await asyncio.wait_for(reader.readuntil(b"\r"), 3)).decode().rstrip("\r")
    replies: list[str | None] = []
    prefix = ""
    if greeting.startswith("PJLINK 1 ") and password is not None:
        prefix = hashlib.md5((greeting[9:] + password).encode()).hexdigest()
    for cmd in commands:
        writer.write(f"{prefix}{cmd}\r".encode())
        prefix = ""
        await writer.drain()
        try:
            replies.append(
                (await asyncio.wait_for(reader.readuntil(b"\r"), 3)).decode().rstrip("\r")
            )
        except (TimeoutError, asyncio.IncompleteReadError):
            replies.append(None)
            break
    writer.close()
    return {"greeting": greeting, "replies": replies}


def pjlink_search(broadcast: str, wait_s: float = 1.5) -> list[list[str]]:
    """Broadcast ``%2SRCH`` and collect (source ip, reply) pairs for ``wait_s``."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.bind(("0.0.0.0", 0))
    s.sendto(b"%2SRCH\r", (broadcast, 4352))
    out: list[list[str]] = []
    deadline = time.monotonic() + wait_s
    while (left := deadline - time.monotonic()) > 0:
        s.settimeout(left)
        try:
            data, addr = s.recvfrom(512)
        except TimeoutError:
            break
        out.append([addr[0], data.decode(errors="replace")])
    s.close()
    return out


def main(argv: list[str]) -> int:
    """CLI: ``checks.py KIND JSON-ARGS``."""
    kind, args = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    if kind == "snmp":
        result: Any = asyncio.run(snmp_get(args["targets"], args.get("oid", "1.3.6.1.2.1.1.1.0")))
    elif kind == "walk":
        result = asyncio.run(snmp_walk(args["ip"], args["community"], args["oid"]))
    elif kind == "mdns":
        result = asyncio.run(
            mdns_browse(args["types"], args["expect"], args.get("timeout_s", 5), args["ip"])
        )
    elif kind == "pjlink":
        result = asyncio.run(pjlink_query(args["ip"], args["commands"], args.get("password")))
    elif kind == "search":
        result = pjlink_search(args["broadcast"], args.get("wait_s", 1.5))
    else:
        raise SystemExit(f"unknown check {kind}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
