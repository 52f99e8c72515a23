"""Round trips to the throughput target: idle, under load, jitter, failures, DNS time.

No ICMP: raw sockets need privileges and many school gateways drop pings. A TCP
connect (SYN → SYN-ACK) is one round trip that any web server answers, and an HTTP
GET of LibreSpeed's `empty` on a kept-alive connection is one more that includes the
server. Measured during a download, connect time shows the queueing delay the
download adds (bufferbloat): the SYN-ACK waits in the same downstream queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from probes.throughput_model import LatencyResult

CONNECT_TIMEOUT_S = 3.0  # s per connect; a school link slower than this is down for us
LOADED_INTERVAL_S = 0.25  # s between connects during a download: light, still ~20 samples
DNS_TIMEOUT_S = 3.0  # s


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int


def host_port(url: str) -> HostPort:
    """Host and port of an http(s) URL; raises ValueError on anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    default = 443 if parts.scheme == "https" else 80
    return HostPort(parts.hostname, parts.port or default)


async def resolve(host: str, port: int, timeout_s: float = DNS_TIMEOUT_S) -> tuple[str, float]:
    """First address of `host` and how long resolution took (ms); an IP literal takes ~0."""
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    async with asyncio.timeout(timeout_s):
        infos = await loop.getaddrinfo(host, port, type=1)  # 1 = SOCK_STREAM
    elapsed_ms = (time.perf_counter() - start) * 1000
    if not infos:
        raise OSError(f"{host} has no address")
    return str(infos[0][4][0]), elapsed_ms


async def tcp_connect_ms(ip: str, port: int, timeout_s: float = CONNECT_TIMEOUT_S) -> float:
    """One TCP handshake, in ms; the connection is closed at once."""
    start = time.perf_counter()
    async with asyncio.timeout(timeout_s):
        _reader, writer = await asyncio.open_connection(ip, port)
    elapsed_ms = (time.perf_counter() - start) * 1000
    writer.close()
    with contextlib.suppress(OSError):
        await asyncio.wait_for(writer.wait_closed(), timeout_s)
    return elapsed_ms


def jitter_ms(samples: list[float]) -> float | None:
    """Mean absolute difference of successive samples (as LibreSpeed and RFC 3550 smooth)."""
    if len(samples) < 2:
        return None
    return statistics.fmean(abs(b - a) for a, b in itertools.pairwise(samples))


@dataclass
class Series:
    """Successful samples (ms) and how many attempts failed."""

    samples: list[float] = field(default_factory=list)
    attempts: int = 0
    failures: int = 0

    def median(self) -> float | None:
        return round(statistics.median(self.samples), 3) if self.samples else None


async def connect_series(ip: str, port: int, count: int, pause_s: float = 0.05) -> Series:
    """`count` handshakes in a row; failures are counted, not raised."""
    series = Series()
    for _ in range(count):
        series.attempts += 1
        try:
            series.samples.append(await tcp_connect_ms(ip, port))
        except (OSError, TimeoutError):
            series.failures += 1
        await asyncio.sleep(pause_s)
    return series


async def http_series(client: httpx.AsyncClient, url: str, count: int) -> Series:
    """GETs of `empty` on one kept-alive connection; the first (connect) is not kept."""
    series = Series()
    for index in range(count + 1):
        series.attempts += index > 0
        start = time.perf_counter()
        try:
            response = await client.get(url, params={"r": str(index)})
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        elapsed_ms = (time.perf_counter() - start) * 1000
        if index == 0:
            continue
        if ok:
            series.samples.append(elapsed_ms)
        else:
            series.failures += 1
    return series


async def idle_latency(
    url: str, ping_url: str | None = None, client: httpx.AsyncClient | None = None, count: int = 5
) -> LatencyResult:
    """Resolves the target, then measures it idle (the daemon's regular latency probe)."""
    target = host_port(url)
    try:
        ip, dns_ms = await resolve(target.host, target.port)
    except (OSError, TimeoutError):
        return LatencyResult(attempts=1, failures=1)
    return await idle_latency_at(ip, target.port, dns_ms, ping_url, client, count)


async def idle_latency_at(
    ip: str,
    port: int,
    dns_ms: float,
    ping_url: str | None,
    client: httpx.AsyncClient | None,
    count: int = 5,
) -> LatencyResult:
    """TCP connect and HTTP RTT medians, jitter and failures, on an idle link."""
    connects = await connect_series(ip, port, count)
    http = Series()
    if ping_url is not None and client is not None:
        http = await http_series(client, ping_url, count)
    jitter = jitter_ms(http.samples) if http.samples else jitter_ms(connects.samples)
    return LatencyResult(
        dns_ms=round(dns_ms, 3),
        idle_tcp_connect_ms=connects.median(),
        idle_http_rtt_ms=http.median(),
        jitter_ms=None if jitter is None else round(jitter, 3),
        attempts=connects.attempts + http.attempts,
        failures=connects.failures + http.failures,
    )


class LoadedRtt:
    """Samples TCP connect time in the background while a download runs.

    Use as `async with LoadedRtt(ip, port) as rtt: ...download...`, then `rtt.series`.
    """

    def __init__(self, ip: str, port: int, interval_s: float = LOADED_INTERVAL_S) -> None:
        self.ip = ip
        self.port = port
        self.interval_s = interval_s
        self.series = Series()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                self.series.samples.append(await tcp_connect_ms(self.ip, self.port))
            except (OSError, TimeoutError):
                self.series.failures += 1
            self.series.attempts += 1  # after the outcome: a cancelled try is no attempt
            await asyncio.sleep(self.interval_s)

    async def __aenter__(self) -> LoadedRtt:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=CONNECT_TIMEOUT_S)


def with_loaded(latency: LatencyResult, loaded: Series) -> LatencyResult:
    """Adds the loaded RTT (and its attempts) to an idle measurement."""
    return latency.model_copy(
        update={
            "loaded_rtt_ms": loaded.median(),
            "attempts": latency.attempts + loaded.attempts,
            "failures": latency.failures + loaded.failures,
        }
    )


def rtt_target_of(url: str) -> tuple[str, int]:
    """(host, port) of a URL, for connect-time series (busy-link check, tests)."""
    where = host_port(url)
    return where.host, where.port
