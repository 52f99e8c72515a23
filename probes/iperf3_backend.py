"""iperf3 backend: the reference measurement when a school or lab runs an iperf3 server.

We run the `iperf3` program with `-J` and read its JSON: the C tool is more accurate
than anything in Python at high rates, and its JSON is stable across 3.x. We report
`end.sum_received` — the receiver's count, in both directions (with `-R` our side
receives; without it the server's figures come back at the end) — because the
sender's count includes bytes still queued in buffers and shapers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

from probes.base import utc_now
from probes.throughput_model import (
    Direction,
    DirectionResult,
    Progress,
    ProgressCallback,
    ThroughputError,
    ThroughputResult,
    failed_result,
    no_progress,
)

DEFAULT_PORT = 5201
EXIT_GRACE_S = 5.0  # s beyond the planned duration before iperf3 is killed
MAX_OUTPUT_BYTES = 4_000_000  # bytes of JSON we are willing to read


@dataclass(frozen=True)
class Iperf3Options:
    """Where and how long; `omit_s` skips slow start like our HTTP method's grace."""

    server: str
    port: int = DEFAULT_PORT
    duration_s: float = 5.0
    omit_s: float = 1.0
    streams: int = 1
    connect_timeout_s: float = 5.0
    binary: str = "iperf3"
    exit_grace_s: float = EXIT_GRACE_S
    directions: tuple[Direction, ...] = ("down", "up")

    @classmethod
    def from_target(cls, target: str, **kwargs: Any) -> Iperf3Options:
        """`host`, `host:port` or `iperf3://host:port`."""
        text = target.removeprefix("iperf3://").rstrip("/")
        host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
        if not host:
            raise ValueError(f"not an iperf3 server: {target!r}")
        if port and not port.isdigit():
            raise ValueError(f"not an iperf3 port: {target!r}")
        return cls(server=host, port=int(port) if port else DEFAULT_PORT, **kwargs)

    def command(self, direction: Direction) -> list[str]:
        args = [
            self.binary,
            "--client",
            self.server,
            "--port",
            str(self.port),
            "--json",
            "--time",
            f"{self.duration_s:g}",
            "--omit",
            f"{self.omit_s:g}",
            "--parallel",
            str(self.streams),
            "--connect-timeout",
            str(int(self.connect_timeout_s * 1000)),
        ]
        return [*args, "--reverse"] if direction == "down" else args

    @property
    def timeout_s(self) -> float:
        return self.duration_s + self.omit_s + self.connect_timeout_s + self.exit_grace_s


def _number(mapping: Any, key: str) -> float:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ThroughputError(f"iperf3 JSON: missing or non-numeric {key!r}")
    return float(value)


def parse_iperf3_json(text: str, direction: Direction) -> DirectionResult:
    """A direction result from iperf3's `-J` output; ThroughputError when it makes no sense."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ThroughputError(f"iperf3 output is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ThroughputError("iperf3 JSON: top level is not an object")
    if data.get("error"):
        raise ThroughputError(f"iperf3: {data['error']}")
    end = data.get("end")
    received = end.get("sum_received") if isinstance(end, dict) else None
    sent = end.get("sum_sent") if isinstance(end, dict) else None
    if not isinstance(received, dict) or not isinstance(sent, dict):
        raise ThroughputError("iperf3 JSON: no end.sum_received / end.sum_sent")
    bits_per_second = _number(received, "bits_per_second")
    seconds = _number(received, "seconds")
    if seconds <= 0 or bits_per_second <= 0 or _number(received, "bytes") <= 0:
        raise ThroughputError("iperf3 received nothing")
    start = data.get("start")
    test_start = start.get("test_start", {}) if isinstance(start, dict) else {}
    streams = int(test_start.get("num_streams", 1)) if isinstance(test_start, dict) else 1
    omitted = _omitted_bytes(data.get("intervals"))
    return DirectionResult.build(
        direction,
        bits_per_second / 1e6,
        bytes_used=int(max(_number(sent, "bytes"), _number(received, "bytes")) + omitted),
        duration_s=seconds + _omitted_seconds(data.get("intervals")),
        measured_s=seconds,
        streams=max(1, streams),
        stop_reason="fixed_duration",
        stable=False,
    )


def _omitted(intervals: Any) -> list[dict[str, Any]]:
    if not isinstance(intervals, list):
        return []
    sums = [i.get("sum") for i in intervals if isinstance(i, dict)]
    return [s for s in sums if isinstance(s, dict) and s.get("omitted") is True]


def _omitted_bytes(intervals: Any) -> float:
    """Omitted (slow-start) intervals are not in the sums but did use the link."""
    return sum(float(s.get("bytes", 0) or 0) for s in _omitted(intervals))


def _omitted_seconds(intervals: Any) -> float:
    return sum(float(s.get("seconds", 0) or 0) for s in _omitted(intervals))


async def run_iperf3(options: Iperf3Options, direction: Direction) -> str:
    """Runs iperf3 once and returns its stdout; kills it if it overstays its time."""
    try:
        process = await asyncio.create_subprocess_exec(
            *options.command(direction),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise ThroughputError(f"cannot run {options.binary}: {exc}") from None
    try:
        async with asyncio.timeout(options.timeout_s):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise ThroughputError(
            f"iperf3 did not finish within {options.timeout_s:.0f} s (server stalled?)"
        ) from None
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    text = stdout[:MAX_OUTPUT_BYTES].decode("utf-8", errors="replace")
    if not text.strip():
        message = stderr.decode("utf-8", errors="replace").strip()[:200]
        raise ThroughputError(f"iperf3 exited {process.returncode} without output: {message}")
    return text


async def run_iperf3_test(
    options: Iperf3Options, progress: ProgressCallback = no_progress
) -> ThroughputResult:
    """Download (`--reverse`) then upload, each a separate iperf3 run."""
    started_at = utc_now()
    clock = time.perf_counter()
    target = f"iperf3://{options.server}:{options.port}"
    results: dict[Direction, DirectionResult] = {}
    used = 0
    for direction in options.directions:
        progress(Progress(direction, time.perf_counter() - clock))
        try:
            results[direction] = parse_iperf3_json(await run_iperf3(options, direction), direction)
        except ThroughputError as exc:
            return failed_result(
                "iperf3",
                target,
                started_at,
                str(exc),
                duration_s=time.perf_counter() - clock,
                bytes_used=used,
            )
        used += results[direction].bytes_used
    progress(Progress("done", time.perf_counter() - clock, 0.0, used))
    return ThroughputResult(
        backend="iperf3",
        target=target,
        started_at=started_at,
        duration_s=round(time.perf_counter() - clock, 3),
        download=results.get("down"),
        upload=results.get("up"),
        bytes_used=used,
    )
