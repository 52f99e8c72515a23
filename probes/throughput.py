"""Throughput probe: one entry point over the three backends, one result model.

`ThroughputRequest` says which backend, which target and how much it may cost;
`run_throughput` runs it and always returns a `ThroughputResult` (failed results
carry a reason, never a number). There is no default target: a request without
one is refused at construction, so nothing ever measures against a server nobody
chose (and no test can reach the internet by accident).

Observation facts emitted by `ThroughputProbe` (namespaced `throughput.`):
`throughput.result` — the result as JSON (see `ThroughputResult`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import httpx

from probes.base import Observation, ProbeContext
from probes.http_throughput import HttpOptions, light_options, run_http_test
from probes.throughput_model import Backend, ProgressCallback, ThroughputResult, no_progress
from probes.throughput_sampling import SamplingPolicy

if TYPE_CHECKING:  # imported when used: the daemon's light probe is HTTP only (speedtest-cli)
    from probes.iperf3_backend import Iperf3Options
    from probes.speedtest_backend import SpeedtestOptions

DEFAULT_ASSUMED_MAX_MBPS = 1000.0  # Mbit/s; worst case for backends we cannot cap in bytes
MB = 1_000_000


def speedtest_options_for(target: str, config_url: str | None = None) -> SpeedtestOptions:
    """`speedtest:auto`, `speedtest:<server id>`, or a Speedtest Mini URL."""
    from probes.speedtest_backend import SpeedtestOptions

    if target == "speedtest:auto":
        return SpeedtestOptions(ookla_auto=True, config_url=config_url)
    if target.startswith("speedtest:"):
        server = target.removeprefix("speedtest:")
        if not server.isdigit():
            raise ValueError(f"speedtest server id must be a number: {target!r}")
        return SpeedtestOptions(server_id=int(server), config_url=config_url)
    if target.startswith(("http://", "https://")):
        return SpeedtestOptions(mini_url=target, config_url=config_url)
    raise ValueError(f"not a speedtest target: {target!r}")


@dataclass(frozen=True)
class ThroughputRequest:
    """A fully specified test. Build with `ThroughputRequest.build(...)`."""

    backend: Backend
    target: str
    http: HttpOptions = field(default_factory=HttpOptions)
    iperf3: Iperf3Options | None = None
    speedtest: SpeedtestOptions | None = None
    assumed_max_mbps: float = DEFAULT_ASSUMED_MAX_MBPS

    @classmethod
    def build(
        cls,
        backend: Backend,
        target: str | None,
        *,
        max_duration_s: float = 10.0,
        max_streams: int = 8,
        max_bytes_per_direction: int | None = None,
        light: bool = False,
        speedtest_config_url: str | None = None,
        auth: httpx.Auth | None = None,
    ) -> ThroughputRequest:
        """Validates the target for the backend; raises ValueError with a clear message."""
        if not target:
            raise ValueError(f"no target configured for the {backend} backend")
        if backend == "http":
            options = light_options() if light else _http_options(max_duration_s, max_streams)
            if max_bytes_per_direction is not None:
                options = replace(
                    options,
                    down=replace(options.down, max_bytes=max_bytes_per_direction),
                    up=replace(options.up, max_bytes=max_bytes_per_direction),
                )
            return cls("http", target, http=replace(options, auth=auth))
        if backend == "iperf3":
            duration = min(max_duration_s, 1.0) if light else max(1.0, max_duration_s - 1.0)
            from probes.iperf3_backend import Iperf3Options

            iperf = Iperf3Options.from_target(target, duration_s=duration)
            return cls("iperf3", target, iperf3=iperf)
        speed = speedtest_options_for(target, config_url=speedtest_config_url)
        return cls("speedtest", target, speedtest=speed)

    def worst_case_bytes(self) -> int:
        """The most this test can use: what the monthly budget must afford beforehand."""
        if self.backend == "http":
            return self.http.worst_case_bytes()
        bytes_per_s = self.assumed_max_mbps * MB / 8
        if self.iperf3 is not None:
            seconds = (self.iperf3.duration_s + self.iperf3.omit_s) * len(self.iperf3.directions)
        else:
            seconds = 2 * 15.0  # speedtest-cli's own test length, 10–15 s per direction
        return int(seconds * bytes_per_s)


def _http_options(max_duration_s: float, max_streams: int) -> HttpOptions:
    down = SamplingPolicy(max_duration_s=max_duration_s, max_streams=max_streams)
    down = replace(down, min_streams=min(down.min_streams, max_streams))
    return HttpOptions(down=down, up=down)


async def run_throughput(
    request: ThroughputRequest, progress: ProgressCallback = no_progress
) -> ThroughputResult:
    """Runs the requested backend; every backend returns a result rather than raising."""
    if request.backend == "http":
        return await run_http_test(request.target, request.http, progress)
    if request.backend == "iperf3" and request.iperf3 is not None:
        from probes.iperf3_backend import run_iperf3_test

        return await run_iperf3_test(request.iperf3, progress)
    if request.speedtest is not None:
        from probes.speedtest_backend import run_speedtest_test

        return await run_speedtest_test(request.speedtest, progress)
    raise ValueError(f"incomplete request for backend {request.backend}")


class ThroughputProbe:
    """The probe-protocol face: one observation carrying the whole result."""

    name = "throughput"

    def __init__(self, request: ThroughputRequest) -> None:
        self.request = request

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        def progress(item: object) -> None:
            ctx.progress(str(item))

        result = await run_throughput(self.request, progress)
        return [
            Observation(
                probe=self.name, facts={"throughput.result": result.model_dump(mode="json")}
            )
        ]
