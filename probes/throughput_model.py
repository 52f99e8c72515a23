"""One result model for every throughput backend (HTTP, speedtest-cli, iperf3).

Backends disagree on methods but must agree on what they report, so that verdicts,
the status page and the collector never care which backend ran. Every figure names
its unit; goodput (what TCP delivered to the application) and the estimated line rate
(what the ISP sells) are kept apart because they differ by ~4.4 %.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Backend = Literal["http", "speedtest", "iperf3"]
Direction = Literal["down", "up"]
# Why a test did not run to its normal end. `None` means it did.
CutShort = Literal["error", "budget", "busy_link", "lesson_hours", "cancelled"]
# Why a direction stopped measuring: rate stable, clock ran out, or per-test bytes spent.
StopReason = Literal["stable", "max_duration", "byte_budget", "fixed_duration"]

# Ethernet at MTU 1500 with TCP timestamps: 1500 − 20 (IPv4) − 20 (TCP) − 12 (timestamp
# option) = 1448 payload bytes ride in a 1514-byte frame (1500 + 14-byte Ethernet header;
# preamble and FCS are not counted by Linux shapers such as tbf).
TCP_PAYLOAD_BYTES = 1448  # bytes per full-size segment
ETHERNET_FRAME_BYTES = 1514  # bytes per full-size frame as a shaper counts it
LINE_RATE_FACTOR = ETHERNET_FRAME_BYTES / TCP_PAYLOAD_BYTES  # ≈ 1.0456


def estimate_line_rate_mbps(goodput_mbps: float) -> float:
    """Line rate ≈ goodput × 1514 / 1448.

    A shaper sold as "8 Mbit/s" counts Ethernet frames; TCP only delivers the
    payload, so a perfect 8 Mbit/s line reads ~7.65 Mbit/s of goodput. This undoes
    exactly that overhead for IPv4/TCP with timestamps on Ethernet. Real access
    links add their own framing (PPPoE, ATM cells, DOCSIS), so it is an estimate.
    """
    return goodput_mbps * LINE_RATE_FACTOR


class Frozen(BaseModel):
    """Immutable, strict about keys: results are facts, not scratch pads."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DirectionResult(Frozen):
    """One direction of one test, measured after ramp-up."""

    direction: Direction
    goodput_mbps: float = Field(ge=0)
    line_rate_mbps: float = Field(ge=0)
    bytes_used: int = Field(ge=0)
    duration_s: float = Field(ge=0)
    measured_s: float = Field(ge=0, description="length of the window the goodput comes from")
    streams: int = Field(ge=1)
    stop_reason: StopReason
    stable: bool

    @classmethod
    def build(
        cls,
        direction: Direction,
        goodput_mbps: float,
        *,
        bytes_used: int,
        duration_s: float,
        measured_s: float,
        streams: int,
        stop_reason: StopReason,
        stable: bool,
    ) -> DirectionResult:
        """Derives the line rate so that no backend can compute it differently."""
        return cls(
            direction=direction,
            goodput_mbps=round(goodput_mbps, 3),
            line_rate_mbps=round(estimate_line_rate_mbps(goodput_mbps), 3),
            bytes_used=bytes_used,
            duration_s=round(duration_s, 3),
            measured_s=round(measured_s, 3),
            streams=streams,
            stop_reason=stop_reason,
            stable=stable,
        )


class LatencyResult(Frozen):
    """Idle and loaded round trips to the target; `None` where nothing was measured."""

    dns_ms: float | None = None
    idle_tcp_connect_ms: float | None = None
    idle_http_rtt_ms: float | None = None
    loaded_rtt_ms: float | None = Field(None, description="median TCP connect during download")
    jitter_ms: float | None = Field(None, description="mean |difference| of successive idle RTTs")
    attempts: int = 0
    failures: int = 0

    @property
    def bufferbloat_ms(self) -> float | None:
        """Extra delay the download's queues add: loaded minus idle connect time."""
        if self.loaded_rtt_ms is None or self.idle_tcp_connect_ms is None:
            return None
        return max(0.0, self.loaded_rtt_ms - self.idle_tcp_connect_ms)


class ThroughputResult(Frozen):
    """A whole test: latency, download, upload, and whether it was cut short and why."""

    backend: Backend
    target: str
    started_at: AwareDatetime
    duration_s: float = Field(ge=0)
    download: DirectionResult | None = None
    upload: DirectionResult | None = None
    latency: LatencyResult = LatencyResult()
    bytes_used: int = Field(0, ge=0)
    cut_short: CutShort | None = None
    reason: str | None = Field(None, description="human explanation when cut short")
    postponed_until: AwareDatetime | None = None

    @property
    def ok(self) -> bool:
        return self.cut_short is None and (self.download is not None or self.upload is not None)

    @property
    def goodput_down_mbps(self) -> float | None:
        return None if self.download is None else self.download.goodput_mbps

    @property
    def goodput_up_mbps(self) -> float | None:
        return None if self.upload is None else self.upload.goodput_mbps

    @property
    def line_rate_down_mbps(self) -> float | None:
        return None if self.download is None else self.download.line_rate_mbps

    @property
    def line_rate_up_mbps(self) -> float | None:
        return None if self.upload is None else self.upload.line_rate_mbps


def failed_result(
    backend: Backend,
    target: str,
    started_at: datetime,
    reason: str,
    *,
    cut_short: CutShort = "error",
    duration_s: float = 0.0,
    bytes_used: int = 0,
    latency: LatencyResult | None = None,
    postponed_until: datetime | None = None,
) -> ThroughputResult:
    """A result that carries no rate, only why: never a fake number."""
    return ThroughputResult(
        backend=backend,
        target=target,
        started_at=started_at,
        duration_s=round(duration_s, 3),
        latency=latency or LatencyResult(),
        bytes_used=bytes_used,
        cut_short=cut_short,
        reason=reason,
        postponed_until=postponed_until,
    )


@dataclass(frozen=True)
class Progress:
    """A live reading, for a progress line; emitted every sample (100–250 ms)."""

    phase: Literal["latency", "down", "up", "done"]
    elapsed_s: float = 0.0
    rate_mbps: float = 0.0
    bytes_used: int = 0
    streams: int = 0


ProgressCallback = Callable[[Progress], None]


def no_progress(_progress: Progress) -> None:
    """Default callback: the daemon has nobody to show progress to."""


class ThroughputError(Exception):
    """A backend could not produce a trustworthy figure; the message says why."""
