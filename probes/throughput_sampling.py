"""When to stop measuring, and what the rate was: pure arithmetic on byte samples.

Kept apart from the network code so that the stopping rule can be tested on
synthetic series (ramp-ups, plateaus, stalls) in microseconds, and so that every
backend that samples bytes uses the same rule.

The rule: sample cumulative bytes every 100–250 ms. The first `grace_s` after the
start, and after every change in the number of streams, is ramp-up (TCP slow start,
shaper bursts, send buffers filling) and never counts. Once `window_s` of post-ramp
samples exist, split that window in `sub_windows` parts; if every part's rate lies
within ±`tolerance` of the window's rate, the link is stable and the window's rate is
the answer. Otherwise keep going until `max_duration_s` or `max_bytes`, and report
the rate over everything after the ramp-up.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field

from probes.throughput_model import StopReason

BITS_PER_BYTE = 8
MEGA = 1_000_000


@dataclass(frozen=True)
class SamplingPolicy:
    """Knobs of the stopping rule; defaults follow the issue (2 s within ±3 %, 10 s max)."""

    sample_interval_s: float = 0.2  # s; 100–250 ms keeps the loop cheap and the curve smooth
    grace_s: float = 1.0  # s of ramp-up ignored after start and after adding streams
    window_s: float = 2.0  # s that must be stable before stopping early
    sub_windows: int = 4  # parts of the window compared with each other
    tolerance: float = 0.03  # ±3 %
    max_duration_s: float = 10.0  # s; ndt7 uses 10 s per direction too
    max_bytes: int = 2_000_000_000  # bytes per direction; the per-test data budget
    min_streams: int = 2  # two streams ride out one stream's loss recovery
    max_streams: int = 8
    mbps_per_stream: float = 20.0  # add a stream per 20 Mbit/s seen during ramp-up
    adapt_until_s: float = 4.0  # s; stream changes after this would delay the verdict
    fixed_duration: bool = False  # light probe: no stability rule, just the clock

    def __post_init__(self) -> None:
        if not 0.1 <= self.sample_interval_s <= 0.25:
            raise ValueError("sample_interval_s must lie between 0.1 and 0.25 s")
        if not 1 <= self.min_streams <= self.max_streams <= 16:
            raise ValueError("need 1 ≤ min_streams ≤ max_streams ≤ 16")
        if self.max_duration_s <= 0 or self.max_bytes <= 0 or self.window_s <= 0:
            raise ValueError("max_duration_s, max_bytes and window_s must be positive")


def mbps(byte_count: float, seconds: float) -> float:
    """Bytes over seconds as Mbit/s (10⁶ bits), the unit ISPs sell."""
    return 0.0 if seconds <= 0 else byte_count * BITS_PER_BYTE / seconds / MEGA


@dataclass
class RateTracker:
    """Accumulates (time, cumulative bytes) samples and applies the stopping rule."""

    policy: SamplingPolicy
    times: list[float] = field(default_factory=lambda: [0.0])
    totals: list[int] = field(default_factory=lambda: [0])
    ramp_end_s: float = 0.0
    streams: int = 0

    def __post_init__(self) -> None:
        self.ramp_end_s = self.policy.grace_s
        self.streams = self.policy.min_streams

    @property
    def elapsed_s(self) -> float:
        return self.times[-1]

    @property
    def total_bytes(self) -> int:
        return self.totals[-1]

    def add(self, elapsed_s: float, total_bytes: int) -> None:
        """Records a sample; time must not go backwards, bytes never decrease."""
        if elapsed_s <= self.times[-1]:
            return
        self.times.append(elapsed_s)
        self.totals.append(max(total_bytes, self.totals[-1]))

    def bytes_at(self, t: float) -> float:
        """Cumulative bytes at time t, interpolated between samples."""
        i = bisect_left(self.times, t)
        if i >= len(self.times):
            return float(self.totals[-1])
        if i == 0 or self.times[i] == t:
            return float(self.totals[i])
        t0, t1 = self.times[i - 1], self.times[i]
        b0, b1 = self.totals[i - 1], self.totals[i]
        return b0 + (b1 - b0) * (t - t0) / (t1 - t0)

    def rate_mbps(self, start_s: float, end_s: float) -> float:
        return mbps(self.bytes_at(end_s) - self.bytes_at(start_s), end_s - start_s)

    def recent_rate_mbps(self, span_s: float = 0.5) -> float:
        """What a progress line shows: the rate over the last half second."""
        end = self.elapsed_s
        return self.rate_mbps(max(0.0, end - span_s), end)

    def wanted_streams(self) -> int:
        """More streams while ramping up on a fast link; never fewer (that would perturb)."""
        p = self.policy
        if p.fixed_duration or self.elapsed_s > p.adapt_until_s or self.elapsed_s < 0.5:
            return self.streams
        need = math.ceil(self.recent_rate_mbps() / p.mbps_per_stream)
        return max(self.streams, min(p.max_streams, need))

    def set_streams(self, count: int) -> None:
        """A new stream has its own slow start: the ramp-up begins again."""
        if count != self.streams:
            self.streams = count
            self.ramp_end_s = self.elapsed_s + self.policy.grace_s

    def is_stable(self) -> bool:
        p = self.policy
        end = self.elapsed_s
        start = end - p.window_s
        if p.fixed_duration or start < self.ramp_end_s:
            return False
        overall = self.rate_mbps(start, end)
        if overall <= 0:
            return False
        step = p.window_s / p.sub_windows
        parts = [
            self.rate_mbps(start + k * step, start + (k + 1) * step) for k in range(p.sub_windows)
        ]
        return all(abs(part - overall) <= p.tolerance * overall for part in parts)

    def stop_reason(self) -> StopReason | None:
        """Why to stop now, or None to keep measuring."""
        p = self.policy
        if self.total_bytes >= p.max_bytes:
            return "byte_budget"
        if self.elapsed_s >= p.max_duration_s:
            return "fixed_duration" if p.fixed_duration else "max_duration"
        if self.is_stable():
            return "stable"
        return None

    def measured_window(self, reason: StopReason) -> tuple[float, float]:
        """The span the reported goodput comes from."""
        end = self.elapsed_s
        if reason == "stable":
            return end - self.policy.window_s, end
        # Not stable: everything after the ramp-up, if enough of it exists to mean anything.
        if end - self.ramp_end_s >= min(1.0, end / 2):
            return self.ramp_end_s, end
        return min(end / 2, self.policy.grace_s / 2), end

    def goodput_mbps(self, reason: StopReason) -> tuple[float, float]:
        """(goodput, seconds measured) for the chosen window."""
        start, end = self.measured_window(reason)
        return self.rate_mbps(start, end), end - start
