"""Inventory merging: MAC keys, moving IPs, joins, duplicates, freshness, presence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from typing import Any

from agent.inventory import Inventory
from probes.base import FactValue, Observation

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=30)
T2 = T1 + timedelta(minutes=30)
PRINTER = "00:1b:a9:00:00:01"
PHONE = "06:00:00:00:00:02"


@dataclass(frozen=True)
class Verdict:
    category: str
    confidence: float = 0.9
    evidence: list[str] = field(default_factory=list)
    vendor: str | None = None
    model: str | None = None


def rules(facts: Mapping[str, FactValue]) -> Verdict:
    """A stand-in classifier: the inventory must not care how categories are decided."""
    if "pjlink.class" in facts:
        return Verdict(
            "projector", evidence=["pjlink answered"], model=str(facts.get("pjlink.model"))
        )
    if facts.get("snmp.printer_mib"):
        return Verdict("printer", evidence=["Printer-MIB"], vendor="Brother")
    if "snmp.dot11" in facts:
        return Verdict("access_point", evidence=["802.11 MIB"])
    if facts.get("arp.locally_administered"):
        return Verdict("tablet_or_phone", 0.4, ["random MAC"])
    return Verdict("unknown", 0.0)


def arp(ip: str, mac: str) -> Observation:
    la = int(mac[:2], 16) & 2 == 2
    return Observation(
        probe="arp",
        ip=IPv4Address(ip),
        mac=mac,
        facts={"arp.source": "sweep", "arp.locally_administered": la},
    )


def snmp(ip: str, **facts: Any) -> Observation:
    return Observation(
        probe="snmp", ip=IPv4Address(ip), facts={f"snmp.{k}": v for k, v in facts.items()}
    )


def test_an_ip_change_is_the_same_device() -> None:
    inv = Inventory(rules)
    inv.ingest([arp("10.0.0.10", PRINTER), snmp("10.0.0.10", printer_mib=True)], T0)
    inv.ingest([arp("10.0.0.77", PRINTER)], T1)
    (device,) = inv.devices
    assert device.ip == IPv4Address("10.0.0.77")
    assert device.previous_ips == [IPv4Address("10.0.0.10")]
    assert "ip_changed" in device.flags
    assert (device.first_seen, device.last_seen) == (T0, T1)
    assert device.category == "printer"  # SNMP facts of the previous cycle are kept


def test_ip_only_observations_attach_through_arp() -> None:
    inv = Inventory(rules)
    summary = inv.ingest([arp("10.0.0.10", PRINTER), snmp("10.0.0.10", sys_descr="HP")], T0)
    assert summary.seen == 1 and summary.new == 1
    assert inv.get(PRINTER) is not None and inv.get(PRINTER).facts["snmp.sys_descr"] == "HP"  # type: ignore[union-attr]


def test_a_device_first_known_by_ip_adopts_its_mac() -> None:
    inv = Inventory(rules)
    inv.ingest([snmp("10.9.0.5", sys_descr="routed printer")], T0)
    assert [d.id for d in inv.devices] == ["ip:10.9.0.5"]
    inv.ingest([arp("10.9.0.5", PRINTER)], T1)
    (device,) = inv.devices
    assert device.mac == PRINTER and device.first_seen == T0


def test_a_serial_number_joins_two_macs() -> None:
    inv = Inventory(rules)
    wired, wifi = "00:26:ab:00:00:01", "00:26:ab:00:00:99"
    inv.ingest([arp("10.0.0.20", wired), snmp("10.0.0.20", serial="X4HK123456")], T0)
    pj = Observation(
        probe="pjlink",
        ip=IPv4Address("10.0.0.21"),
        facts={"pjlink.class": 1, "pjlink.serial": "x4hk123456"},
    )
    inv.ingest([arp("10.0.0.21", wifi), pj], T1)
    (device,) = inv.devices
    assert device.macs == [wired, wifi]
    assert device.category == "projector"


def test_junk_serials_do_not_join_strangers() -> None:
    inv = Inventory(rules)
    inv.ingest(
        [
            arp("10.0.0.1", "00:11:22:00:00:01"),
            snmp("10.0.0.1", serial="0000000000"),
            arp("10.0.0.2", "00:11:22:00:00:02"),
            snmp("10.0.0.2", serial="0000000000"),
            arp("10.0.0.3", "00:11:22:00:00:03"),
            snmp("10.0.0.3", serial="N/A"),
        ],
        T0,
    )
    assert len(inv.devices) == 3


def test_a_cast_id_and_interface_macs_join_records() -> None:
    inv = Inventory(rules)
    cast = {"mdns.txt": {"_googlecast._tcp": {"id": "4f8e2c1a9b7d4e6f"}}}
    inv.ingest(
        [
            arp("10.0.0.30", "54:60:09:00:00:01"),
            Observation(probe="mdns", ip=IPv4Address("10.0.0.30"), facts=cast),
        ],
        T0,
    )
    inv.ingest(
        [
            arp("10.0.0.31", "54:60:09:00:00:02"),
            Observation(probe="mdns", ip=IPv4Address("10.0.0.31"), facts=cast),
        ],
        T1,
    )
    assert len(inv.devices) == 1
    ap_macs = ["24:a4:3c:00:00:01", "24:a4:3c:00:00:02"]
    inv.ingest([arp("10.0.0.40", ap_macs[1]), snmp("10.0.0.40", dot11=True, if_macs=ap_macs)], T2)
    inv.ingest([arp("10.0.0.41", ap_macs[0])], T2 + timedelta(minutes=30))
    assert len(inv.devices) == 2
    assert inv.get(ap_macs[0]) is inv.get(ap_macs[1])


def test_duplicate_ip_flags_both_and_never_guesses_the_owner() -> None:
    inv = Inventory(rules)
    other = "00:1b:a9:00:00:99"
    summary = inv.ingest(
        [arp("10.0.0.10", PRINTER), arp("10.0.0.10", other), snmp("10.0.0.10", printer_mib=True)],
        T0,
    )
    assert summary.duplicate_ips == [IPv4Address("10.0.0.10")] and summary.unattached == 1
    assert all("duplicate_ip" in d.flags for d in inv.devices)
    assert all("snmp.printer_mib" not in d.facts for d in inv.devices)
    inv.ingest(
        [
            arp("10.0.0.10", PRINTER),
            arp("10.0.0.10", other),
            snmp("10.0.0.10", printer_mib=True, if_macs=[other]),
        ],
        T1,
    )
    assert inv.get(other).category == "printer"  # type: ignore[union-attr]
    assert inv.get(PRINTER).category == "unknown"  # type: ignore[union-attr]


def test_a_mac_answering_for_two_ips_is_one_device() -> None:
    inv = Inventory(rules)
    inv.ingest([arp("10.0.0.1", PRINTER), arp("10.0.0.2", PRINTER)], T0)
    (device,) = inv.devices
    assert "multiple_ips" in device.flags and device.ip == IPv4Address("10.0.0.1")
    inv.ingest([arp("10.0.0.2", PRINTER), arp("10.0.0.3", PRINTER)], T1)
    assert inv.devices[0].ip == IPv4Address("10.0.0.2")


def test_each_cycle_replaces_a_probes_facts_as_a_whole() -> None:
    inv = Inventory(rules)
    pj = Observation(probe="pjlink", ip=IPv4Address("10.0.0.10"), facts={"pjlink.class": 1})
    inv.ingest(
        [arp("10.0.0.10", PRINTER), snmp("10.0.0.10", sys_descr="a", serial="ABC12345"), pj], T0
    )
    inv.ingest([arp("10.0.0.10", PRINTER), snmp("10.0.0.10", sys_descr="b")], T1)
    facts = inv.devices[0].facts
    assert facts["snmp.sys_descr"] == "b" and "snmp.serial" not in facts
    assert facts["pjlink.class"] == 1
    assert facts["oui.vendor"].startswith("Brother")  # type: ignore[union-attr]


def test_presence_is_marked_for_every_known_device_each_cycle() -> None:
    inv = Inventory(rules)
    ap = "24:a4:3c:00:00:01"
    inv.ingest([arp("10.0.0.5", ap), snmp("10.0.0.5", dot11=True), arp("10.0.0.6", PHONE)], T0)
    inv.ingest([arp("10.0.0.6", PHONE)], T1)
    inv.ingest([arp("10.0.0.5", ap)], T2)
    assert inv.presence(["access_point"]) == [(T0, ap, True), (T1, ap, False), (T2, ap, True)]
    assert inv.get(ap).last_seen == T2  # type: ignore[union-attr]
    assert inv.prune(T2) == 1 and len(inv.devices) == 1


def test_hostile_strings_are_sanitised_and_capped() -> None:
    deep: Any = "x"
    for _ in range(10):
        deep = [deep]
    facts = {
        "snmp.sys_descr": "<script>alert('x')</script>\x00\x1b[2J" + "A" * 65536,
        "snmp.sys_name": "\udcff\u202e evil",
        "snmp.nested": deep,
        "snmp.many": list(range(10_000)),
        "snmp.nan": float("nan"),
    }
    inv = Inventory(rules)
    inv.ingest(
        [
            arp("10.0.0.10", PRINTER),
            Observation(probe="snmp", ip=IPv4Address("10.0.0.10"), facts=facts),
        ],
        T0,
    )
    stored = inv.devices[0].facts
    descr = stored["snmp.sys_descr"]
    assert isinstance(descr, str) and len(descr) == 512 and descr.startswith("<script>")
    assert "\x00" not in descr and "\x1b" not in descr
    assert stored["snmp.nan"] is None
    assert len(stored["snmp.many"]) == 64  # type: ignore[arg-type]
    assert "[[[[" not in repr(stored["snmp.nested"])[8:]


def test_a_failing_classifier_does_not_lose_the_cycle() -> None:
    def broken(facts: Mapping[str, FactValue]) -> Verdict:
        raise RuntimeError("bug")

    inv = Inventory(broken)
    summary = inv.ingest([arp("10.0.0.10", PRINTER)], T0)
    assert summary.seen == 1 and inv.devices[0].category == "unknown"


def test_a_serial_shared_by_live_devices_is_a_firmware_default() -> None:
    inv = Inventory(rules)
    batch = []
    for i in range(3):
        ip, mac = f"10.0.0.{10 + i}", f"00:26:ab:00:00:{i:02x}"
        pj = Observation(
            probe="pjlink",
            ip=IPv4Address(ip),
            facts={"pjlink.class": 2, "pjlink.serial": "X4HK7300123"},
        )
        batch += [arp(ip, mac), pj]
    inv.ingest(batch, T0)
    inv.ingest(batch, T1)
    assert len(inv.devices) == 3
    assert all(d.category == "projector" for d in inv.devices)


def test_cloned_interface_macs_do_not_join_live_devices() -> None:
    inv = Inventory(rules)
    batch = []
    for i in range(2):
        ip = f"10.0.0.{20 + i}"
        batch += [
            arp(ip, f"00:26:ab:00:01:{i:02x}"),
            snmp(ip, dot11=True, if_macs=["00:26:ab:99:99:99"]),
        ]
    inv.ingest(batch, T0)
    assert len(inv.devices) == 2
