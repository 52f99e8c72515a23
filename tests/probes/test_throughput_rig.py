"""Throughput in the simulated school: tbf-shaped uplink, LibreSpeed target on "inet".

One small school (no LAN devices) serves the whole module; each test re-shapes the
uplink with `tc qdisc replace`. Packets stay inside the rig's namespaces.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.bandwidth import thresholds_for, verdict_for_test
from agent.bandwidth_run import Gentleness, measure_bandwidth
from agent.budget import MB, DataBudget
from agent.config import AgentSettings
from probes.busy_link import SnmpGateway, check_busy
from probes.http_throughput import HttpOptions, run_http_test
from probes.latency import idle_latency
from probes.speedtest_backend import SpeedtestOptions, run_speedtest_test
from tests.rig import RigUnavailable, School, build_school
from tests.rig.netns import shape
from tests.rig.services import helper_env
from tests.rig.topology import LAN_IF, WAN_IF

pytestmark = pytest.mark.rig
TARGET_PORT = 8080
SATURDAY = datetime(2026, 11, 14, 15, 0, tzinfo=UTC)  # outside lesson hours


def start_target(school: School) -> subprocess.Popen[bytes]:
    """Our LibreSpeed target (collector/throughput_target.py) under uvicorn on inet."""
    inet = school.plan.inet_ip
    code = (
        "import uvicorn; from fastapi import FastAPI;"
        "from collector.throughput_target import router;"
        "app = FastAPI(); app.include_router(router);"
        f"uvicorn.run(app, host='{inet}', port={TARGET_PORT}, log_level='error')"
    )
    proc = school.popen_in("inet", [sys.executable, "-c", code], env=helper_env())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        probe = school.run_in(
            "agent", ["bash", "-c", f"echo > /dev/tcp/{inet}/{TARGET_PORT}"], timeout=5
        )
        if probe.returncode == 0:
            return proc
        time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("throughput target did not start")


@pytest.fixture(scope="module")
def rig() -> Iterator[School]:
    from tests.conftest import rig_unavailable

    school = build_school(classrooms=1, hosts=0, down_mbit=10, up_mbit=10)
    try:
        school.start()
    except (RigUnavailable, OSError, RuntimeError) as exc:
        rig_unavailable(str(exc))
    target = start_target(school)
    try:
        yield school
    finally:
        target.terminate()
        target.wait(5)
        school.stop()


def set_rates(school: School, down_mbit: float, up_mbit: float) -> None:
    assert school.runner is not None
    shape(school.runner, school.host("router").netns, WAN_IF, up_mbit)
    shape(school.runner, school.host("inet").netns, LAN_IF, down_mbit)


def url(school: School) -> str:
    return f"http://{school.plan.inet_ip}:{TARGET_PORT}/"


DOWN_ONLY = HttpOptions(directions=("down",), ping_count=2)


@pytest.mark.parametrize(
    ("size", "rate", "passes"),
    [
        ("small", 8.4, True),
        ("small", 7.6, False),
        ("medium", 10.5, True),
        ("medium", 9.5, False),
        ("large", 15.75, True),
        ("large", 14.25, False),
    ],
)
def test_verdict_table(rig: School, size: str, rate: float, passes: bool) -> None:
    """±5 % around each minimum: the verdict flips exactly where the socle says."""
    set_rates(rig, rate, 10)
    result = rig.run_coro_in("agent", lambda: run_http_test(url(rig), DOWN_ONLY))
    assert result.ok, result.reason
    verdict = verdict_for_test(result, thresholds_for(size))  # type: ignore[arg-type]
    assert verdict.meets_minimum is passes, verdict.reason
    assert result.download is not None
    assert result.download.line_rate_mbps == pytest.approx(rate, rel=0.03)


def test_stops_early_on_a_stable_link(rig: School) -> None:
    set_rates(rig, 20, 10)
    result = rig.run_coro_in("agent", lambda: run_http_test(url(rig), HttpOptions(ping_count=2)))
    assert result.ok, result.reason
    for direction, rate in ((result.download, 20), (result.upload, 10)):
        assert direction is not None
        assert direction.stop_reason == "stable" and direction.stable
        # 1 s ramp-up + 2 s stable window ≈ 3.5 s on a quiet machine; when the VM jitters,
        # a window or two is found unsteady and retried (seen: 6.4 s in a CI run). What
        # matters is stopping well before the 10 s cap.
        assert direction.duration_s < 7.5
        assert direction.bytes_used <= 8 * rate * 1e6 / 8  # less than 8 s at link rate
        assert direction.goodput_mbps == pytest.approx(rate * 1448 / 1514, rel=0.03)
    assert (
        result.latency.loaded_rtt_ms is not None and result.latency.idle_tcp_connect_ms is not None
    )
    assert result.latency.loaded_rtt_ms > result.latency.idle_tcp_connect_ms  # bufferbloat shows


def settings(tmp_path: Path, target: str, budget_mb: int = 0) -> AgentSettings:
    return AgentSettings.model_validate(
        {
            "school": {"uai": "0751234J", "classes": 3},
            "measurement": {"http_target": target, "monthly_budget_mb": budget_mb},
            "paths": {"state_dir": str(tmp_path)},
        }
    )


def background_download(school: School) -> subprocess.Popen[bytes]:
    """Someone watching a video: iperf3 from inet to the school for 20 s."""
    return school.popen_in(
        "agent",
        ["iperf3", "-c", school.plan.inet_ip, "-R", "-t", "30", "-P", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_busy_link_postpones_the_test_snmp_and_rtt(rig: School, tmp_path: Path) -> None:
    set_rates(rig, 10, 10)
    inet = rig.plan.inet_ip
    gateway = SnmpGateway(rig.plan.router_lan_ip, "public", timeout_s=1)
    # The previous test's traffic can linger in snmpd's counter cache for a few seconds
    # (seen: 4.9 Mbit/s two seconds after it ended, on a loaded machine): wait it out.
    deadline = time.monotonic() + 20
    while True:
        quiet = rig.run_coro_in(
            "agent",
            lambda: check_busy(gateway=gateway, rtt_target=None, baseline_ms=None, interval_s=2),
        )
        if not quiet.busy or time.monotonic() > deadline:
            break
    assert quiet.method == "snmp" and not quiet.busy, quiet.reason
    baseline = rig.run_coro_in("agent", lambda: idle_latency(url(rig), count=5)).idle_tcp_connect_ms
    assert baseline is not None
    before = tbf_sent_bytes(rig)
    traffic = background_download(rig)
    try:
        deadline = time.monotonic() + 10
        while tbf_sent_bytes(rig) - before < 1_000_000 and time.monotonic() < deadline:
            time.sleep(0.2)  # until the background download really flows
        report = rig.run_coro_in(
            "agent",
            lambda: measure_bandwidth(
                settings(tmp_path, url(rig)),
                now=SATURDAY,
                gentle=Gentleness(gateway=gateway, busy_interval_s=1, attempt=1),
            ),
        )
        by_rtt = rig.run_coro_in(
            "agent",
            lambda: check_busy(gateway=None, rtt_target=(inet, TARGET_PORT), baseline_ms=baseline),
        )
    finally:
        traffic.terminate()
        traffic.wait(5)
    assert report.result.cut_short == "busy_link", report.result.reason
    assert "gateway ifIndex" in (report.result.reason or "")
    assert report.result.postponed_until is not None
    assert 900 < (report.result.postponed_until - SATURDAY).total_seconds() < 1500  # attempt 1
    assert report.result.bytes_used == 0
    assert by_rtt.method == "rtt" and by_rtt.busy, by_rtt.reason


def tbf_sent_bytes(school: School) -> int:
    out = school.run_in("inet", ["tc", "-s", "qdisc", "show", "dev", LAN_IF]).stdout
    match = re.search(r"Sent (\d+) bytes", out)
    assert match is not None
    return int(match.group(1))


def settled_tbf_sent_bytes(school: School, timeout_s: float = 10.0) -> int:
    """The counter once the shaped queue has drained: an earlier test's last bytes (the
    busy-link test's background flow) can still be queued behind the tbf."""
    last = tbf_sent_bytes(school)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = tbf_sent_bytes(school)
        if now == last:
            return now
        last = now
    return last


def test_budget_refusal_sends_nothing(rig: School, tmp_path: Path) -> None:
    DataBudget(tmp_path, 20 * MB).record(17 * MB, SATURDAY)
    before = settled_tbf_sent_bytes(rig)
    report = rig.run_coro_in(
        "agent", lambda: measure_bandwidth(settings(tmp_path, url(rig), budget_mb=20), now=SATURDAY)
    )
    assert report.result.cut_short == "budget" and "data budget" in (report.result.reason or "")
    assert tbf_sent_bytes(rig) - before < 20_000  # nothing but stray control packets
    assert DataBudget(tmp_path, 20 * MB).used(SATURDAY) == 17 * MB


def test_small_budget_caps_the_test_bytes(rig: School, tmp_path: Path) -> None:
    set_rates(rig, 35, 20)
    DataBudget(tmp_path, 40 * MB).record(10 * MB, SATURDAY)
    report = rig.run_coro_in(
        "agent",
        lambda: measure_bandwidth(
            settings(tmp_path, url(rig), budget_mb=40),
            now=SATURDAY,
            gentle=Gentleness(check_busy=False),
        ),
    )
    assert report.result.ok, report.result.reason
    assert report.budget_used_bytes <= 40 * MB
    assert report.budget_used_bytes == 10 * MB + report.result.bytes_used


def test_speedtest_mini_against_rig_nginx(rig: School) -> None:
    set_rates(rig, 10, 10)
    inet = rig.plan.inet_ip
    options = SpeedtestOptions(
        mini_url=f"http://{inet}/",
        config_url=f"http://{inet}/speedtest-config.php",  # never www.speedtest.net
        max_total_s=40,
        directions=("down",),  # the rig's config asks for 10 s per direction
    )
    result = rig.run_coro_in("agent", lambda: run_speedtest_test(options))
    assert result.ok, result.reason
    assert result.download is not None and result.download.goodput_mbps == pytest.approx(
        9.56, rel=0.15
    )
