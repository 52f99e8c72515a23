"""iperf3 backend: JSON parsing (good, malformed, error) and a real iperf3 on loopback."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from probes.iperf3_backend import Iperf3Options, parse_iperf3_json, run_iperf3_test
from probes.throughput_model import ThroughputError
from tests.probes.throughput_servers import free_port, silent_tcp_server

needs_iperf3 = pytest.mark.skipif(shutil.which("iperf3") is None, reason="iperf3 not installed")

GOOD = {
    "start": {"test_start": {"num_streams": 2, "reverse": 1}},
    "intervals": [
        {"sum": {"bytes": 1_000_000, "seconds": 1.0, "omitted": True}},
        {"sum": {"bytes": 1_004_000, "seconds": 1.0, "omitted": False}},
    ],
    "end": {
        "sum_sent": {"bytes": 5_100_000, "seconds": 5.0, "bits_per_second": 8.16e6},
        "sum_received": {"bytes": 5_020_000, "seconds": 5.0, "bits_per_second": 8.032e6},
    },
}


def test_parse_uses_receiver_figures_and_counts_omitted_bytes() -> None:
    result = parse_iperf3_json(json.dumps(GOOD), "down")
    assert result.goodput_mbps == pytest.approx(8.032)
    assert result.line_rate_mbps == pytest.approx(8.032 * 1514 / 1448, rel=1e-3)
    assert result.bytes_used == 6_100_000
    assert result.streams == 2
    assert result.duration_s == pytest.approx(6.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not an object"),
        ('{"error": "unable to connect to server: Connection refused"}', "unable to connect"),
        ('{"end": {}}', "sum_received"),
        ('{"end": {"sum_sent": {}, "sum_received": {"bits_per_second": "fast"}}}', "non-numeric"),
        (
            '{"end": {"sum_sent": {"bytes": 0}, "sum_received": '
            '{"bytes": 0, "seconds": 1, "bits_per_second": 0}}}',
            "received nothing",
        ),
    ],
)
def test_malformed_answers_are_errors(text: str, message: str) -> None:
    with pytest.raises(ThroughputError, match=message):
        parse_iperf3_json(text, "up")


def test_target_syntax() -> None:
    assert Iperf3Options.from_target("iperf3://10.0.0.1:5202").port == 5202
    assert Iperf3Options.from_target("host.example").port == 5201
    with pytest.raises(ValueError):
        Iperf3Options.from_target("host:http")
    assert "--reverse" in Iperf3Options("h").command("down")
    assert "--reverse" not in Iperf3Options("h").command("up")


@pytest.fixture
def iperf3_server() -> Iterator[int]:
    port = free_port()
    server = subprocess.Popen(
        ["iperf3", "-s", "-B", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    try:
        yield port
    finally:
        server.terminate()
        server.wait(5)


@needs_iperf3
async def test_real_iperf3_on_loopback(iperf3_server: int) -> None:
    options = Iperf3Options("127.0.0.1", port=iperf3_server, duration_s=1, omit_s=0.5, streams=2)
    result = await run_iperf3_test(options)
    assert result.ok, result.reason
    assert result.download is not None and result.upload is not None
    assert result.download.goodput_mbps > 100
    assert result.target == f"iperf3://127.0.0.1:{iperf3_server}"


@needs_iperf3
async def test_server_down_is_an_error_result() -> None:
    options = Iperf3Options("127.0.0.1", port=free_port(), duration_s=1, connect_timeout_s=1)
    result = await run_iperf3_test(options)
    assert not result.ok and result.cut_short == "error"
    assert "connect" in (result.reason or "")


@needs_iperf3
async def test_hung_server_is_killed_after_its_timeout() -> None:
    async with silent_tcp_server() as port:
        options = Iperf3Options(
            "127.0.0.1", port=port, duration_s=0.5, omit_s=0, connect_timeout_s=0.5, exit_grace_s=1
        )
        start = time.monotonic()
        async with asyncio.timeout(20):
            result = await run_iperf3_test(options)
    assert not result.ok
    assert time.monotonic() - start < options.timeout_s + 1
    assert "did not finish" in (result.reason or "") or "iperf3" in (result.reason or "")


async def test_missing_binary_is_an_error_result() -> None:
    result = await run_iperf3_test(Iperf3Options("127.0.0.1", binary="/nonexistent/iperf3"))
    assert not result.ok and "cannot run" in (result.reason or "")
