"""classify(): table-driven cases from SNMP alone, mDNS/PJLink/ARP alone, traps, odd input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.categories import CATEGORIES
from agent.classify import Classification, classify
from agent.config import SnmpSettings, SnmpV1V2Credential
from agent.identify import IdentifyResult, identify_host, with_community
from probes.base import FactValue, Observation

NET_SNMP = "1.3.6.1.4.1.8072.3.2.10"

CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "epson projector shares the printers' enterprise",
        {"snmp.sys_descr": "EPSON Network Projector", "snmp.sys_object_id": "1.3.6.1.4.1.1248.4.1",
         "snmp.enterprise": 1248, "snmp.vendor": "Epson"},
        "projector",
    ),
    (
        "unknown projector brand from its own name",
        {"snmp.sys_descr": "ACME Projector LX-300", "snmp.sys_object_id": "1.3.6.1.4.1.99999.1"},
        "projector",
    ),
    (
        "HP printer behind JetDirect (network card sysDescr)",
        {"snmp.sys_descr": "HP ETHERNET MULTI-ENVIRONMENT", "snmp.sys_object_id": "1.3.6.1.4.1.11.2.3.9.1",
         "snmp.enterprise": 11, "snmp.printer_mib": True},
        "printer",
    ),
    (
        "HP MFP filed as a network device elsewhere",
        {"snmp.sys_descr": "HP ETHERNET MULTI-ENVIRONMENT,PID:HP LaserJet MFP M428fdw",
         "snmp.sys_object_id": "1.3.6.1.4.1.11.2.3.9.1", "snmp.printer_mib": True},
        "mfp",
    ),
    (
        "Net-SNMP based printer says Linux but answers the Printer-MIB",
        {"snmp.sys_descr": "Linux printer 4.1.0", "snmp.sys_object_id": NET_SNMP,
         "snmp.printer_mib": True, "snmp.hr_devices": [{"type": "printer", "descr": "Some Printer"}]},
        "printer",
    ),
    (
        "printer with a scanner unit in hrDeviceTable",
        {"snmp.sys_descr": "Office device", "snmp.printer_mib": True,
         "snmp.hr_devices": [{"type": "printer", "descr": "X"}, {"type": "other", "descr": "Scanner Unit"}]},
        "mfp",
    ),
    (
        "scan server without Printer-MIB",
        {"snmp.sys_descr": "ACME Ethernet Scan Server", "snmp.sys_object_id": "1.3.6.1.4.1.1248.1.1.2"},
        "scanner",
    ),
    (
        "Windows PC with print queues is not a printer",
        {"snmp.sys_descr": "Hardware: x86 - Software: Windows Version 6.3",
         "snmp.sys_object_id": "1.3.6.1.4.1.311.1.1.3.1.1",
         "snmp.hr_devices": [{"type": "printer", "descr": "HP LaserJet 4000"}]},
        "computer",
    ),
    (
        "Linux + net-snmp + Synology subtree = NAS",
        {"snmp.sys_descr": "Linux ds 4.4.59", "snmp.sys_object_id": NET_SNMP,
         "snmp.vendor_subtrees": [2021, 6574]},
        "nas",
    ),
    (
        "plain Linux with net-snmp and nothing else is a computer (low confidence)",
        {"snmp.sys_descr": "Linux box 5.10", "snmp.sys_object_id": NET_SNMP, "snmp.vendor_subtrees": [2021]},
        "computer",
    ),
    (
        "Net-SNMP access point: radios and SSIDs",
        {"snmp.sys_descr": "Linux ap 4.4.60", "snmp.sys_object_id": NET_SNMP, "snmp.ssids": ["ecole"],
         "snmp.hr_devices": [{"type": "network", "descr": "network interface ath0"}]},
        "access_point",
    ),
    (
        "IEEE 802.11 MIB answers",
        {"snmp.sys_descr": "Wireless thing", "snmp.dot11": True},
        "access_point",
    ),
    (
        "ZoneDirector is a WLAN controller even with SSIDs",
        {"snmp.sys_descr": "Ruckus Wireless ZD3050", "snmp.sys_object_id": "1.3.6.1.4.1.25053.3.1.5.15",
         "snmp.enterprise": 25053, "snmp.ssids": ["a", "b"]},
        "wlan_controller",
    ),
    (
        "firewall with an empty sysDescr, identity in sysObjectID",
        {"snmp.sys_descr": "", "snmp.sys_object_id": "1.3.6.1.4.1.12356.101.1.90", "snmp.enterprise": 12356},
        "router",
    ),
    (
        "pfSense is a router",
        {"snmp.sys_descr": "pfSense fw 2.7 FreeBSD 14", "snmp.sys_object_id": "1.3.6.1.4.1.8072.3.2.8"},
        "router",
    ),
    (
        "managed switch",
        {"snmp.sys_descr": "24-Port Gigabit Smart Switch", "snmp.sys_object_id": "1.3.6.1.4.1.4526.100.1"},
        "switch",
    ),
    (
        "ClickShare is a presentation device",
        {"snmp.sys_descr": "Barco ClickShare", "snmp.sys_object_id": "1.3.6.1.4.1.7312.1"},
        "presentation_device",
    ),
    (
        "interactive flat panel",
        {"mdns.model": "Promethean ActivPanel 9", "mdns.services": ["_http._tcp"]},
        "interactive_display",
    ),
    ("PJLink answer alone", {"pjlink.class": 1, "pjlink.manufacturer": "ACME", "pjlink.auth_failed": False},
     "projector"),
    ("PJLink with a refused password still is a projector", {"pjlink.auth_failed": True}, "projector"),
    (
        "eSCL next to IPP is a multifunction printer",
        {"mdns.services": ["_ipp._tcp", "_uscan._tcp"], "mdns.model": "ACME 123"},
        "mfp",
    ),
    (
        "Scan=T in the IPP TXT record",
        {"mdns.services": ["_ipp._tcp"], "mdns.txt": {"_ipp._tcp": {"ty": "ACME", "Scan": "T"}}},
        "mfp",
    ),
    ("IPP only", {"mdns.services": ["_ipp._tcp", "_printer._tcp"], "mdns.model": "ACME 1"}, "printer"),
    ("eSCL only", {"mdns.services": ["_uscan._tcp"]}, "scanner"),
    ("Cast receiver", {"mdns.services": ["_googlecast._tcp"], "mdns.model": "Living room"},
     "presentation_device"),
    (
        "AirPlay from a Mac is a computer, not a mirroring box",
        {"mdns.services": ["_airplay._tcp", "_device-info._tcp"],
         "mdns.txt": {"_device-info._tcp": {"model": "MacBookPro18,1"}}},
        "computer",
    ),
    (
        "SMB + device-info Xserve hint is a NAS",
        {"mdns.services": ["_smb._tcp", "_device-info._tcp"],
         "mdns.txt": {"_device-info._tcp": {"model": "Xserve"}}},
        "nas",
    ),
    (
        "TrueNAS says MacPro in device-info (Samba fruit) but is a NAS",
        {"mdns.services": ["_smb._tcp", "_device-info._tcp"],
         "mdns.txt": {"_device-info._tcp": {"model": "MacPro7,1@ECOLOR=226,226,224"}}},
        "nas",
    ),
    (
        "private MAC and nothing else: a phone or tablet",
        {"arp.source": "sweep", "arp.locally_administered": True, "oui.vendor": ""},
        "tablet_or_phone",
    ),
    ("iPad model over mDNS", {"mdns.services": ["_companion-link._tcp"], "mdns.model": "iPad13,1"},
     "tablet_or_phone"),
    ("camera over mDNS", {"mdns.services": ["_axis-video._tcp"]}, "camera"),
    ("nothing at all", {}, "unknown"),
    ("only ARP with a global MAC", {"arp.source": "sweep", "arp.locally_administered": False}, "unknown"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("facts", "expected"), [(f, e) for _n, f, e in CASES], ids=[n for n, _f, _e in CASES]
)
def test_category(facts: dict[str, Any], expected: str) -> None:
    result = classify(facts)
    assert result.category == expected, result.evidence
    assert result.category in CATEGORIES
    assert 0.0 <= result.confidence <= 1.0
    assert result.evidence and all(
        isinstance(line, str) and len(line) < 200 for line in result.evidence
    )


def test_evidence_names_the_facts_and_the_conclusion() -> None:
    result = classify(CASES[0][1])
    joined = " | ".join(result.evidence)
    assert "1248" in joined and "EPSON Network Projector" in joined and "→ projector" in joined
    assert result.vendor == "Epson"
    assert result.confidence > 0.8


def test_unknown_has_zero_confidence() -> None:
    assert classify({}) == Classification("unknown", 0.0, ["no identifying facts"], None, None)


def test_confidence_grows_with_agreeing_evidence() -> None:
    weak = classify({"snmp.sys_descr": "Linux x 5.1", "snmp.sys_object_id": NET_SNMP})
    strong = classify({"snmp.printer_mib": True, "snmp.sys_descr": "ACME LaserJet 1"})
    assert weak.confidence < 0.4 < strong.confidence


@pytest.mark.parametrize(
    "facts",
    [
        {"snmp.sys_descr": 42, "snmp.enterprise": "1248", "snmp.vendor_subtrees": "6574"},
        {"snmp.hr_devices": "oops", "snmp.ssids": [1, None, "x"], "mdns.services": "_ipp._tcp"},
        {
            "snmp.hr_devices": [None, 3, {"type": 5, "descr": ["x"]}],
            "mdns.txt": ["not", "a", "dict"],
        },
        {"snmp.sys_object_id": "not.an.oid", "snmp.printer_mib": "yes", "pjlink": None},
        {"snmp.sys_descr": "\x00" * 70_000, "mdns.model": "é" * 10_000},
        {"snmp.enterprise": True, "snmp.vendor_subtrees": [True, 6574.5]},
    ],
)
def test_odd_facts_never_raise(facts: dict[str, Any]) -> None:
    result = classify(facts)
    assert result.category in CATEGORIES
    json.dumps(result.to_dict())


def test_model_guesses() -> None:
    hp = classify(
        {"snmp.sys_descr": "HP ETHERNET MULTI-ENVIRONMENT,SN:X,PID:HP LaserJet Pro M404dn"}
    )
    assert hp.model == "HP LaserJet Pro M404dn"
    nas = classify({"mdns.services": ["_smb._tcp"], "mdns.model": "MacPro7,1@ECOLOR=1,2,3"})
    assert nas.model is None  # a Finder icon hint is not a model


async def test_identify_host_merges_extra_probes_and_survives_their_failures() -> None:
    async def fake_pjlink(ip: Any) -> Observation:
        return Observation(probe="pjlink", ip=ip, facts={"pjlink.class": 2, "pjlink.model": "EB-X"})

    async def broken(ip: Any) -> Observation | None:
        raise RuntimeError("boom")

    settings = SnmpSettings(fast_timeout_s=0.2, slow_timeout_s=0.2, slow_retries=0)
    from tests.snmpsim_server import free_udp_port

    result = await identify_host(
        "127.0.0.1", snmp_port=free_udp_port(), settings=settings, extra=[fake_pjlink, broken]
    )
    assert isinstance(result, IdentifyResult)
    assert result.protocols == ["pjlink"]
    assert result.classification.category == "projector"
    assert result.classification.model == "EB-X"
    assert result.errors == ["RuntimeError"]
    json.dumps(result.to_dict())


def test_with_community_puts_the_given_community_first_and_keeps_the_rest() -> None:
    settings = with_community(SnmpSettings(), "s3cret")
    first = settings.credentials[0]
    assert isinstance(first, SnmpV1V2Credential)
    assert first.community.get_secret_value() == "s3cret"
    assert len(settings.credentials) == 2
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("maker", "expected"),
    [
        ("Dell Inc.", "computer"),
        ("LCFC(HeFei) Electronics Technology / Lenovo", "computer"),
        ("Apple, Inc.", "tablet_or_phone"),
        ("Samsung Electronics Co.,Ltd", "tablet_or_phone"),
        ("Hewlett Packard", "unknown"),  # HP also makes printers: a silent HP host stays unknown
    ],
)
def test_silent_hosts_guess_from_the_mac_maker(maker: str, expected: str) -> None:
    result = classify({"arp.source": "sweep", "oui.vendor": maker})
    assert result.category == expected
    assert result.confidence < 0.5  # a weak guess, and it says so


def test_the_mac_maker_never_outvotes_a_protocol() -> None:
    facts: dict[str, FactValue] = {
        "oui.vendor": "Dell Inc.",
        "mdns.services": ["_ipp._tcp"],
        "mdns.model": "Dell S5830dn",
    }
    assert classify(facts).category == "printer"
