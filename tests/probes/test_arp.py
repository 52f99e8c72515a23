"""ARP probe: /proc/net/arp parsing, pacing maths, and real sweeps inside namespaces."""

from __future__ import annotations

import socket
import textwrap
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest

from probes.arp import (
    ArpProbe,
    SweepTiming,
    find_interface,
    read_neighbours,
    scan_targets,
)
from probes.base import ProbeContext
from tests.probes.netlab import lab, needs_netns

PROC_ARP = textwrap.dedent(
    """\
    IP address       HW type     Flags       HW address            Mask     Device
    10.77.0.10       0x1         0x2         00:1b:a9:01:02:03     *        eth0
    10.77.0.11       0x1         0x0         00:00:00:00:00:00     *        eth0
    10.77.0.12       0x1         0x2         02:11:22:33:44:55     *        eth0
    10.77.0.13       0x1         0x2         64:eb:8c:00:00:01     *        wlan0
    garbage line
    10.77.0.999      0x1         0x2         00:1b:a9:01:02:04     *        eth0
    10.77.0.14       0x1         0x2         not-a-mac             *        eth0
    """
)


def test_read_neighbours_keeps_complete_entries_on_the_interface(tmp_path: Path) -> None:
    path = tmp_path / "arp"
    path.write_text(PROC_ARP)
    assert read_neighbours(path, "eth0") == [
        (IPv4Address("10.77.0.10"), "00:1b:a9:01:02:03"),
        (IPv4Address("10.77.0.12"), "02:11:22:33:44:55"),
    ]
    assert len(read_neighbours(path)) == 3
    assert read_neighbours(tmp_path / "missing") == []


def test_timing_follows_arp_scan_defaults() -> None:
    timing = SweepTiming()
    assert timing.attempts == 2  # arp-scan --retry: total tries per host
    assert timing.interval_s == pytest.approx(0.0013125)  # 42-byte frames at 256 kbit/s
    assert [timing.wait_after(i) for i in range(3)] == [0.5, 0.75, 1.125]
    assert timing.worst_case_s(254) < 3.0


def test_scan_targets_skips_own_and_excluded_addresses() -> None:
    targets = scan_targets(
        IPv4Network("10.0.0.0/29"), IPv4Address("10.0.0.1"), [IPv4Address("10.0.0.6")]
    )
    assert targets == [IPv4Address(f"10.0.0.{i}") for i in (2, 3, 4, 5)]


def _addrs(**interfaces: tuple[str, str]) -> dict[str, list[SimpleNamespace]]:
    return {
        name: [
            SimpleNamespace(family=socket.AF_INET, address=ip),
            SimpleNamespace(family=psutil.AF_LINK, address=mac),
        ]
        for name, (ip, mac) in interfaces.items()
    }


def test_find_interface_picks_the_one_on_the_subnet() -> None:
    table = _addrs(
        eth0=("192.168.1.5", "00:11:22:33:44:55"), eth1=("10.1.0.2", "00:aa:bb:cc:dd:ee")
    )
    found = find_interface(IPv4Network("10.1.0.0/24"), addresses=lambda: table)
    assert found is not None and found.name == "eth1" and found.ip == IPv4Address("10.1.0.2")
    assert find_interface(IPv4Network("10.1.0.0/24"), "eth0", lambda: table) is None


async def test_no_interface_on_the_subnet_sends_nothing() -> None:
    probe = ArpProbe(addresses=lambda: {}, raw=True)
    assert await probe.run(ProbeContext(subnets=[IPv4Network("10.99.0.0/24")])) == []


SWEEP = """
import asyncio, json, time
from ipaddress import IPv4Network
from probes.arp import ArpProbe
from probes.base import ProbeContext
t = time.monotonic()
obs = asyncio.run(ArpProbe(raw={raw}, fallback_wait_s=1.5).run(
    ProbeContext(subnets=[IPv4Network("10.77.0.0/24")], interface="eth0")))
print(json.dumps({{"elapsed": time.monotonic() - t,
                  "obs": [o.model_dump(mode="json") for o in obs]}}))
"""


@needs_netns
@pytest.mark.parametrize("raw", [True, False], ids=["sweep", "udp-nudge"])
def test_sweep_finds_every_host_in_a_namespace_lan(raw: bool) -> None:
    with lab() as net:
        agent = net.add_host("agent", "10.77.0.2")
        net.add_host("prn", "10.77.0.10", "00:1b:a9:01:02:03")
        net.add_host("tab", "10.77.0.20", "06:11:22:33:44:55")
        net.add_host("quiet", "10.77.0.254", "64:eb:8c:00:00:01")
        result = net.run_json(agent, SWEEP.format(raw=raw))
    assert isinstance(result, dict)
    by_ip = {o["ip"]: o for o in result["obs"]}
    assert set(by_ip) == {"10.77.0.10", "10.77.0.20", "10.77.0.254"}
    printer, tablet = by_ip["10.77.0.10"], by_ip["10.77.0.20"]
    assert printer["mac"] == "00:1b:a9:01:02:03"
    assert printer["facts"]["oui.vendor"].startswith("Brother")
    assert printer["facts"]["arp.locally_administered"] is False
    assert tablet["facts"]["arp.locally_administered"] is True
    assert "oui.vendor" not in tablet["facts"]
    assert printer["facts"]["arp.source"] == ("sweep" if raw else "proc")
    assert result["elapsed"] < 6.0
