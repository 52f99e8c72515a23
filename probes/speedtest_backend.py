"""speedtest-cli used as a library: Ookla servers, a chosen server id, or a Speedtest Mini.

Why keep it beside our own method: some academies compare everything to
speedtest.net. Its figures are what they are — download is total bytes over the whole
test time, ramp-up included, and its upload reads ±10 % on a shaped link
(PROTOCOLS.md) — so results say `backend="speedtest"` and the benchmark shows the gap.

Safety: nothing here picks an external server by default. `SpeedtestOptions` needs a
Mini URL, a server id, or `ookla_auto=True`; tests give a Mini URL and a `config_url`
on loopback (or map www.speedtest.net inside a rig namespace), so no test can reach
the real speedtest.net. speedtest-cli is synchronous and threaded: it runs in a worker
thread under a hard timeout, and its shutdown event stops its threads when we give up.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import speedtest

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

MAX_CONFIG_BYTES = 64 * 1024  # bytes; a real speedtest-config.php is ~4 KB
_UPLOAD_SIZES = [32768, 65536, 131072, 262144, 524288, 1048576, 7340032]  # speedtest-cli's
_DOWNLOAD_SIZES = [350, 500, 750, 1000, 1500, 2000, 2500, 3000, 3500, 4000]  # image sizes


@dataclass(frozen=True)
class SpeedtestOptions:
    """Exactly one way to pick a server must be given; there is no silent default."""

    mini_url: str | None = None
    server_id: int | None = None
    ookla_auto: bool = False
    config_url: str | None = None  # None: speedtest-cli's own (www.speedtest.net)
    socket_timeout_s: float = 5.0
    max_total_s: float = 60.0  # s for config, server choice, download and upload together
    directions: tuple[Direction, ...] = ("down", "up")

    def __post_init__(self) -> None:
        chosen = (self.mini_url is not None) + (self.server_id is not None) + self.ookla_auto
        if chosen != 1:
            raise ValueError("speedtest needs exactly one of mini_url, server_id, ookla_auto")

    @property
    def target(self) -> str:
        if self.mini_url is not None:
            return self.mini_url
        return f"speedtest:{self.server_id}" if self.server_id is not None else "speedtest:auto"


def _int_attr(element: ET.Element | None, name: str) -> int:
    if element is None:
        raise ThroughputError(f"speedtest config: missing element for {name!r}")
    value = element.attrib.get(name, "")
    if not value.lstrip("-").isdigit():
        raise ThroughputError(f"speedtest config: {name}={value!r} is not a number")
    return int(value)


def parse_config(xml: bytes) -> dict[str, Any]:
    """speedtest-cli's config dict from `speedtest-config.php` XML (our own, strict, parser)."""
    if len(xml) > MAX_CONFIG_BYTES:
        raise ThroughputError("speedtest config: too large")
    try:
        root = ET.fromstring(xml)  # noqa: S314 - capped above; expat refuses entity bombs
    except ET.ParseError as exc:
        raise ThroughputError(f"speedtest config: malformed XML: {exc}") from None
    client, server = root.find("client"), root.find("server-config")
    download, upload = root.find("download"), root.find("upload")
    if client is None or server is None:
        raise ThroughputError("speedtest config: no <client> or <server-config>")
    ratio = _int_attr(upload, "ratio")
    if not 1 <= ratio <= len(_UPLOAD_SIZES):
        raise ThroughputError(f"speedtest config: upload ratio {ratio} out of range")
    up_sizes = _UPLOAD_SIZES[ratio - 1 :]
    up_count = math.ceil(_int_attr(upload, "maxchunkcount") / len(up_sizes))
    return {
        "client": dict(client.attrib),
        "ignore_servers": [int(i) for i in server.attrib.get("ignoreids", "").split(",") if i],
        "sizes": {"upload": up_sizes, "download": _DOWNLOAD_SIZES},
        "counts": {"upload": up_count, "download": _int_attr(download, "threadsperurl")},
        "threads": {
            "upload": _int_attr(upload, "threads"),
            "download": _int_attr(server, "threadcount") * 2,
        },
        "length": {
            "upload": _int_attr(upload, "testlength"),
            "download": _int_attr(download, "testlength"),
        },
        "upload_max": up_count * len(up_sizes),
    }


class _ShutdownEvent(threading.Event):
    """speedtest-cli polls the deprecated `isSet()`; answer it without a warning each time."""

    def isSet(self) -> bool:
        return self.is_set()


class _Speedtest(speedtest.Speedtest):  # type: ignore[misc]  # untyped library
    """speedtest.Speedtest that can read its configuration from an explicit URL."""

    def __init__(self, config_url: str | None, timeout: float, event: threading.Event) -> None:
        self._config_url = config_url
        super().__init__(timeout=timeout, shutdown_event=event)

    def get_config(self) -> dict[str, Any]:
        if self._config_url is None:
            config: dict[str, Any] = super().get_config()
            return config
        with self._opener.open(self._config_url) as response:
            if response.status != 200:
                raise ThroughputError(f"speedtest config: HTTP {response.status}")
            self.config.update(parse_config(response.read(MAX_CONFIG_BYTES + 1)))
        client = self.config["client"]
        try:
            self.lat_lon = (float(client.get("lat", 0)), float(client.get("lon", 0)))
        except ValueError:
            self.lat_lon = (0.0, 0.0)
        mine: dict[str, Any] = self.config
        return mine


Figures = dict[Direction, tuple[float, int, float, int]]


def _run_sync(
    options: SpeedtestOptions, event: threading.Event, report: ProgressCallback
) -> Figures:
    """Blocking part, in a worker thread: (bits/s, bytes, seconds, threads) per direction."""
    tester = _Speedtest(options.config_url, options.socket_timeout_s, event)
    if options.mini_url is not None:
        tester.set_mini_server(options.mini_url)
        tester.get_best_server(tester.servers)
    elif options.server_id is not None:
        tester.get_servers([options.server_id])
        tester.get_best_server()
    else:
        tester.get_servers()
        tester.get_best_server()
    figures: Figures = {}
    for direction in options.directions:
        report(Progress(direction))
        start = time.perf_counter()
        if direction == "down":
            bits = float(tester.download())
            used = int(tester.results.bytes_received)
        else:
            bits = float(tester.upload(pre_allocate=True))
            used = int(tester.results.bytes_sent)
        threads = int(tester.config["threads"]["download" if direction == "down" else "upload"])
        figures[direction] = (bits, used, time.perf_counter() - start, max(1, threads))
    return figures


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ThroughputError):
        return str(exc)
    name = type(exc).__name__
    return f"speedtest-cli failed: {name}: {exc}" if str(exc) else f"speedtest-cli failed: {name}"


async def run_speedtest_test(
    options: SpeedtestOptions, progress: ProgressCallback = no_progress
) -> ThroughputResult:
    """Runs speedtest-cli under a hard timeout; any library error becomes a failed result."""
    started_at = utc_now()
    clock = time.perf_counter()
    event = _ShutdownEvent()
    loop = asyncio.get_running_loop()

    def report(item: Progress) -> None:
        loop.call_soon_threadsafe(progress, item)

    def failed(reason: str) -> ThroughputResult:
        duration = time.perf_counter() - clock
        return failed_result("speedtest", options.target, started_at, reason, duration_s=duration)

    try:
        async with asyncio.timeout(options.max_total_s):
            figures = await asyncio.to_thread(_run_sync, options, event, report)
    except TimeoutError:
        event.set()  # stops speedtest-cli's threads at their next read
        return failed(f"speedtest-cli did not finish within {options.max_total_s:.0f} s")
    except Exception as exc:
        event.set()
        return failed(_describe(exc))
    results: dict[Direction, DirectionResult] = {}
    for direction, (bits, used, seconds, threads) in figures.items():
        if bits <= 0 or used <= 0:
            return failed(f"speedtest-cli measured nothing ({direction}load): server unreachable?")
        results[direction] = DirectionResult.build(
            direction,
            bits / 1e6,
            bytes_used=used,
            duration_s=seconds,
            measured_s=seconds,
            streams=min(threads, 16),
            stop_reason="fixed_duration",
            stable=False,
        )
    progress(Progress("done", time.perf_counter() - clock))
    return ThroughputResult(
        backend="speedtest",
        target=options.target,
        started_at=started_at,
        duration_s=round(time.perf_counter() - clock, 3),
        download=results.get("down"),
        upload=results.get("up"),
        bytes_used=sum(r.bytes_used for r in results.values()),
    )
