"""Latency primitives on loopback: connect series, HTTP RTT, loaded sampling, failures."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from probes.latency import (
    LoadedRtt,
    connect_series,
    host_port,
    idle_latency,
    jitter_ms,
    rtt_target_of,
    with_loaded,
)
from probes.throughput_model import LatencyResult
from tests.probes.throughput_servers import free_port, librespeed_target


def test_jitter_is_mean_successive_difference() -> None:
    assert jitter_ms([10, 12, 11, 15]) == pytest.approx((2 + 1 + 4) / 3)
    assert jitter_ms([5]) is None


def test_host_port() -> None:
    assert host_port("https://collector.example/backend").port == 443
    assert host_port("http://10.0.0.1:8080/").host == "10.0.0.1"
    with pytest.raises(ValueError):
        host_port("iperf3://x")
    assert rtt_target_of("http://127.0.0.1:81/x") == ("127.0.0.1", 81)


async def test_idle_latency_on_loopback() -> None:
    with librespeed_target() as url:
        async with httpx.AsyncClient() as client:
            result = await idle_latency(url, f"{url}/empty", client, count=4)
    assert result.failures == 0 and result.attempts == 8
    assert result.idle_tcp_connect_ms is not None and result.idle_tcp_connect_ms < 50
    assert result.idle_http_rtt_ms is not None and result.jitter_ms is not None
    assert result.dns_ms is not None


async def test_refused_connects_are_counted_as_failures() -> None:
    series = await connect_series("127.0.0.1", free_port(), 3, pause_s=0)
    assert series.failures == 3 and series.attempts == 3 and series.median() is None


async def test_unresolvable_target_is_one_failure() -> None:
    result = await idle_latency("http://name.invalid/")
    assert result.failures == 1 and result.idle_tcp_connect_ms is None


async def test_loaded_rtt_samples_in_background() -> None:
    with librespeed_target() as url:
        ip, port = rtt_target_of(url)
        async with LoadedRtt(ip, port, interval_s=0.05) as loaded:
            await asyncio.sleep(0.4)
    assert len(loaded.series.samples) >= 3
    merged = with_loaded(LatencyResult(idle_tcp_connect_ms=0.1, attempts=2), loaded.series)
    assert merged.loaded_rtt_ms is not None and merged.attempts > 2
    assert merged.bufferbloat_ms is not None
