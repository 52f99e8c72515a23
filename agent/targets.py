"""What discovery may scan, decided once per cycle from settings and the host's interfaces.

Safe by default: configured subnets or interfaces are scanned as given; with nothing
configured only the subnet of the interface that holds the default route is scanned,
and never more than a /22 of it unless `allow_large_subnets`. No default route and
nothing configured means nothing is scanned. The route table path and the address
lister are parameters so tests run against a fake /proc and fake interfaces.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

import psutil

from agent.config import NetworkSettings

log = logging.getLogger(__name__)

PROC_ROUTE = Path("/proc/net/route")
_RTF_UP = 0x0001
_RTF_GATEWAY = 0x0002

AddressesFn = Callable[[], Mapping[str, Sequence[Any]]]


@dataclass(frozen=True)
class ScanTarget:
    """One subnet to scan, the local interface on it (None if not attached) and our address."""

    network: IPv4Network
    interface: str | None = None
    address: IPv4Address | None = None


def default_route_interface(route_path: Path = PROC_ROUTE) -> str | None:
    """Interface of the first up IPv4 default route in `/proc/net/route` format."""
    try:
        lines = route_path.read_text(encoding="ascii", errors="replace").splitlines()[1:]
    except OSError as exc:
        log.debug("cannot read %s: %s", route_path, exc)
        return None
    for line in lines:
        parts = line.split()
        if len(parts) < 8:
            continue
        try:
            destination, flags, mask = int(parts[1], 16), int(parts[3], 16), int(parts[7], 16)
        except ValueError:
            continue
        if destination == 0 and mask == 0 and flags & _RTF_UP and flags & _RTF_GATEWAY:
            return parts[0]
    return None


def interface_networks(name: str, addresses: AddressesFn) -> list[IPv4Interface]:
    """IPv4 address/prefix pairs of one interface (loopback and /32 host routes skipped)."""
    found: list[IPv4Interface] = []
    for addr in addresses().get(name, []):
        if addr.family != socket.AF_INET or not addr.netmask:
            continue
        try:
            iface = IPv4Interface(f"{addr.address}/{addr.netmask}")
        except ValueError:
            continue
        if not iface.ip.is_loopback and iface.network.prefixlen < 32:
            found.append(iface)
    return found


def cap(iface: IPv4Interface, settings: NetworkSettings) -> IPv4Network:
    """The interface's network, shrunk to the /22 (or configured cap) around our address."""
    limit = settings.max_prefix_without_override
    if settings.allow_large_subnets or iface.network.prefixlen >= limit:
        return iface.network
    capped = IPv4Interface(f"{iface.ip}/{limit}").network
    log.warning("subnet %s is larger than /%d; scanning %s only", iface.network, limit, capped)
    return capped


def resolve_targets(
    settings: NetworkSettings,
    route_path: Path = PROC_ROUTE,
    addresses: AddressesFn = psutil.net_if_addrs,
) -> list[ScanTarget]:
    """Configured subnets, else configured interfaces, else the default-route interface."""
    if settings.subnets:
        return [_attach(subnet, settings.interfaces, addresses) for subnet in settings.subnets]
    names = list(settings.interfaces)
    if not names:
        default = default_route_interface(route_path)
        if default is None:
            log.warning("no subnet configured and no default route: discovery scans nothing")
            return []
        names = [default]
    targets: list[ScanTarget] = []
    for name in names:
        for iface in interface_networks(name, addresses):
            target = ScanTarget(cap(iface, settings), name, iface.ip)
            if target not in targets:
                targets.append(target)
    return targets


def _attach(subnet: IPv4Network, allowed: Sequence[str], addresses: AddressesFn) -> ScanTarget:
    """The configured subnet with the local interface that holds it, if any."""
    for name in allowed or list(addresses()):
        for iface in interface_networks(name, addresses):
            if iface.ip in subnet or subnet.subnet_of(iface.network):
                return ScanTarget(subnet, name, iface.ip)
    return ScanTarget(subnet)


def excluded(targets: Sequence[ScanTarget], settings: NetworkSettings) -> set[IPv4Address]:
    """Addresses never probed: our own and the configured exclusions."""
    own = {t.address for t in targets if t.address is not None}
    return own | set(settings.exclude)
