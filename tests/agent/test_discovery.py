"""Discovery cycle orchestration with scripted probes: order, safety, bounds, progress."""

from __future__ import annotations

import asyncio
import time
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from agent.config import AgentSettings, NetworkSettings
from agent.discovery import PhaseEvent, discover_json, run_cycle
from agent.inventory import Inventory
from agent.targets import ScanTarget
from probes.base import Observation, ProbeContext
from probes.registry import ProbeRegistryError, build, check_names
from tests.agent.test_inventory import arp, rules

SUBNET = IPv4Network("10.0.0.0/24")
TARGET = ScanTarget(SUBNET, "eth9", IPv4Address("10.0.0.2"))


def settings(**network: object) -> AgentSettings:
    return AgentSettings.model_validate(
        {"school": {"uai": "0751234J", "classes": 4}, "network": network}
    )


class Scripted:
    """A probe that records what it was given and returns canned observations."""

    def __init__(
        self, name: str, result: list[Observation], delay_s: float = 0.0, fail: bool = False
    ) -> None:
        self.name, self.result, self.delay_s, self.fail = name, result, delay_s, fail
        self.contexts: list[ProbeContext] = []
        self.started_at: float | None = None

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        self.started_at = time.monotonic()
        self.contexts.append(ctx)
        ctx.progress(f"{self.name} working")
        await asyncio.sleep(self.delay_s)
        if self.fail:
            raise OSError("network unreachable")
        return self.result


def test_default_settings_without_default_route_scan_nothing(tmp_path: Path) -> None:
    route = tmp_path / "route"
    route.write_text("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n")
    probe = Scripted("arp", [])
    events: list[PhaseEvent] = []
    result = asyncio.run(
        run_cycle(settings(), {"arp": probe}, route_path=route, progress=events.append)
    )
    assert probe.contexts == [] and result.targets == []
    assert [(e.phase, e.state) for e in events] == [("targets", "skipped")]


async def test_arp_first_then_the_others_concurrently_on_live_hosts() -> None:
    arp_probe = Scripted(
        "arp", [arp("10.0.0.10", "00:1b:a9:00:00:01"), arp("10.0.0.99", "00:1b:a9:00:00:63")]
    )
    snmp = Scripted(
        "snmp",
        [Observation(probe="snmp", ip=IPv4Address("10.0.0.10"), facts={"snmp.printer_mib": True})],
        delay_s=0.3,
    )
    pjlink = Scripted("pjlink", [], delay_s=0.3)
    events: list[PhaseEvent] = []
    result = await run_cycle(
        settings(exclude=["10.0.0.99"]),
        {"arp": arp_probe, "snmp": snmp, "pjlink": pjlink},
        inventory=Inventory(rules),
        targets=[TARGET],
        progress=events.append,
    )
    (ctx,) = snmp.contexts
    assert list(ctx.hosts) == [IPv4Address("10.0.0.10")]  # excluded address never probed
    assert ctx.macs[IPv4Address("10.0.0.10")] == "00:1b:a9:00:00:01"
    assert ctx.interface == "eth9" and list(ctx.subnets) == [SUBNET]
    assert snmp.started_at is not None and pjlink.started_at is not None
    assert abs(snmp.started_at - pjlink.started_at) < 0.1  # concurrent
    assert result.inventory.get("00:1b:a9:00:00:01").category == "printer"  # type: ignore[union-attr]
    phases = [(e.phase, e.state) for e in events]
    assert phases[:3] == [("targets", "done"), ("arp", "start"), ("arp", "progress")]
    assert ("snmp", "progress") in phases and phases[-1] == ("classify", "done")
    assert discover_json(result)["cycle"]["live_hosts"] == 1


async def test_a_failing_or_hanging_probe_costs_only_its_own_results() -> None:
    probes = {
        "arp": Scripted("arp", [arp("10.0.0.10", "00:1b:a9:00:00:01")]),
        "snmp": Scripted("snmp", [], fail=True),
        "mdns": Scripted("mdns", [], delay_s=30),
        "pjlink": Scripted(
            "pjlink",
            [Observation(probe="pjlink", ip=IPv4Address("10.0.0.10"), facts={"pjlink.class": 1})],
        ),
    }
    start = time.monotonic()
    result = await run_cycle(
        settings(), probes, inventory=Inventory(rules), targets=[TARGET], budget_s=1.0
    )
    assert time.monotonic() - start < 2.0
    assert result.errors["snmp"] == "OSError: network unreachable"
    assert result.errors["mdns"].startswith("stopped after")
    assert result.inventory.devices[0].category == "projector"


async def test_routed_subnets_without_arp_are_probed_address_by_address() -> None:
    snmp = Scripted("snmp", [])
    await run_cycle(
        settings(),
        {"snmp": snmp},
        inventory=Inventory(rules),
        targets=[ScanTarget(IPv4Network("172.16.0.0/29"))],
    )
    assert len(snmp.contexts[0].hosts) == 6


def test_registry_refuses_unknown_and_duplicate_names() -> None:
    assert check_names(["arp", "snmp"]) == ["arp", "snmp"]
    with pytest.raises(ProbeRegistryError, match="unknown probe 'netbios'"):
        check_names(["arp", "netbios"])
    with pytest.raises(ProbeRegistryError, match="listed twice"):
        check_names(["arp", "mdns", "arp"])
    built = build(settings())
    assert list(built) == ["arp", "mdns", "snmp", "pjlink"]
    assert all(probe.name == name for name, probe in built.items())
    disabled = AgentSettings.model_validate(
        {"school": {"uai": "0751234J", "classes": 4}, "pjlink": {"enabled": False}}
    )
    assert "pjlink" not in build(disabled)


def test_configured_network_settings_are_used(tmp_path: Path) -> None:
    probe = Scripted("arp", [])
    result = asyncio.run(
        run_cycle(
            settings(subnets=["10.200.0.0/28"]),
            {"arp": probe},
            inventory=Inventory(rules),
            route_path=tmp_path / "none",
        )
    )
    assert [t.network for t in result.targets] == [IPv4Network("10.200.0.0/28")]
    assert list(probe.contexts[0].subnets) == [IPv4Network("10.200.0.0/28")]
    assert NetworkSettings().subnets == []
