"""Upload policy: what each answer means, backoff, clock skew, enrolment, send-now."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import httpx
import pytest

from agent.config import AgentSettings, parse_settings
from agent.keys import load_key
from agent.spool import Spool
from agent.upload import (
    Backoff,
    DeliveryError,
    Uploader,
    classify,
    enroll_async,
    parse_retry_after,
    send_snapshot_now_async,
)
from tests.collector.live import LiveCollector, collector, new_key, uai
from tests.collector.samples import sample_content

SCHOOL = uai(750001)
__all__ = ["collector"]  # fixture


def _response(
    status: int, json: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=json, headers=headers)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (201, {"id": 1}, "stored"),
        (200, {"id": 1, "status": "duplicate"}, "stored"),
        (500, None, "retry"),
        (503, None, "retry"),
        (408, None, "retry"),
        (429, None, "retry"),
        (401, {"error": "clock_skew", "skew_s": 900.0}, "retry"),
        (401, {"error": "unknown_key"}, "retry"),
        (400, {"error": "digest_mismatch"}, "dead_letter"),
        (409, {"error": "seq_conflict"}, "dead_letter"),
        (413, {"error": "too_large"}, "dead_letter"),
        (422, {"error": "invalid_snapshot", "detail": "seq: bad"}, "dead_letter"),
    ],
)
def test_classify(status: int, body: object, kind: str) -> None:
    assert classify(_response(status, body), time.time()).kind == kind


def test_clock_skew_answer_carries_the_difference() -> None:
    result = classify(_response(401, {"error": "clock_skew", "skew_s": -912.5}), time.time())
    assert result.skew_s == -912.5
    assert classify(_response(401, {"error": "unknown_key", "skew_s": 5}), 0).skew_s is None


def test_retry_after_seconds_and_date() -> None:
    now = time.time()
    assert parse_retry_after("120", now) == 120
    date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 60))
    assert 55 <= (parse_retry_after(date, now) or 0) <= 61
    assert parse_retry_after("soon", now) is None
    result = classify(_response(429, headers={"Retry-After": "30"}), now)
    assert result.retry_after_s == 30


def test_backoff_is_full_jitter_and_capped() -> None:
    backoff = Backoff(base_s=1, cap_s=3600)
    rng = random.Random(1)
    for failures in range(1, 40):
        ceiling = min(3600, 2 ** (failures - 1))
        delays = [backoff.delay(failures, rng) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in delays)
    late = [backoff.delay(30, rng) for _ in range(500)]
    assert max(late) <= 3600 and min(late) < 600  # jitter spreads a fleet over the window


def _settings(tmp_path: Path, url: str | None) -> AgentSettings:
    return parse_settings(
        {
            "school": {"uai": SCHOOL, "classes": 4},
            "collector": {"url": url, "timeout_s": 5},
            "paths": {"state_dir": str(tmp_path / "state")},
        }
    )


async def test_enroll_then_send_now(collector: LiveCollector, tmp_path: Path) -> None:
    settings = _settings(tmp_path, collector.url)
    token = collector.store.create_token(SCHOOL, __import__("datetime").timedelta(days=1))
    result = await enroll_async(settings, token)
    assert result.uai == SCHOOL and result.agent_id == load_key(settings.paths.state_dir).agent_id
    with pytest.raises(DeliveryError, match="enrolment refused"):
        await enroll_async(settings, token)  # one-time
    outcome = await send_snapshot_now_async(settings, sample_content(5))
    assert outcome.stored, outcome.reason
    assert [seq for _, seq, _ in collector.stored(result.agent_id)] == [outcome.seq]


async def test_enroll_is_refused_for_another_school(
    collector: LiveCollector, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, collector.url)
    token = collector.store.create_token(uai(750002), __import__("datetime").timedelta(days=1))
    with pytest.raises(DeliveryError, match="401"):
        await enroll_async(settings, token)
    assert collector.store.list_agents() == []


async def test_send_now_reports_an_unreachable_collector(tmp_path: Path) -> None:
    from tests.collector.live import free_port

    settings = _settings(tmp_path, f"http://127.0.0.1:{free_port()}")
    key_dir = settings.paths.state_dir
    from agent.keys import create_key

    create_key(key_dir)
    outcome = await send_snapshot_now_async(settings, sample_content(1))
    assert not outcome.stored and "kept in the spool" in outcome.reason
    with Spool.in_state_dir(key_dir) as spool:
        assert [i.seq for i in spool.pending()] == [outcome.seq]
    with pytest.raises(DeliveryError, match="no collector URL"):
        await send_snapshot_now_async(_settings(tmp_path, None), sample_content(1))


async def test_a_refused_snapshot_is_dead_lettered_and_the_queue_moves_on(
    collector: LiveCollector, tmp_path: Path
) -> None:
    key = new_key()
    collector.enrol(key, SCHOOL)
    spool = Spool(tmp_path / "spool.db")
    good1 = spool.enqueue_snapshot(sample_content(1), agent_id=key.agent_id, uai=SCHOOL)
    bad = spool.enqueue(lambda seq, stats: b"\x1f\x8b not gzip")
    good2 = spool.enqueue_snapshot(sample_content(1), agent_id=key.agent_id, uai=SCHOOL)
    async with Uploader(spool, key, collector.url) as uploader:
        report = await uploader.drain()
    assert (report.stored, report.dead_lettered, report.failure) == (2, 1, None)
    assert [d.seq for d in spool.dead_letters()] == [bad]
    assert [seq for _, seq, _ in collector.stored(key.agent_id)] == [good1, good2]


async def test_a_pi_with_a_wrong_clock_still_delivers_and_reports_the_skew(
    collector: LiveCollector, tmp_path: Path
) -> None:
    key = new_key()
    collector.enrol(key, SCHOOL)
    spool = Spool(tmp_path / "spool.db")
    seqs = [
        spool.enqueue_snapshot(sample_content(1), agent_id=key.agent_id, uai=SCHOOL)
        for _ in range(3)
    ]
    wrong_clock = lambda: time.time() - 3 * 3600  # noqa: E731 - three hours late, no NTP
    async with Uploader(spool, key, collector.url, clock=wrong_clock) as uploader:
        first = await uploader.drain()
        assert first.failure is not None and first.failure.skew_s is not None
        assert first.delay_s == 0.0
        second = await uploader.drain()
    assert second.failure is None and second.stored == 3
    status = spool.link_status()
    assert status.clock_skew_s is not None and abs(status.clock_skew_s + 3 * 3600) < 10
    assert abs(status.clock_offset_s - 3 * 3600) < 10
    later = spool.enqueue_snapshot(sample_content(1), agent_id=key.agent_id, uai=SCHOOL)
    async with Uploader(spool, key, collector.url, clock=wrong_clock) as next_run:
        report = await next_run.drain()  # a new uploader remembers the correction
    assert report.failure is None and report.stored == 1
    seqs.append(later)
    assert [seq for _, seq, _ in collector.stored(key.agent_id)] == seqs


async def test_run_loop_stops_on_request(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db")
    stop = asyncio.Event()
    async with Uploader(spool, new_key(), "http://127.0.0.1:9") as uploader:
        task = asyncio.create_task(uploader.run(stop))
        await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 2)
