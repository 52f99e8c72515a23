"""snmp probe against snmpsim on loopback: facts, bad values, bounds, the credential ladder.

One snmpsim serves a tmp data dir of recordings written here (`good`, `bad`, `huge`)
and knows one SNMPv3 user. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from agent.config import SnmpSettings, SnmpV1V2Credential, SnmpV3Credential
from probes.base import MAX_FACT_STRING, Probe, ProbeContext
from probes.snmp import SnmpProbe, identify_snmp
from probes.snmp_values import as_int, as_mac, as_text, supply_percent
from tests.snmpsim_server import LOOPBACK, SnmpsimServer, free_udp_port, snmpsim_server

V3_USER, V3_AUTH, V3_PRIV = "teacher", "authpass-1234", "privpass-1234"
LOCALHOST = IPv4Address(LOOPBACK)


def _sorted_lines(rows: list[tuple[str, str, str]]) -> str:
    rows.sort(key=lambda row: tuple(int(p) for p in row[0].split(".")))
    return "".join(f"{oid}|{tag}|{value}\n" for oid, tag, value in rows)


def _system(
    descr_tag: str, descr: str, object_tag: str, object_id: str
) -> list[tuple[str, str, str]]:
    return [
        ("1.3.6.1.2.1.1.1.0", descr_tag, descr),
        ("1.3.6.1.2.1.1.2.0", object_tag, object_id),
        ("1.3.6.1.2.1.1.3.0", "67", "12345"),
        ("1.3.6.1.2.1.1.5.0", "4", "printer-1"),
    ]


def _good() -> str:
    rows = _system("4", "ACME LaserJet 100", "6", "1.3.6.1.4.1.2435.2.3.9.1")
    rows += [
        ("1.3.6.1.2.1.2.2.1.6.1", "4x", "001122334455"),
        ("1.3.6.1.2.1.2.2.1.6.2", "4", ""),
        ("1.3.6.1.2.1.25.3.2.1.2.1", "6", "1.3.6.1.2.1.25.3.1.5"),
        ("1.3.6.1.2.1.25.3.2.1.3.1", "4", "ACME LaserJet 100"),
        ("1.3.6.1.2.1.25.3.5.1.1.1", "2", "3"),
        ("1.3.6.1.2.1.43.10.2.1.4.1.1", "65", "4242"),
        ("1.3.6.1.2.1.43.11.1.1.6.1.1", "4", "Black Toner"),
        ("1.3.6.1.2.1.43.11.1.1.6.1.2", "4", "Waste"),
        ("1.3.6.1.2.1.43.11.1.1.6.1.3", "4", "Drum"),
        ("1.3.6.1.2.1.43.11.1.1.8.1.1", "2", "200"),
        ("1.3.6.1.2.1.43.11.1.1.8.1.2", "2", "-2"),
        ("1.3.6.1.2.1.43.11.1.1.8.1.3", "2", "100"),
        ("1.3.6.1.2.1.43.11.1.1.9.1.1", "2", "50"),
        ("1.3.6.1.2.1.43.11.1.1.9.1.2", "2", "-3"),
        ("1.3.6.1.2.1.43.11.1.1.9.1.3", "2", "-2"),
        ("1.3.6.1.4.1.2435.2.3.9.1.1.0", "4", "vendor row"),
    ]
    return _sorted_lines(rows)


def _bad() -> str:
    latin1 = (
        "ACME \xe9cole".encode("latin-1").hex() + "0007" + "1b5b326a"
    )  # bytes that are not UTF-8
    rows = _system("4x", latin1, "4", "1.3.6.1.4.1.1248.4.1")  # sysObjectID as a string
    rows[3] = ("1.3.6.1.2.1.1.5.0", "4", "N" * 60_000)  # a 60 KB sysName (one UDP datagram)
    rows += [
        ("1.3.6.1.2.1.2.2.1.6.1", "4x", "0011"),  # 2-byte MAC
        ("1.3.6.1.2.1.25.3.2.1.2.1", "4", "printer"),  # type as a string
        ("1.3.6.1.2.1.25.3.2.1.3.1", "2", "7"),  # descr as an integer
        ("1.3.6.1.2.1.25.3.5.1.1.1", "4", "idle"),  # status as a string
        ("1.3.6.1.2.1.43.10.2.1.4.1.1", "4", "many"),  # page count as a string
        ("1.3.6.1.2.1.43.11.1.1.6.1.1", "2", "5"),  # supply name as an integer
        ("1.3.6.1.2.1.43.11.1.1.8.1.1", "4", "full"),
        ("1.3.6.1.2.1.43.11.1.1.9.1.1", "64", "10.0.0.1"),
        ("1.3.6.1.2.1.47.1.1.1.1.5.1", "4", "chassis"),
        ("1.3.6.1.2.1.47.1.1.1.1.13.1", "2", "1"),
    ]
    return _sorted_lines(rows)


def _huge(rows_count: int = 3000) -> str:
    rows = _system("4", "Linux ap 4.4", "6", "1.3.6.1.4.1.8072.3.2.10")
    rows += [(f"1.3.6.1.2.1.2.2.1.6.{i}", "4x", f"02{i:010x}") for i in range(1, rows_count)]
    rows += [(f"1.2.840.10036.1.1.1.9.{i}", "4", f"ssid-{i}") for i in range(1, rows_count)]
    return _sorted_lines(rows)


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimServer]:
    data = tmp_path_factory.mktemp("snmprec")
    # snmpsim serves SNMPv3's default (empty) context from `self.snmprec`
    for name, text in (("good", _good()), ("bad", _bad()), ("huge", _huge()), ("self", _good())):
        (data / f"{name}.snmprec").write_text(text, encoding="utf-8")
    with snmpsim_server(
        data, probe_community="good", v3_user=V3_USER, v3_auth_key=V3_AUTH, v3_priv_key=V3_PRIV
    ) as server:
        yield server


def v2c(community: str) -> SnmpV1V2Credential:
    return SnmpV1V2Credential(version="2c", community=SecretStr(community))


def settings_for(port: int, *credentials: Any, **overrides: Any) -> SnmpSettings:
    options: dict[str, Any] = {"fast_timeout_s": 0.5, "slow_timeout_s": 0.5, "slow_retries": 0}
    options.update(overrides)
    return SnmpSettings(credentials=list(credentials), port=port, **options)


async def test_facts_from_a_printer(agent: SnmpsimServer) -> None:
    observation = await identify_snmp(LOOPBACK, agent.port, settings_for(agent.port, v2c("good")))
    assert observation is not None and observation.probe == "snmp"
    facts = observation.facts
    assert facts["snmp.sys_descr"] == "ACME LaserJet 100"
    assert facts["snmp.enterprise"] == 2435 and facts["snmp.vendor"] == "Brother"
    assert facts["snmp.sys_uptime_s"] == pytest.approx(123.45)
    assert facts["snmp.printer_mib"] is True
    assert facts["snmp.page_count"] == 4242
    assert facts["snmp.hr_printer_status"] == 3
    assert facts["snmp.hr_devices"] == [{"type": "printer", "descr": "ACME LaserJet 100"}]
    assert facts["snmp.model"] == "ACME LaserJet 100"
    assert facts["snmp.if_macs"] == ["00:11:22:33:44:55"]
    assert facts["snmp.vendor_subtrees"] == [2435]
    assert facts["snmp.supplies"] == [
        {"description": "Black Toner", "level": 50, "max": 200, "percent": 25.0},
        {"description": "Waste", "level": -3, "max": -2, "percent": None},
        {"description": "Drum", "level": -2, "max": 100, "percent": None},
    ]
    assert facts["snmp.version"] == "2c" and facts["snmp.credential_index"] == 0
    assert "good" not in str(facts.values())  # the community never lands in facts


async def test_bad_values_are_cleaned_or_dropped(agent: SnmpsimServer) -> None:
    observation = await identify_snmp(LOOPBACK, agent.port, settings_for(agent.port, v2c("bad")))
    assert observation is not None
    facts = observation.facts
    descr = facts["snmp.sys_descr"]
    assert isinstance(descr, str) and descr.startswith("ACME ") and "\x1b" not in descr
    assert len(str(facts["snmp.sys_name"])) == MAX_FACT_STRING
    for key in (
        "snmp.sys_object_id",
        "snmp.enterprise",
        "snmp.page_count",
        "snmp.hr_printer_status",
    ):
        assert key not in facts, key
    assert "snmp.if_macs" not in facts or facts["snmp.if_macs"] == []
    assert facts["snmp.hr_devices"] == [{"type": "unknown", "descr": ""}]
    assert facts["snmp.supplies"] == [
        {"description": "", "level": None, "max": None, "percent": None}
    ]
    assert "snmp.model" not in facts


async def test_huge_tables_stop_at_max_walk_rows(agent: SnmpsimServer) -> None:
    settings = settings_for(agent.port, v2c("huge"), max_walk_rows=10, max_walk_s=5)
    started = time.monotonic()
    observation = await identify_snmp(LOOPBACK, agent.port, settings)
    assert observation is not None
    assert len(observation.facts["snmp.if_macs"]) == 10  # type: ignore[arg-type]
    assert observation.facts["snmp.dot11"] is True
    assert len(observation.facts["snmp.ssids"]) == 10  # type: ignore[arg-type]
    assert time.monotonic() - started < 5


async def test_huge_tables_stop_at_max_walk_s(agent: SnmpsimServer) -> None:
    settings = settings_for(agent.port, v2c("huge"), max_walk_rows=100_000, max_walk_s=0.3)
    started = time.monotonic()
    observation = await identify_snmp(LOOPBACK, agent.port, settings)
    assert observation is not None
    assert time.monotonic() - started < 0.3 * 4 + 2  # walk budget + system GETs


async def test_ladder_skips_a_wrong_community_and_remembers_the_right_one(
    agent: SnmpsimServer,
) -> None:
    probe = SnmpProbe(settings_for(agent.port, v2c("wrong"), v2c("good")))
    assert isinstance(probe, Probe) and probe.name == "snmp"
    ctx = ProbeContext(subnets=[IPv4Network("127.0.0.0/8")], hosts=[LOCALHOST])
    observations = await probe.run(ctx)
    assert len(observations) == 1
    assert observations[0].facts["snmp.credential_index"] == 1
    assert probe.known_credentials == {LOCALHOST: 1}
    again = await probe.run(ctx)  # the remembered credential goes first
    assert again[0].facts["snmp.credential_index"] == 1


async def test_v3_after_failing_v2c_and_a_failing_v3_user(agent: SnmpsimServer) -> None:
    wrong_v3 = SnmpV3Credential(
        version="3", user="nobody", auth_protocol="sha", auth_key=SecretStr("x" * 12)
    )
    right_v3 = SnmpV3Credential(
        version="3",
        user=V3_USER,
        auth_protocol="sha",
        auth_key=SecretStr(V3_AUTH),
        priv_protocol="aes",
        priv_key=SecretStr(V3_PRIV),
    )
    settings = settings_for(agent.port, v2c("wrong"), wrong_v3, right_v3)
    observation = await identify_snmp(LOOPBACK, agent.port, settings)
    assert observation is not None
    assert observation.facts["snmp.version"] == "3"
    assert observation.facts["snmp.credential_index"] == 2
    assert observation.facts["snmp.sys_descr"] == "ACME LaserJet 100"


async def test_silent_host_gives_none_within_the_timeouts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    port = free_udp_port()
    settings = settings_for(port, v2c("topsecret"), fast_timeout_s=0.2, slow_timeout_s=0.3)
    started = time.monotonic()
    assert await identify_snmp(LOOPBACK, port, settings) is None
    assert time.monotonic() - started < 3
    assert "topsecret" not in caplog.text


async def test_probe_reports_nothing_for_no_hosts() -> None:
    probe = SnmpProbe(SnmpSettings())
    assert await probe.run(ProbeContext(subnets=[], hosts=[])) == []


def test_value_converters() -> None:
    from pysnmp.proto import rfc1902

    assert as_text(rfc1902.OctetString(b"\xff\xfeok\x00")) == "\ufffd\ufffdok"
    assert as_text(rfc1902.Integer(5)) is None
    assert as_text(rfc1902.IpAddress("10.0.0.1")) is None
    assert as_int(rfc1902.OctetString(b"12")) is None
    assert as_int(rfc1902.Counter64(2**40)) == 2**40
    assert as_mac(rfc1902.OctetString(b"\x00" * 6)) is None
    assert as_mac(rfc1902.OctetString(bytes.fromhex("aabbccddeeff"))) == "aa:bb:cc:dd:ee:ff"
    assert supply_percent(-3, 100) is None and supply_percent(-2, 100) is None
    assert supply_percent(50, -2) is None and supply_percent(150, 100) == 100.0
    assert supply_percent(1, 3) == 33.3


def test_recording_helper_writes_sorted_oids(tmp_path: Path) -> None:
    text = _sorted_lines([("1.3.6.1.2.1.10", "2", "1"), ("1.3.6.1.2.1.9", "2", "1")])
    assert text.splitlines()[0].startswith("1.3.6.1.2.1.9|")
