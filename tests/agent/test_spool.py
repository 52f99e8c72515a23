"""The durable outbox: order, acknowledgement, dead letters, bounds, sequence numbers."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from agent.snapshot import decode
from agent.spool import LinkStatus, Spool, spool_retry
from tests.collector.live import new_key, uai
from tests.collector.samples import sample_content

KEY = new_key()
SCHOOL = uai(750001)


def _put(spool: Spool, payload: bytes = b"x" * 100, now: float | None = None) -> int:
    return spool.enqueue(lambda seq, stats: payload, now=now)


def test_sqlite_is_wal_with_full_sync(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    assert spool._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert spool._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_items_come_back_in_order_and_leave_only_when_acked(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    seqs = [_put(spool, bytes([i])) for i in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert [item.seq for item in spool.pending()] == seqs
    spool.ack(seqs[0])
    assert [item.seq for item in spool.pending()] == seqs[1:]
    assert spool.stats().depth == 4


def test_sequence_numbers_survive_reopening_and_are_never_reused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Spool(path) as spool:
        first = [_put(spool) for _ in range(3)]
        for seq in first:
            spool.ack(seq)
    with Spool(path) as spool:
        assert _put(spool) == first[-1] + 1


def test_a_failed_build_allocates_nothing(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    before = spool.stats().next_seq

    def boom(seq: int, stats: object) -> bytes:
        raise RuntimeError("model failed")

    with pytest.raises(RuntimeError):
        spool.enqueue(boom)
    assert spool.stats().next_seq == before and spool.stats().depth == 0


def test_a_fresh_spool_starts_above_any_earlier_counter(tmp_path: Path) -> None:
    """Wiping the spool but keeping the key must not make new snapshots look like old ones."""
    spool = Spool(tmp_path / "s.db")
    assert spool.stats().next_seq > 1_600_000_000


def test_snapshot_health_carries_the_spool_counters(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    _put(spool)
    seq = spool.enqueue_snapshot(sample_content(2), agent_id=KEY.agent_id, uai=SCHOOL)
    snapshot = decode(spool.pending()[-1].body)
    assert snapshot.seq == seq and snapshot.health.spool_depth == 1


def test_dead_letters_are_kept_and_can_be_retried_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db")
    seqs = [_put(spool) for _ in range(3)]
    spool.dead_letter(seqs[0], 422, "HTTP 422 invalid_snapshot")
    spool.dead_letter(seqs[2], 413, "HTTP 413 too_large")
    assert [d.seq for d in spool.dead_letters()] == [seqs[0], seqs[2]]
    assert spool.dead_letter_reason(seqs[0]) == (422, "HTTP 422 invalid_snapshot")
    assert [i.seq for i in spool.pending()] == [seqs[1]]
    spool.close()
    assert spool_retry(tmp_path) == 0  # another file: the state dir's default spool
    with Spool(tmp_path / "s.db") as again:
        assert again.retry_dead_letters() == 2
        assert [i.seq for i in again.pending()] == seqs
        assert again.stats().dead_letters == 0


def test_size_bound_drops_the_oldest_and_counts_them(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_bytes=1000)
    seqs = [_put(spool, b"x" * 300) for _ in range(5)]
    remaining = [i.seq for i in spool.pending()]
    assert remaining == seqs[-3:]
    assert spool.stats().dropped_total == 2
    seq = spool.enqueue_snapshot(sample_content(1), agent_id=KEY.agent_id, uai=SCHOOL)
    snapshot = decode(next(i.body for i in spool.pending() if i.seq == seq))
    assert snapshot.health.dropped_snapshots >= 2


def test_age_bound_drops_old_items(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.db", max_age_s=100)
    old = _put(spool, now=1000.0)
    _put(spool, now=1050.0)
    new = _put(spool, now=1200.0)
    assert [i.seq for i in spool.pending()] == [new]
    assert spool.stats().dropped_total == 2
    assert old not in [i.seq for i in spool.pending()]


def test_link_status_persists(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Spool(path) as spool:
        spool.set_link_status(
            LinkStatus(
                last_error="HTTP 401 clock_skew", clock_skew_s=-812.0, consecutive_failures=3
            )
        )
    with Spool(path) as spool:
        status = spool.link_status()
    assert status.clock_skew_s == -812.0 and status.consecutive_failures == 3
    assert status.last_success_at is None


def test_two_processes_can_share_the_spool(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    a, b = Spool(path), Spool(path)
    seqs = [_put(a), _put(b), _put(a)]
    assert len(set(seqs)) == 3
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM queue").fetchone()[0] == 3
