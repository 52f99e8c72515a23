"""mDNS / DNS-SD announcer for one simulated host (run inside its namespace).

Why: printers, scanners, NAS and casting boxes advertise themselves with
DNS-SD; the agent's mDNS probe must find them with realistic TXT records.
Each host gets one announcer bound to its LAN address only, so nothing leaks
to other interfaces.  All of a host's services are registered concurrently
(probing takes ~0.8-1.6 s each) and ``READY`` is printed once every service
answers queries, so the rig can wait on it instead of sleeping.

Usage: ``python -m tests.rig.mdns_announcer --spec '{"ip": ..., "hostname": ...,
"services": [{"type": "_ipp._tcp", "instance": ..., "port": 631, "txt": {...}}]}'``
(``--spec @file.json`` reads a file).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import sys
from typing import Any

from zeroconf import IPVersion, ServiceInfo
from zeroconf.asyncio import AsyncZeroconf


def _load_spec(raw: str) -> dict[str, Any]:
    if raw.startswith("@"):
        with open(raw[1:], encoding="utf-8") as fh:
            return dict(json.load(fh))
    return dict(json.loads(raw))


def service_infos(spec: dict[str, Any]) -> list[ServiceInfo]:
    """Build zeroconf ServiceInfo objects from the JSON spec."""
    addr = socket.inet_aton(spec["ip"])
    infos = []
    for s in spec["services"]:
        stype = s["type"].rstrip(".") + ".local."
        infos.append(
            ServiceInfo(
                stype,
                f"{s['instance']}.{stype}",
                port=int(s["port"]),
                properties={k: str(v) for k, v in s.get("txt", {}).items()},
                server=spec["hostname"],
                addresses=[addr],
            )
        )
    return infos


async def announce(spec: dict[str, Any]) -> None:
    """Register all services, print READY, then serve until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    azc = AsyncZeroconf(interfaces=[spec["ip"]], ip_version=IPVersion.V4Only)
    infos = service_infos(spec)
    # async_register_service returns once probing is done and the service answers;
    # the awaitable it returns covers the follow-up announcements.
    announced = await asyncio.gather(
        *(azc.async_register_service(i, allow_name_change=True) for i in infos)
    )
    print("READY", len(infos), flush=True)
    await asyncio.gather(*announced)
    await stop.wait()
    await azc.async_close()


def main(argv: list[str] | None = None) -> int:
    """Entry point (also called by the fork server)."""
    p = argparse.ArgumentParser(prog="mdns_announcer")
    p.add_argument("--spec", required=True, help="JSON spec or @file")
    args = p.parse_args(argv)
    asyncio.run(announce(_load_spec(args.spec)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
