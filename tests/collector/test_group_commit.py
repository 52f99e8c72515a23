"""Group commit: concurrent snapshots share transactions, and a 2xx always means stored."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.dialects import sqlite

from agent.keys import AgentKey
from agent.snapshot import encode
from collector import derived_write, writer
from collector.bulk import sqlite_datetime
from collector.db import UtcDateTime, devices, school_summary, snapshots
from collector.group_commit import SnapshotWriter
from collector.pg_arrays import encode_timestamptz
from tests.collector.fill import snapshot_of
from tests.collector.live import LiveCollector, new_key, uai
from tests.collector.samples import hand_signed, sample_content

AGENTS = 12
PER_AGENT = 5


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Iterator[LiveCollector]:
    server = LiveCollector(tmp_path, database_url=db_url).start()
    yield server
    server.close()


def _writer(live: LiveCollector) -> SnapshotWriter:
    assert live._server is not None
    access_log: Any = live._server.config.app
    shortcut = access_log.app  # AccessLog → SnapshotShortcut → FastAPI
    found = shortcut.api.state.ingest.writer
    assert isinstance(found, SnapshotWriter)
    return found


def _requests(live: LiveCollector, keys: list[AgentKey], seqs: range) -> list[httpx.Request]:
    content = sample_content(6)
    return [
        hand_signed(
            live.url + "/v1/snapshots",
            encode(snapshot_of(key, uai(770000 + i), seq, content)),
            key,
        )
        for seq in seqs
        for i, key in enumerate(keys)
    ]


def _send_all(requests: list[httpx.Request]) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=len(requests))
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            return list(await asyncio.gather(*(client.send(r) for r in requests)))

    return asyncio.run(run())


def _count(live: LiveCollector, table: Any) -> int:
    with live.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _enrolled(live: LiveCollector) -> list[AgentKey]:
    keys = [new_key() for _ in range(AGENTS)]
    for i, key in enumerate(keys):
        live.enrol(key, uai(770000 + i))
    return keys


def test_concurrent_posts_are_all_acknowledged_and_stored_once(live: LiveCollector) -> None:
    keys = _enrolled(live)
    for seq in range(1, PER_AGENT + 1):  # each agent sends in order, all agents at once
        responses = _send_all(_requests(live, keys, range(seq, seq + 1)))
        assert [r.status_code for r in responses] == [201] * AGENTS
    assert _count(live, snapshots) == AGENTS * PER_AGENT
    assert _count(live, school_summary) == AGENTS
    assert _count(live, devices) == AGENTS * 6
    for key in keys:
        assert [seq for _, seq, _ in live.stored(key.agent_id)] == list(range(1, PER_AGENT + 1))
    group = _writer(live)
    assert group.items == AGENTS * PER_AGENT
    assert group.batches < group.items  # requests arriving together shared a transaction


def test_a_failed_batch_acknowledges_nothing_it_did_not_store(
    live: LiveCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = _enrolled(live)
    original = derived_write.write_derived
    failures: list[int] = []

    def fail_once(conn: Any, items: Any, also: Any = (), devices_written: Any = None) -> None:
        # rows written, then the transaction breaks before its commit
        original(conn, items, also, devices_written)
        if not failures:
            failures.append(len(items))
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(writer, "write_derived", fail_once)
    requests = _requests(live, keys, range(1, 2))
    responses = _send_all(requests)
    statuses = [r.status_code for r in responses]
    assert failures and set(statuses) <= {201, 500} and 500 in statuses
    stored = {(key.agent_id, seq) for key in keys for _, seq, _ in live.stored(key.agent_id)}
    acknowledged = {(k.agent_id, 1) for k, s in zip(keys, statuses, strict=True) if s == 201}
    assert stored == acknowledged  # nothing of the failed batch was kept
    assert _count(live, school_summary) == len(acknowledged)

    again = _send_all([r for r, s in zip(requests, statuses, strict=True) if s == 500])
    assert {r.status_code for r in again} == {201}  # same signed request: its nonce was not kept
    assert _count(live, snapshots) == AGENTS
    assert _count(live, school_summary) == AGENTS


@pytest.mark.parametrize(
    "value",
    [
        datetime(2025, 3, 30, 1, 59, 59, 999999, tzinfo=UTC),
        datetime(2025, 3, 30, 3, 0, tzinfo=timezone(timedelta(hours=2))),  # no microseconds
        datetime(1999, 12, 31, 23, 0, 0, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),  # day and year back
        TypeAdapter(datetime).validate_json('"2026-12-04T14:00:00.5+01:00"'),  # pydantic's tz
        TypeAdapter(datetime).validate_json('"2026-12-04T14:00:00Z"'),
        None,
    ],
)
def test_bulk_sqlite_datetimes_match_sqlalchemy_text(value: datetime | None) -> None:
    """Stored datetimes are compared as text on SQLite: the fast path must write the same."""
    processor = UtcDateTime()._cached_bind_processor(sqlite.dialect())
    assert processor is not None
    assert sqlite_datetime(value) == processor(value)


def test_bulk_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        sqlite_datetime(datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="naive"):  # PostgreSQL's timestamptz[] column
        encode_timestamptz([datetime(2025, 1, 1, tzinfo=UTC), None, datetime(2025, 1, 1)])
