"""HTTP method against real and hostile peers on loopback.

Every bad-input case must end in a failed result with a clear reason, fast: the
tests bound each run with a timeout well under the method's own limits.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import httpx
import pytest

from probes.http_throughput import (
    HttpOptions,
    Usage,
    light_options,
    measure_direction,
    run_http_test,
)
from probes.throughput_model import ThroughputResult
from probes.throughput_sampling import SamplingPolicy
from tests.probes.throughput_servers import free_port, hostile_server, librespeed_target

FAST = SamplingPolicy(max_duration_s=1.5, grace_s=0.3, window_s=0.6, max_bytes=200_000_000)
QUICK = HttpOptions(down=FAST, up=FAST, stall_timeout_s=1.0, connect_timeout_s=1.0, ping_count=2)


async def run(url: str, options: HttpOptions = QUICK) -> tuple[ThroughputResult, float]:
    start = time.monotonic()
    async with asyncio.timeout(15):
        result = await run_http_test(url, options)
    return result, time.monotonic() - start


async def test_loopback_measures_both_directions() -> None:
    with librespeed_target() as url:
        result, _ = await run(url)
    assert result.ok, result.reason
    assert result.download is not None and result.upload is not None
    assert result.download.goodput_mbps > 50 and result.upload.goodput_mbps > 50
    assert result.bytes_used == result.download.bytes_used + result.upload.bytes_used
    assert result.latency.idle_tcp_connect_ms is not None
    assert result.latency.idle_http_rtt_ms is not None
    assert result.latency.loaded_rtt_ms is not None
    assert result.latency.failures == 0
    assert 1 <= result.download.streams <= 8


async def test_speedtest_go_style_paths_and_backend_prefix() -> None:
    with librespeed_target("/backend") as url:
        result, _ = await run(url, replace(QUICK, directions=("down",)))
    assert result.ok and result.upload is None


async def test_progress_is_reported_every_sample() -> None:
    seen: list[str] = []
    with librespeed_target() as url:
        result = await run_http_test(
            url,
            replace(
                QUICK,
                down=replace(FAST, max_bytes=10**11, max_duration_s=2.0),
                directions=("down",),
            ),
            lambda p: seen.append(p.phase),
        )
    assert result.ok
    assert seen[0] == "latency" and seen[-1] == "done" and seen.count("down") >= 3


async def test_byte_budget_stops_the_direction() -> None:
    policy = replace(FAST, max_bytes=5_000_000, max_duration_s=5)
    options = replace(QUICK, down=policy, directions=("down",))
    with librespeed_target() as url:
        result, elapsed = await run(url, options)
    assert result.download is not None
    assert result.download.stop_reason == "byte_budget"
    assert elapsed < 5


async def test_light_probe_lasts_about_one_second() -> None:
    with librespeed_target() as url:
        start = time.monotonic()
        result = await run_http_test(url, light_options())
    assert result.ok and result.download is not None and result.upload is None
    assert result.download.stop_reason == "fixed_duration"
    assert result.download.duration_s <= 1.3
    assert time.monotonic() - start < 5


async def test_target_down_fails_fast() -> None:
    result, elapsed = await run(f"http://127.0.0.1:{free_port()}/")
    assert not result.ok and result.cut_short == "error"
    assert "cannot connect" in (result.reason or "")
    assert result.download is None and elapsed < 5


@pytest.mark.parametrize("mode", ["404", "500"])
async def test_http_errors_mean_not_librespeed(mode: str) -> None:
    async with hostile_server(mode) as url:  # type: ignore[arg-type]
        result, _ = await run(url)
    assert not result.ok
    assert f"HTTP {mode}" in (result.reason or "") and "LibreSpeed" in (result.reason or "")


async def test_redirect_is_not_followed() -> None:
    async with hostile_server("redirect") as url:
        result, _ = await run(url)
    assert not result.ok
    assert "redirected" in (result.reason or "") and "elsewhere.invalid" in (result.reason or "")


async def test_fewer_bytes_than_announced() -> None:
    async with hostile_server("short") as url:
        result, elapsed = await run(url)
    assert not result.ok and result.download is None
    assert "fewer bytes" in (result.reason or "") or "of 104857600" in (result.reason or "")
    assert elapsed < 5


async def test_stall_mid_test_times_out() -> None:
    policy = replace(FAST, max_duration_s=6)
    async with hostile_server("stall") as url:
        result, elapsed = await run(url, replace(QUICK, down=policy))
    assert not result.ok
    assert "stalled" in (result.reason or ""), result.reason
    assert result.bytes_used >= 1024 * 1024  # what was received before the stall is counted
    assert elapsed < 8


async def test_empty_body_is_an_error() -> None:
    async with hostile_server("empty_body") as url:
        result, elapsed = await run(url)
    assert not result.ok and "empty body" in (result.reason or "")
    assert elapsed < 8


async def test_not_a_url() -> None:
    result, _ = await run("ftp://example.invalid/")
    assert not result.ok and "not an http(s) URL" in (result.reason or "")


async def test_upload_counts_acknowledged_bytes() -> None:
    """Receiver-side: what the peer acked, not what sits in our send buffer."""
    usage = Usage()
    with librespeed_target() as url:
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{url}/empty")).status_code == 200
        result = await measure_direction("up", f"{url}/empty", QUICK, usage)
    assert result.bytes_used == usage.bytes_used
    assert result.bytes_used % 65536 != 0  # acked counts are not multiples of our writes
