"""The stopping rule on synthetic byte series: no network, microseconds per case."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes.throughput_model import (
    LINE_RATE_FACTOR,
    DirectionResult,
    StopReason,
    estimate_line_rate_mbps,
)
from probes.throughput_sampling import RateTracker, SamplingPolicy, mbps


def feed(
    tracker: RateTracker, rate_of: Callable[[float], float], until_s: float
) -> StopReason | None:
    """Feeds samples every interval with bytes/s given by rate_of(t); returns the stop reason."""
    t, total = 0.0, 0.0
    step = tracker.policy.sample_interval_s
    while t < until_s:
        t = round(t + step, 6)
        total += rate_of(t) * step
        tracker.add(t, int(total))
        reason = tracker.stop_reason()
        if reason is not None:
            return reason
    return None


def test_ramp_then_plateau_stops_early_with_the_plateau_rate() -> None:
    tracker = RateTracker(SamplingPolicy())
    plateau = 1_000_000  # B/s = 8 Mbit/s
    reason = feed(tracker, lambda t: plateau * min(1.0, t / 0.8) * (1.6 if t < 0.5 else 1), 10)
    assert reason == "stable"
    goodput, measured = tracker.goodput_mbps("stable")
    assert goodput == pytest.approx(8.0, rel=0.005)
    assert measured == pytest.approx(2.0)
    assert tracker.elapsed_s <= 3.2  # 1 s grace + 2 s window


def test_drifting_rate_runs_to_max_duration_and_excludes_ramp() -> None:
    tracker = RateTracker(SamplingPolicy(max_duration_s=6))
    reason = feed(tracker, lambda t: 50e6 if t < 1 else 1e6 * (1 + 0.1 * t), 10)
    assert reason == "max_duration"
    goodput, measured = tracker.goodput_mbps("max_duration")
    assert goodput == pytest.approx(8 * 1.35, rel=0.03)  # the 50 MB/s first second is excluded
    assert measured == pytest.approx(5.0, abs=0.25)


def test_byte_budget_wins_over_everything() -> None:
    tracker = RateTracker(SamplingPolicy(max_bytes=3_000_000))
    assert feed(tracker, lambda t: 10e6, 10) == "byte_budget"
    assert tracker.total_bytes >= 3_000_000 and tracker.elapsed_s < 0.5


def test_streams_grow_with_rate_and_restart_the_ramp() -> None:
    tracker = RateTracker(SamplingPolicy())
    assert tracker.streams == 2
    feed(tracker, lambda t: 50e6, 0.6)  # 400 Mbit/s
    wanted = tracker.wanted_streams()
    assert wanted == 8
    tracker.set_streams(wanted)
    assert tracker.ramp_end_s == pytest.approx(tracker.elapsed_s + 1.0)


def test_slow_link_keeps_few_streams() -> None:
    tracker = RateTracker(SamplingPolicy())
    feed(tracker, lambda t: 1e6, 2)
    assert tracker.wanted_streams() == 2


def test_fixed_duration_ignores_stability() -> None:
    tracker = RateTracker(SamplingPolicy(max_duration_s=1, fixed_duration=True, grace_s=0.25))
    assert feed(tracker, lambda t: 1e6, 5) == "fixed_duration"
    goodput, _ = tracker.goodput_mbps("fixed_duration")
    assert goodput == pytest.approx(8.0, rel=0.01)


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        SamplingPolicy(sample_interval_s=1.0)
    with pytest.raises(ValueError):
        SamplingPolicy(min_streams=4, max_streams=2)


@settings(max_examples=60, deadline=None)
@given(rate=st.floats(min_value=1e4, max_value=2e8), ramp=st.floats(min_value=0.1, max_value=3))
def test_any_constant_plateau_is_measured_exactly(rate: float, ramp: float) -> None:
    tracker = RateTracker(SamplingPolicy())
    reason = feed(tracker, lambda t: rate * min(1.0, t / ramp), 10)
    assert reason is not None
    goodput, _ = tracker.goodput_mbps(reason)
    assert goodput == pytest.approx(rate * 8 / 1e6, rel=0.03)


def test_line_rate_formula() -> None:
    assert pytest.approx(1514 / 1448) == LINE_RATE_FACTOR
    assert estimate_line_rate_mbps(7.65) == pytest.approx(8.0, rel=0.002)
    assert mbps(1_000_000, 1.0) == 8.0
    result = DirectionResult.build(
        "down",
        7.65,
        bytes_used=1,
        duration_s=3,
        measured_s=2,
        streams=2,
        stop_reason="stable",
        stable=True,
    )
    assert result.line_rate_mbps == pytest.approx(8.0, rel=0.002)
    with pytest.raises(ValueError):
        result.goodput_mbps = 1.0  # type: ignore[misc]  # frozen
