"""Verdicts per test and over a rolling window, and the gentle gates before a test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.bandwidth import (
    judge,
    rolling_verdict,
    thresholds_for,
    verdict_for_test,
)
from agent.bandwidth_run import (
    Gentleness,
    backoff_s,
    format_progress,
    format_report,
    measure_bandwidth,
    run_throughput_command,
)
from agent.budget import MB, DataBudget
from agent.config import AgentSettings
from probes.throughput_model import DirectionResult, Progress, ThroughputResult, failed_result
from tests.probes.throughput_servers import librespeed_target

NOW = datetime(2026, 11, 14, 15, 0, tzinfo=UTC)  # a Saturday


def result(down: float | None, up: float | None, at: datetime = NOW) -> ThroughputResult:
    def d(direction: str, goodput: float | None) -> DirectionResult | None:
        if goodput is None:
            return None
        return DirectionResult.build(
            direction,  # type: ignore[arg-type]
            goodput,
            bytes_used=1,
            duration_s=3,
            measured_s=2,
            streams=2,
            stop_reason="stable",
            stable=True,
        )

    return ThroughputResult(
        backend="http",
        target="t",
        started_at=at,
        duration_s=6,
        download=d("down", down),
        upload=d("up", up),
    )


@pytest.mark.parametrize(
    ("size", "line_down", "line_up", "level"),
    [
        ("small", 7.6, 5, "below_minimum"),
        ("small", 8.4, 5, "minimum"),
        ("small", 15.2, 15.1, "desirable"),
        ("small", 15.2, 14.0, "minimum"),
        ("medium", 9.5, 20, "below_minimum"),
        ("medium", 10.5, 21, "minimum"),
        ("medium", 36, 21, "desirable"),
        ("large", 14.25, 50, "below_minimum"),
        ("large", 15.75, 50, "minimum"),
        ("large", 101, 46, "desirable"),
    ],
)
def test_thresholds_table(size: str, line_down: float, line_up: float, level: str) -> None:
    verdict = judge(line_down, line_up, thresholds_for(size))  # type: ignore[arg-type]
    assert verdict.level == level and verdict.basis == "line_rate" and verdict.tests == 1


def test_line_rate_basis_is_what_makes_a_sold_8_pass() -> None:
    """tbf 8.4 mbit → 8.03 goodput: on goodput it would sit 0.4 % above the line."""
    sold_8_point_4 = result(down=8.4 * 1448 / 1514, up=1)
    assert verdict_for_test(sold_8_point_4, thresholds_for("small")).level == "minimum"
    sold_7_point_6 = result(down=7.6 * 1448 / 1514, up=1)
    assert verdict_for_test(sold_7_point_6, thresholds_for("small")).level == "below_minimum"
    goodput = verdict_for_test(result(7.9, 1), thresholds_for("small"), basis="goodput")
    assert goodput.basis == "goodput" and goodput.level == "below_minimum"


def test_unknown_upload_never_claims_desirable() -> None:
    verdict = judge(200, None, thresholds_for("large"))
    assert verdict.level == "minimum" and verdict.meets_desirable is None
    assert "upload unknown" in verdict.reason


def test_failed_test_is_unknown_not_a_fail() -> None:
    failed = failed_result("http", "t", NOW, "target down")
    verdict = verdict_for_test(failed, thresholds_for("small"))
    assert verdict.level == "unknown" and verdict.tests == 0 and "target down" in verdict.reason


def test_rolling_window_median_and_count() -> None:
    history = [
        result(7.0, 5, NOW - timedelta(days=8)),  # outside the window
        result(9.0, 5, NOW - timedelta(days=6)),
        result(7.0, 5, NOW - timedelta(days=3)),  # one bad evening
        result(9.2, 5, NOW - timedelta(days=1)),
        failed_result("http", "t", NOW, "down"),  # not counted
    ]
    verdict = rolling_verdict(history, NOW, thresholds_for("small"), window_days=7)
    assert verdict.tests == 3 and verdict.window_days == 7
    assert verdict.down_mbps == pytest.approx(9.0 * 1514 / 1448, rel=1e-3)
    assert verdict.level == "minimum"


def test_rolling_window_needs_enough_tests() -> None:
    verdict = rolling_verdict([result(9, 5)], NOW, thresholds_for("small"), min_tests=3)
    assert verdict.level == "unknown" and verdict.tests == 1 and "3 needed" in verdict.reason
    assert verdict.meets_minimum is None and verdict.down_mbps is not None  # median still shown


def test_the_referential_sets_how_many_tests_a_verdict_needs() -> None:
    builtin = thresholds_for("small")
    assert builtin.min_tests == 3  # config/socle.toml
    two = [result(9, 5, NOW - timedelta(days=d)) for d in (1, 2)]
    assert rolling_verdict(two, NOW, builtin).level == "unknown"
    lenient = builtin.model_copy(update={"min_tests": 2})
    assert rolling_verdict(two, NOW, lenient).level == "minimum"


def test_backoff_doubles_with_jitter_and_caps() -> None:
    assert 480 <= backoff_s(0) <= 720
    assert 960 <= backoff_s(1) <= 1440
    assert backoff_s(50) <= 4 * 3600 * 1.2


def settings(tmp_path: Path, target: str | None, budget_mb: int = 0) -> AgentSettings:
    return AgentSettings.model_validate(
        {
            "school": {"uai": "0751234J", "classes": 3},
            "measurement": {
                "http_target": target,
                "monthly_budget_mb": budget_mb,
                "max_duration_s": 2,
            },
            "paths": {"state_dir": str(tmp_path)},
        }
    )


async def test_lesson_hours_postpone_a_saturating_test(tmp_path: Path) -> None:
    monday_morning = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    report = await measure_bandwidth(settings(tmp_path, "http://127.0.0.1:9/"), now=monday_morning)
    assert report.result.cut_short == "lesson_hours"
    assert report.result.postponed_until is not None and report.verdict.level == "unknown"


async def test_budget_refuses_before_any_packet(tmp_path: Path) -> None:
    DataBudget(tmp_path, 50 * MB).record(48 * MB, NOW)
    report = await measure_bandwidth(
        settings(tmp_path, "http://127.0.0.1:9/", budget_mb=50), now=NOW
    )
    assert report.result.cut_short == "budget" and "data budget" in (report.result.reason or "")
    assert report.result.postponed_until is not None
    assert report.result.postponed_until.astimezone(UTC) >= datetime(2026, 11, 30, 23, tzinfo=UTC)


async def test_budget_refuses_speedtest_whose_worst_case_is_too_big(tmp_path: Path) -> None:
    report = await measure_bandwidth(
        settings(tmp_path, None, budget_mb=1000),
        backend="speedtest",
        target="http://127.0.0.1:9/mini/",
        now=NOW,
        speedtest_config_url="http://127.0.0.1:9/speedtest-config.php",
    )
    assert report.result.cut_short == "budget" and "may use up to" in (report.result.reason or "")


async def test_no_target_is_a_clear_error(tmp_path: Path) -> None:
    report = await measure_bandwidth(settings(tmp_path, None), now=NOW)
    assert report.result.cut_short == "error" and "no target" in (report.result.reason or "")


async def test_full_run_records_budget_and_judges(tmp_path: Path) -> None:
    with librespeed_target() as url:
        report = await measure_bandwidth(
            settings(tmp_path, url, budget_mb=2000),
            now=NOW,
            gentle=Gentleness(baseline_ms=5.0, busy_interval_s=0.5),
        )
    assert report.result.ok, report.result.reason
    assert report.verdict.level == "desirable"  # loopback is fast
    assert report.busy is not None and "quiet" in report.busy
    assert report.budget_used_bytes == report.result.bytes_used > 0
    # The budget capped each direction at ≤ 45 % of what was left.
    assert report.result.download is not None and report.result.download.bytes_used <= 901 * MB
    text = format_report(report)
    assert "verdict: desirable" in text and "data budget" in text


async def test_cli_entry_point_with_progress(tmp_path: Path) -> None:
    lines: list[str] = []
    with librespeed_target() as url:
        report = await run_throughput_command(
            settings(tmp_path, None),
            target=url,
            progress=lambda p: lines.append(format_progress(p)),
        )
    assert report.result.ok and any("Mbit/s" in line for line in lines)
    assert lines[-1].startswith("done in")
    assert format_progress(Progress("up", 1.0, 8.0, 1_000_000, 2)).startswith("↑ upload")
