"""Busy-link decision rules and fallbacks on loopback (the SNMP path runs in the rig)."""

from __future__ import annotations

import time

from probes.busy_link import SnmpGateway, check_busy, rtt_says_busy
from tests.probes.throughput_servers import free_port, librespeed_target


def test_rtt_rule_needs_real_queueing() -> None:
    assert not rtt_says_busy(median_ms=25, baseline_ms=20)  # jitter, not load
    assert rtt_says_busy(median_ms=45, baseline_ms=20)  # 25 ms of queue
    assert not rtt_says_busy(median_ms=80, baseline_ms=60)  # satellite: +20 ms < 50 %
    assert rtt_says_busy(median_ms=0.2 + 10.5, baseline_ms=0.2)


async def test_nothing_to_go_on_is_not_busy_but_says_so() -> None:
    check = await check_busy(gateway=None, rtt_target=None, baseline_ms=None)
    assert not check.busy and check.method == "none" and "cannot tell" in check.reason


async def test_quiet_loopback_by_rtt() -> None:
    with librespeed_target() as url:
        port = int(url.rsplit(":", 1)[1])
        check = await check_busy(
            gateway=None, rtt_target=("127.0.0.1", port), baseline_ms=0.5, rtt_count=5
        )
    assert not check.busy and check.method == "rtt" and check.rtt_ms is not None


async def test_silent_snmp_gateway_falls_back_to_rtt_quickly() -> None:
    gateway = SnmpGateway("127.0.0.1", port=free_port(), timeout_s=0.3, retries=0)
    with librespeed_target() as url:
        port = int(url.rsplit(":", 1)[1])
        start = time.monotonic()
        check = await check_busy(
            gateway=gateway, rtt_target=("127.0.0.1", port), baseline_ms=0.5, interval_s=0.5
        )
    assert check.method == "rtt" and "gateway SNMP unusable" in check.reason
    assert time.monotonic() - start < 5


async def test_dead_rtt_target_is_not_busy() -> None:
    check = await check_busy(
        gateway=None, rtt_target=("127.0.0.1", free_port()), baseline_ms=1.0, rtt_count=2
    )
    assert not check.busy and "did not answer" in check.reason
