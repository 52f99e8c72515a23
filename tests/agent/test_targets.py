"""Target resolution: safe defaults, configured subnets and interfaces, the /22 cap."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from types import SimpleNamespace

from agent.config import NetworkSettings
from agent.targets import (
    ScanTarget,
    default_route_interface,
    excluded,
    resolve_targets,
)

ROUTE_HEADER = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
)
DEFAULT_VIA_ETH0 = ROUTE_HEADER + (
    "eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    "eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
)
NO_DEFAULT = ROUTE_HEADER + "eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"


def addrs(**interfaces: list[tuple[str, str]]) -> dict[str, list[SimpleNamespace]]:
    return {
        name: [
            SimpleNamespace(family=socket.AF_INET, address=ip, netmask=mask) for ip, mask in pairs
        ]
        for name, pairs in interfaces.items()
    }


HOST = addrs(
    lo=[("127.0.0.1", "255.0.0.0")],
    eth0=[("192.168.0.20", "255.255.255.0")],
    eth1=[("10.20.0.5", "255.255.0.0")],
    tun0=[("10.8.0.2", "255.255.255.255")],
)


def route(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "route"
    path.write_text(text)
    return path


def test_default_configuration_without_default_route_scans_nothing(tmp_path: Path) -> None:
    targets = resolve_targets(NetworkSettings(), route(tmp_path, NO_DEFAULT), lambda: HOST)
    assert targets == []
    assert resolve_targets(NetworkSettings(), tmp_path / "missing", lambda: HOST) == []


def test_default_route_interface_subnet_is_scanned(tmp_path: Path) -> None:
    path = route(tmp_path, DEFAULT_VIA_ETH0)
    assert default_route_interface(path) == "eth0"
    assert resolve_targets(NetworkSettings(), path, lambda: HOST) == [
        ScanTarget(IPv4Network("192.168.0.0/24"), "eth0", IPv4Address("192.168.0.20"))
    ]


def test_large_interface_subnet_is_capped_at_22_unless_allowed(tmp_path: Path) -> None:
    path = route(tmp_path, DEFAULT_VIA_ETH0.replace("eth0", "eth1"))
    capped = resolve_targets(NetworkSettings(), path, lambda: HOST)
    assert [t.network for t in capped] == [IPv4Network("10.20.0.0/22")]
    wide = resolve_targets(NetworkSettings(allow_large_subnets=True), path, lambda: HOST)
    assert [t.network for t in wide] == [IPv4Network("10.20.0.0/16")]


def test_configured_interfaces_skip_host_routes(tmp_path: Path) -> None:
    settings = NetworkSettings(interfaces=["tun0", "eth0"])
    targets = resolve_targets(settings, route(tmp_path, NO_DEFAULT), lambda: HOST)
    assert [t.network for t in targets] == [IPv4Network("192.168.0.0/24")]


def test_configured_subnets_win_and_find_their_interface(tmp_path: Path) -> None:
    settings = NetworkSettings(
        subnets=[IPv4Network("10.20.4.0/24"), IPv4Network("172.16.0.0/24")],
        exclude=[IPv4Address("10.20.4.1")],
    )
    targets = resolve_targets(settings, route(tmp_path, DEFAULT_VIA_ETH0), lambda: HOST)
    assert targets == [
        ScanTarget(IPv4Network("10.20.4.0/24"), "eth1", IPv4Address("10.20.0.5")),
        ScanTarget(IPv4Network("172.16.0.0/24")),
    ]
    assert excluded(targets, settings) == {IPv4Address("10.20.0.5"), IPv4Address("10.20.4.1")}


def test_garbage_route_lines_are_ignored(tmp_path: Path) -> None:
    text = ROUTE_HEADER + "short\nwlan0\tZZZZ\t0\t0003\t0\t0\t0\tXX\t0\t0\t0\n"
    assert default_route_interface(route(tmp_path, text)) is None
