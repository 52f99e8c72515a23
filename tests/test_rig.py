"""The simulated school answers like a real one, seen from the agent's namespace.

Pure planning and the PJLink simulator are tested without the rig (loopback
only); everything else needs the rig (marker ``rig``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from netaddr import EUI

from tests.rig import PlanOptions, School, plan_school
from tests.rig.checks import pjlink_query
from tests.rig.pjlink_projector import ProjectorState, auth_digest, serve
from tests.rig.recordings import REPO_ROOT
from tests.rig.services import helper_env

T = TypeVar("T")
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"

# -- planning (no root needed) -------------------------------------------------


def test_default_plan_is_a_plausible_school() -> None:
    plan = plan_school(PlanOptions())
    devices = plan.by_role("device")
    assert len(devices) >= 10
    cats = {h.category for h in devices}
    assert {"projector", "printer", "mfp", "scanner", "nas", "access_point"} <= cats
    assert {"presentation_device", "switch", "interactive_display"} <= cats
    assert len({h.ip for h in plan.hosts}) == len(plan.hosts)
    assert len({h.mac for h in plan.hosts}) == len(plan.hosts)
    assert all(len(h.netns) <= 15 for h in plan.hosts)
    clients = plan.by_role("client")
    assert any(h.private_mac for h in clients) and any(not h.private_mac for h in clients)


def test_macs_carry_the_vendor_oui_or_the_local_bit() -> None:
    for h in plan_school(PlanOptions()).hosts:
        first = int(h.mac[:2], 16)
        if h.private_mac or h.role == "inet":
            assert first & 0x02 and not first & 0x01, h
            continue
        org = EUI(h.mac).oui.registration().org.lower()
        word = {"HP": "hp", "HPE Aruba": "aruba", "Free": "freebox", "Apple": "apple"}.get(
            h.vendor, h.vendor.split()[0].lower()
        )
        assert word in org or word in org.replace(" ", ""), (h.name, h.mac, org)


def test_forced_profiles_are_served_without_recordings() -> None:
    plan = plan_school(PlanOptions(force_profiles=True))
    sources = {h.snmp.source for h in plan.hosts if h.snmp}
    assert sources == {"profile", "live"}
    communities = {h.snmp.community for h in plan.hosts if h.snmp}
    assert {"rig_projector", "rig_printer", "rig_nas", "rig_ap"} <= communities
    assert plan.host("vp-classe1").snmp.sys_descr == "EPSON Network Projector"  # type: ignore[union-attr]


def test_ground_truth_round_trips_through_json() -> None:
    plan = plan_school(PlanOptions(hosts=250))
    data = json.loads(plan.to_json())
    assert data["schema_version"] == 1 and len(data["hosts"]) == 253
    assert {"name", "ip", "mac", "category", "snmp", "mdns", "pjlink"} <= set(data["hosts"][2])


# -- PJLink simulator on loopback ------------------------------------------------


async def _with_projector(state: ProjectorState, port: int, coro: Callable[[], Awaitable[T]]) -> T:
    task = asyncio.create_task(serve("127.0.0.1", state, port))
    for _ in range(100):
        await asyncio.sleep(0.01)
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            break
        except OSError:
            continue
    try:
        return await coro()
    finally:
        task.cancel()


async def test_pjlink_auth_and_errors() -> None:
    state = ProjectorState(password="secret", mac="64:eb:8c:00:00:01", pjlink_class=2)

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        ok = await pjlink_query("127.0.0.1", ["%1POWR ?", "%2SNUM ?", "%1XXXX ?"], "secret", 14352)
        bad = await pjlink_query("127.0.0.1", ["%1POWR ?"], "wrong", 14352)
        return ok, bad

    ok, bad = await _with_projector(state, 14352, run)
    assert ok["greeting"].startswith("PJLINK 1 ") and len(ok["greeting"]) == 17
    assert ok["replies"] == ["%1POWR=1", "%2SNUM=X4HK7300123", "%1XXXX=ERR1"]
    assert bad["replies"] == ["PJLINK ERRA"]
    assert len(auth_digest("abcdefgh", "x")) == 32


async def test_pjlink_silent_projector_never_answers() -> None:
    state = ProjectorState(mode="silent")

    async def run() -> object:
        r, w = await asyncio.open_connection("127.0.0.1", 14353)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(r.read(1), 0.3)
        w.close()
        return None

    await _with_projector(state, 14353, run)


# -- the running rig ------------------------------------------------------------


@pytest.mark.rig
def test_default_school_is_up_quickly(school: School) -> None:
    assert len(school.devices) >= 10
    assert school.bringup_s is not None and school.bringup_s < 10  # target 3 s, CI slack
    ns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert school.host("agent").netns in ns


@pytest.mark.rig
def test_every_snmp_device_answers_its_recording(school: School) -> None:
    hosts = [h for h in school.hosts if h.snmp]
    assert len(hosts) >= 10
    got = school.check("snmp", {"targets": [[h.ip, h.snmp.community] for h in hosts]})  # type: ignore[union-attr]
    for h in hosts:
        assert got[h.ip] == h.snmp.sys_descr, h.name  # type: ignore[union-attr]


@pytest.mark.rig
def test_router_snmpd_counters_are_live(school: School) -> None:
    rt = school.host("router")
    args = {"ip": rt.ip, "community": "public", "oid": IF_HC_IN_OCTETS}
    before = sum(map(int, school.check("walk", args).values()))
    school.run_in(
        "agent", ["ping", "-c", "20", "-i", "0.01", "-s", "1400", "-q", school.plan.inet_ip]
    )
    deadline = time.monotonic() + 10  # net-snmp caches interface counters for a few seconds
    while (after := sum(map(int, school.check("walk", args).values()))) <= before + 20 * 1400:
        assert time.monotonic() < deadline, (before, after)
        time.sleep(0.5)


@pytest.mark.rig
def test_every_mdns_service_is_browsable_from_the_agent(school: School) -> None:
    expected = {(s.type, s.instance): (h, s) for h in school.hosts for s in h.mdns}
    types = sorted({t for t, _ in expected})
    found = school.check(
        "mdns",
        {"types": types, "expect": len(expected), "timeout_s": 8, "ip": school.host("agent").ip},
    )
    seen = {(f["type"], f["instance"]): f for f in found}
    assert set(expected) <= set(seen), set(expected) - set(seen)
    for key, (h, s) in expected.items():
        assert seen[key]["addresses"] == [h.ip] and seen[key]["port"] == s.port
        assert seen[key]["txt"] == s.txt


@pytest.mark.rig
def test_pjlink_projectors_answer_tcp_and_udp_search(school: School) -> None:
    projectors = [h for h in school.hosts if h.pjlink]
    assert projectors
    vp = projectors[0]
    assert vp.pjlink is not None
    cmds = ["%1POWR ?", "%1NAME ?", "%1INF1 ?", "%1INF2 ?", "%1CLSS ?", "%2SNUM ?", "%1NOPE ?"]
    got = school.check("pjlink", {"ip": vp.ip, "commands": cmds})
    assert got["greeting"] == "PJLINK 0"
    assert got["replies"][:5] == [
        "%1POWR=1",
        f"%1NAME={vp.pjlink.name}",
        "%1INF1=EPSON",
        "%1INF2=EB-4770W",
        "%1CLSS=2",
    ]
    assert got["replies"][6] == "%1NOPE=ERR1"
    acks = school.check("search", {"broadcast": "10.77.1.255", "wait_s": 1.0})
    assert sorted(acks) == sorted([[h.ip, f"%2ACKN={h.mac}\r"] for h in projectors])


@pytest.mark.rig
def test_speedtest_names_resolve_to_the_inet_host(school: School) -> None:
    cp = school.run_in("agent", ["getent", "hosts", "www.speedtest.net"])
    assert cp.stdout.split()[0] == school.plan.inet_ip
    code = (
        "import urllib.request as u;"
        "print(u.urlopen('http://www.speedtest.net/speedtest-config.php', timeout=3).read()[:200])"
    )
    assert b"<settings>" in school.python_in("agent", code).stdout.encode()


def _iperf(school: School, reverse: bool) -> float:
    argv = [
        "iperf3",
        "-c",
        school.plan.inet_ip,
        "-t",
        "3",
        "-O",
        "1",
        "-J",
        *(["-R"] if reverse else []),
    ]
    cp = school.run_in("agent", argv, timeout=30)
    return float(json.loads(cp.stdout)["end"]["sum_received"]["bits_per_second"]) / 1e6


@pytest.mark.rig
def test_router_shapes_both_directions(school_factory: Callable[..., School]) -> None:
    s = school_factory(hosts=0, down_mbit=8, up_mbit=4)
    down, up = _iperf(s, reverse=True), _iperf(s, reverse=False)
    # TCP goodput is ~95.6 % of the tbf rate; the upper bound leaves room for a receiver
    # whose 3 s window is stretched by a loaded machine (unshaped would read Gbit/s).
    assert 7.3 < down < 8.4, down
    assert 3.6 < up < 4.2, up


@pytest.mark.rig
def test_teardown_leaves_nothing(school_factory: Callable[..., School]) -> None:
    s = school_factory(hosts=3, classrooms=1)
    names = [s.host(h).netns for h in ("agent", "router", "inet")]
    pids = [p.pid for p in s.procs]
    s.stop()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(n in listed for n in names)
    assert not any(os.path.exists(f"/proc/{p}") and _not_zombie(p) for p in pids)
    assert not os.path.exists(f"/etc/netns/{names[0]}")


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.rig
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_owner_death_is_cleaned_up(how: signal.Signals, school: School) -> None:
    code = (
        "from tests.rig import build_school; import time; s = build_school(hosts=2, classrooms=1);"
        "s.start(); print(s.plan.prefix, flush=True); time.sleep(60)"
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env=helper_env(),
        cwd=str(REPO_ROOT),
    )
    prefix = p.stdout.readline().strip()  # type: ignore[union-attr]
    assert prefix.startswith("sa")
    p.send_signal(how)
    p.wait(timeout=20)
    if how == signal.SIGKILL:
        from tests.rig import cleanup_stale

        assert cleanup_stale(prefix)
    deadline = time.monotonic() + 5
    while prefix in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout:
        assert time.monotonic() < deadline, "namespaces left behind"
        time.sleep(0.1)
