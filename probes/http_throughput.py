"""The default throughput method: parallel HTTP streams against a LibreSpeed backend.

Why our own method rather than a library: we need to stop as soon as the figure is
trustworthy (a school's 4G budget and its teachers both pay for every extra second),
count upload at the receiver, exclude ramp-up, and fail loudly on a target that
misbehaves. The stopping rule lives in `throughput_sampling`; the per-connection work
in `throughput_streams`; this module runs them and turns the outcome into a result.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from probes.base import utc_now
from probes.latency import LoadedRtt, host_port, idle_latency_at, resolve, with_loaded
from probes.throughput_model import (
    Direction,
    DirectionResult,
    LatencyResult,
    Progress,
    ProgressCallback,
    StopReason,
    ThroughputError,
    ThroughputResult,
    failed_result,
    no_progress,
)
from probes.throughput_sampling import RateTracker, SamplingPolicy
from probes.throughput_streams import (
    CHUNK_BYTES,
    UPLOAD_REQUEST_BYTES,
    ByteCounter,
    describe_http_error,
    download_stream,
    make_trace,
    upload_stream,
)
from probes.tls import verified_context

_FAILURES = (ThroughputError, httpx.HTTPError, OSError, TimeoutError)
IN_FLIGHT_BYTES = 2_000_000  # bytes per direction on the wire when streams stop
STOP_GRACE_S = 2.0  # s allowed for streams to close after a direction ends


@dataclass(frozen=True)
class HttpOptions:
    """Timeouts and policies; every network step is bounded by one of these."""

    down: SamplingPolicy = field(default_factory=SamplingPolicy)
    up: SamplingPolicy = field(default_factory=SamplingPolicy)
    directions: tuple[Direction, ...] = ("down", "up")
    connect_timeout_s: float = 5.0  # s for TCP (+TLS) set-up
    stall_timeout_s: float = 3.0  # s without a byte moving: the target stalled
    ping_count: int = 5
    # Signs each request when the target wants to know who measures (our collector).
    auth: httpx.Auth | None = field(default=None, compare=False, repr=False)

    def worst_case_bytes(self) -> int:
        """Most bytes one test may use: what the data budget must be able to afford."""
        total = 0
        for direction in self.directions:
            policy = self.down if direction == "down" else self.up
            # Streams stop at max_bytes themselves; only data in flight can overshoot.
            total += policy.max_bytes + IN_FLIGHT_BYTES
        return total + 100_000  # pings and HTTP headers


def light_options() -> HttpOptions:
    """The probe allowed during lessons: latency plus ≤ 1 s of one-stream download."""
    policy = SamplingPolicy(
        max_duration_s=1.0, fixed_duration=True, min_streams=1, max_streams=1, grace_s=0.25
    )
    return HttpOptions(down=policy, directions=("down",), ping_count=3)


@dataclass(frozen=True)
class Endpoints:
    garbage: str
    empty: str
    get_ip: str


async def discover_endpoints(client: httpx.AsyncClient, base: str) -> Endpoints:
    """PHP LibreSpeed wants `empty.php`, speedtest-go plain `empty`: ask, then remember."""
    base = base.rstrip("/")
    seen: list[str] = []
    for suffix in (".php", ""):
        url = f"{base}/empty{suffix}"
        response = await client.get(url)
        if response.is_redirect:
            where = response.headers.get("location", "?")
            raise ThroughputError(
                f"{url} redirected ({response.status_code}) to {where}; not followed"
            )
        if response.status_code == 200:
            return Endpoints(f"{base}/garbage{suffix}", url, f"{base}/getIP{suffix}")
        seen.append(f"{url} → HTTP {response.status_code}")
    raise ThroughputError("target does not speak the LibreSpeed protocol: " + "; ".join(seen))


def make_client(options: HttpOptions, streams: int = 16) -> httpx.AsyncClient:
    """No redirects, no proxies from the environment, no compression: measure this host."""
    timeout = httpx.Timeout(
        connect=options.connect_timeout_s,
        read=options.stall_timeout_s,
        write=options.stall_timeout_s,
        pool=options.connect_timeout_s,
    )
    return httpx.AsyncClient(
        timeout=timeout,
        limits=httpx.Limits(max_connections=streams + 2, max_keepalive_connections=streams + 2),
        follow_redirects=False,
        trust_env=False,
        verify=verified_context(trust_env=False),
        auth=options.auth,
        headers={"Accept-Encoding": "identity", "User-Agent": "socle-agent"},
    )


async def close_quietly(client: httpx.AsyncClient) -> None:
    """Closing must not hang on a peer that stopped answering: bounded, errors ignored."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(STOP_GRACE_S):
            await client.aclose()


@dataclass
class Usage:
    """Bytes spent so far, kept even when a direction fails half-way."""

    bytes_used: int = 0


async def measure_direction(
    direction: Direction,
    url: str,
    options: HttpOptions,
    usage: Usage,
    progress: ProgressCallback = no_progress,
) -> DirectionResult:
    """Runs streams in one direction until the stopping rule says stop."""
    policy = options.down if direction == "down" else options.up
    tracker = RateTracker(policy)
    counter = ByteCounter()
    trace = make_trace(counter)
    tasks: set[asyncio.Task[None]] = set()
    chunks = max(1, min(1024, policy.max_bytes // CHUNK_BYTES))
    client = make_client(options, policy.max_streams)
    try:

        def spawn() -> None:
            if direction == "down":
                coro = download_stream(client, url, counter, chunks, trace, policy.max_bytes)
            else:
                size = UPLOAD_REQUEST_BYTES
                coro = upload_stream(client, url, counter, size, trace, policy.max_bytes)
            tasks.add(asyncio.create_task(coro))

        try:
            for _ in range(tracker.streams):
                spawn()
            hard_limit_s = policy.max_duration_s + options.connect_timeout_s + STOP_GRACE_S
            async with asyncio.timeout(hard_limit_s):
                reason = await _sample_loop(
                    direction, tasks, tracker, counter, options, spawn, progress
                )
        finally:
            usage.bytes_used += counter.receiver_bytes() if direction == "up" else counter.moved
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=STOP_GRACE_S)
    finally:
        await close_quietly(client)
    goodput, measured_s = tracker.goodput_mbps(reason)
    return DirectionResult.build(
        direction,
        goodput,
        bytes_used=tracker.total_bytes,
        duration_s=tracker.elapsed_s,
        measured_s=measured_s,
        streams=tracker.streams,
        stop_reason=reason,
        stable=reason == "stable",
    )


async def _sample_loop(
    direction: Direction,
    tasks: set[asyncio.Task[None]],
    tracker: RateTracker,
    counter: ByteCounter,
    options: HttpOptions,
    spawn: Callable[[], None],
    progress: ProgressCallback,
) -> StopReason:
    loop = asyncio.get_running_loop()
    start = loop.time()
    last_moved_at = 0.0
    policy = tracker.policy
    while True:
        done, _pending = await asyncio.wait(
            tasks, timeout=policy.sample_interval_s, return_when=asyncio.FIRST_COMPLETED
        )
        for task in done:
            tasks.discard(task)
            exc = task.exception()
            if exc is not None:
                raise exc
            if counter.moved < policy.max_bytes:
                raise ThroughputError(f"{direction}load stream ended early")
        now = loop.time() - start
        total = counter.receiver_bytes() if direction == "up" else counter.moved
        if total > tracker.total_bytes:
            last_moved_at = now
        elif now - last_moved_at > options.stall_timeout_s:
            raise ThroughputError(
                f"{direction}load stalled: nothing moved for {options.stall_timeout_s:.0f} s "
                f"after {total} bytes"
            )
        tracker.add(now, total)
        if not tasks:  # every stream stopped at the byte cap
            return "byte_budget"
        progress(
            Progress(
                direction, now, tracker.recent_rate_mbps(), tracker.total_bytes, tracker.streams
            )
        )
        reason = tracker.stop_reason()
        if reason is not None:
            return reason
        wanted = tracker.wanted_streams()
        if wanted > tracker.streams and counter.moved < policy.max_bytes:
            for _ in range(wanted - tracker.streams):
                spawn()
            tracker.set_streams(wanted)


async def run_http_test(
    target: str,
    options: HttpOptions | None = None,
    progress: ProgressCallback = no_progress,
) -> ThroughputResult:
    """Latency, then download (with loaded RTT), then upload; a failed result on any error."""
    options = options or HttpOptions()
    started_at = utc_now()
    clock = time.perf_counter()
    usage = Usage()
    latency = LatencyResult()

    def failed(reason: str) -> ThroughputResult:
        return failed_result(
            "http",
            target,
            started_at,
            reason,
            duration_s=time.perf_counter() - clock,
            bytes_used=usage.bytes_used,
            latency=latency,
        )

    try:
        where = host_port(target)
    except ValueError as exc:
        return failed(str(exc))
    results: dict[Direction, DirectionResult] = {}
    try:
        ip, dns_ms = await resolve(where.host, where.port)
        async with make_client(options, 2) as client:
            async with asyncio.timeout(2 * options.connect_timeout_s + options.stall_timeout_s):
                endpoints = await discover_endpoints(client, target)
            progress(Progress("latency"))
            latency = await idle_latency_at(
                ip, where.port, dns_ms, endpoints.empty, client, options.ping_count
            )
        if "down" in options.directions:
            async with LoadedRtt(ip, where.port) as loaded:
                results["down"] = await measure_direction(
                    "down", endpoints.garbage, options, usage, progress
                )
            latency = with_loaded(latency, loaded.series)
        if "up" in options.directions:
            results["up"] = await measure_direction("up", endpoints.empty, options, usage, progress)
    except _FAILURES as exc:
        return failed(describe_http_error(exc, target))
    progress(Progress("done", time.perf_counter() - clock, 0.0, usage.bytes_used))
    return ThroughputResult(
        backend="http",
        target=target,
        started_at=started_at,
        duration_s=round(time.perf_counter() - clock, 3),
        download=results.get("down"),
        upload=results.get("up"),
        latency=latency,
        bytes_used=usage.bytes_used,
    )
