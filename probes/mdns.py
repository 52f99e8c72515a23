"""mDNS / DNS-SD: printers, scanners, NAS and mirroring boxes announce what they are.

Zeroconf is bound to the scanned interface's address only (`interfaces=[ip]`), so no
query leaves on another network. We browse a catalogue of service types seen on
school equipment plus whatever `_services._dns-sd._udp` enumeration reveals
(bounded), then resolve each instance with a timeout. TXT records come from
devices we do not control: keys and values are decoded leniently, cleaned and
capped, and only a bounded number of keys is kept.

Facts: `mdns.*` (docs/observations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import psutil

from probes.arp import AddressesFn, find_interface
from probes.base import FactValue, Observation, ProbeContext, clean_text

log = logging.getLogger(__name__)

ENUMERATION = "_services._dns-sd._udp.local."
CATALOGUE: tuple[str, ...] = (
    "_ipp._tcp",  # printers
    "_ipps._tcp",
    "_printer._tcp",
    "_pdl-datastream._tcp",
    "_uscan._tcp",  # scanners (eSCL / AirScan)
    "_uscans._tcp",
    "_scanner._tcp",
    "_smb._tcp",  # NAS and file sharing
    "_afpovertcp._tcp",
    "_nfs._tcp",
    "_device-info._tcp",
    "_googlecast._tcp",  # screen mirroring
    "_airplay._tcp",
    "_raop._tcp",
    "_http._tcp",
    "_workstation._tcp",
    "_ssh._tcp",
    "_sftp-ssh._tcp",
    "_companion-link._tcp",
)
MAX_TYPES = 64  # browsed types in all: enumeration must not grow without end
MAX_INSTANCES = 512  # resolved instances per cycle
MAX_TXT_KEYS = 48  # a printer publishes ~25
TXT_KEY_LIMIT = 64  # chars
TXT_VALUE_LIMIT = 256  # chars
_RESOLVE_CONCURRENCY = 32

# Best-first TXT keys for manufacturer and model. `_device-info._tcp`'s `model` is
# only a Finder icon hint (TrueNAS says `MacPro7,1`), so it comes last.
MANUFACTURER_KEYS = ("usb_MFG", "manufacturer", "mfg")
MODEL_KEYS = ("ty", "usb_MDL", "product", "md", "model")


def full_type(service_type: str) -> str:
    return service_type if service_type.endswith(".local.") else f"{service_type}.local."


def short_type(service_type: str) -> str:
    return service_type.removesuffix(".").removesuffix(".local")


def parse_txt(properties: Mapping[bytes | str, bytes | str | None]) -> dict[str, str]:
    """TXT key/values as clean text; at most MAX_TXT_KEYS keys, each value capped."""
    parsed: dict[str, str] = {}
    for raw_key, raw_value in properties.items():
        if len(parsed) >= MAX_TXT_KEYS:
            break
        key = clean_text(raw_key, TXT_KEY_LIMIT)
        if key and key not in parsed:
            parsed[key] = "" if raw_value is None else clean_text(raw_value, TXT_VALUE_LIMIT)
    return parsed


def _first(txts: Iterable[Mapping[str, str]], keys: Sequence[str]) -> str | None:
    txt_list = list(txts)
    for key in keys:
        for txt in txt_list:
            value = txt.get(key, "").strip()
            if key == "product":
                value = value.strip("()").strip()
            if value:
                return value
    return None


@dataclass
class _Host:
    """What one address announced, across all its services."""

    services: set[str] = field(default_factory=set)
    instances: set[str] = field(default_factory=set)
    txt: dict[str, dict[str, str]] = field(default_factory=dict)
    hostname: str | None = None

    def facts(self) -> dict[str, FactValue]:
        ordered = [t for t in sorted(self.txt) if t != "_device-info._tcp"]
        ordered += [t for t in self.txt if t == "_device-info._tcp"]
        txts = [self.txt[t] for t in ordered]
        facts: dict[str, FactValue] = {
            "mdns.services": sorted(self.services),
            "mdns.instances": sorted(self.instances)[:32],
            "mdns.txt": {t: dict(v) for t, v in self.txt.items()},
        }
        if self.hostname:
            facts["mdns.hostname"] = self.hostname
        if manufacturer := _first(txts, MANUFACTURER_KEYS):
            facts["mdns.manufacturer"] = manufacturer
        if model := _first(txts, MODEL_KEYS):
            facts["mdns.model"] = model
        return facts


class MdnsProbe:
    """Browse, enumerate, resolve; one observation per announcing address in scope."""

    name = "mdns"

    def __init__(
        self,
        browse_s: float = 2.0,
        resolve_timeout_s: float = 1.0,
        service_types: Sequence[str] = CATALOGUE,
        enumerate_types: bool = True,
        addresses: AddressesFn = psutil.net_if_addrs,
    ) -> None:
        self.browse_s, self.resolve_timeout_s = browse_s, resolve_timeout_s
        self.service_types = tuple(full_type(t) for t in service_types)
        self.enumerate_types = enumerate_types
        self.addresses = addresses

    def _bind_address(self, ctx: ProbeContext) -> IPv4Address | None:
        for subnet in ctx.subnets:
            iface = find_interface(subnet, ctx.interface, self.addresses)
            if iface is not None:
                return iface.ip
        return None

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        bind = self._bind_address(ctx)
        if bind is None:
            log.warning("mdns: no local interface on %s; not browsed", list(ctx.subnets))
            return []
        from zeroconf import IPVersion
        from zeroconf.asyncio import AsyncZeroconf

        aiozc = AsyncZeroconf(interfaces=[str(bind)], ip_version=IPVersion.V4Only)
        try:
            found = await self._browse(aiozc, ctx)
            hosts = await self._resolve(aiozc, found, ctx.subnets, bind)
        finally:
            await aiozc.async_close()
        return [
            Observation(probe=self.name, ip=ip, mac=ctx.macs.get(ip), facts=host.facts())
            for ip, host in sorted(hosts.items())
        ]

    async def _browse(self, aiozc: Any, ctx: ProbeContext) -> set[tuple[str, str]]:
        """(type, instance name) pairs announced during `browse_s`."""
        from zeroconf import ServiceStateChange
        from zeroconf.asyncio import AsyncServiceBrowser

        found: set[tuple[str, str]] = set()
        browsed = set(self.service_types)
        new_types: list[str] = []

        def on_change(
            zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange
        ) -> None:
            if state_change is ServiceStateChange.Removed:
                return
            if service_type == ENUMERATION:
                kind = full_type(short_type(name))
                if kind not in browsed and len(browsed) < MAX_TYPES:
                    browsed.add(kind)
                    new_types.append(kind)
            elif len(found) < MAX_INSTANCES:
                found.add((service_type, name))

        types = [*self.service_types, *([ENUMERATION] if self.enumerate_types else [])]
        browsers = [AsyncServiceBrowser(aiozc.zeroconf, types, handlers=[on_change])]
        ctx.progress(f"mdns: browsing {len(types)} service types")
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.browse_s
            extended = False
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    if found or extended:
                        break
                    # Silence on a busy box is more often late answers than an empty
                    # network: browse once more before concluding there is nothing.
                    deadline, extended = deadline + self.browse_s, True
                    continue
                await asyncio.sleep(min(left, 0.1))
                if new_types:
                    extra, new_types[:] = list(new_types), []
                    browsers.append(
                        AsyncServiceBrowser(aiozc.zeroconf, extra, handlers=[on_change])
                    )
        finally:
            for browser in browsers:
                with contextlib.suppress(Exception):
                    await browser.async_cancel()
        return found

    async def _resolve(
        self,
        aiozc: Any,
        found: set[tuple[str, str]],
        subnets: Sequence[IPv4Network],
        bind: IPv4Address,
    ) -> dict[IPv4Address, _Host]:
        from zeroconf import IPVersion
        from zeroconf.asyncio import AsyncServiceInfo

        gate = asyncio.Semaphore(_RESOLVE_CONCURRENCY)
        hosts: dict[IPv4Address, _Host] = {}
        timeout_ms = int(self.resolve_timeout_s * 1000)

        async def one(service_type: str, name: str) -> None:
            info = AsyncServiceInfo(service_type, name)
            async with gate:
                try:
                    if not info.load_from_cache(aiozc.zeroconf):
                        await info.async_request(aiozc.zeroconf, timeout_ms)
                except Exception as exc:  # a malformed record must not end the cycle
                    log.debug("mdns: cannot resolve %r: %s", name, exc)
                    return
            for text in info.parsed_addresses(IPVersion.V4Only):
                ip = IPv4Address(text)
                if ip == bind or not any(ip in s for s in subnets):
                    continue
                _record(hosts.setdefault(ip, _Host()), service_type, name, info)

        await asyncio.gather(*(one(t, n) for t, n in sorted(found)))
        return hosts


def _record(host: _Host, service_type: str, name: str, info: Any) -> None:
    kind = short_type(service_type)
    host.services.add(kind)
    instance = name.removesuffix(service_type).removesuffix(".")
    if instance := clean_text(instance, 128):
        host.instances.add(instance)
    host.txt[kind] = parse_txt(info.properties or {})
    if info.server and not host.hostname:
        host.hostname = clean_text(str(info.server).removesuffix("."), 128) or None
