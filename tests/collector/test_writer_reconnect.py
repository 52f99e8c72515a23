"""The PostgreSQL writer survives its pooled connections being killed while idle.

The pool no longer pings on every checkout (a round trip per batch); a connection
idle for `IDLE_PING_S` is checked first and replaced if dead. Here the server kills
every connection of the writer (as a restart or an idle timeout would), and the
next snapshot must still be stored; with the check disabled the same sequence
fails, which shows the check is what saves it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from collector import group_commit
from collector.db import make_engine
from collector.group_commit import SnapshotWriter
from collector.migrate import upgrade
from collector.store import Store
from tests.collector.fill import ingest_item
from tests.collector.live import new_key, uai
from tests.collector.postgres import Cluster
from tests.collector.samples import sample_content

pytestmark = pytest.mark.postgres
SCHOOL = uai(790001)


@pytest.fixture
def engine(postgres_cluster: Cluster) -> Iterator[Engine]:
    engine = make_engine(postgres_cluster.database())
    upgrade(engine)
    yield engine
    engine.dispose()


def _kill_other_connections(engine: Engine) -> int:
    with engine.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    return int(killed)


def _store_kill_store(engine: Engine) -> str:
    """Outcome of the second snapshot, or the error it met."""
    key = new_key()
    Store(engine).add_agent(SCHOOL, key.public_key_text)
    content = sample_content(3)
    now = datetime.now(UTC)

    async def run() -> str:
        writer = SnapshotWriter(engine)
        writer.start()
        try:
            first = await writer.submit(ingest_item(key, SCHOOL, 1, content, created_at=now))
            assert first.outcome == "stored"
            assert _kill_other_connections(engine) >= 1
            await asyncio.sleep(0.3)
            later = now + timedelta(minutes=1)
            try:
                second = await writer.submit(ingest_item(key, SCHOOL, 2, content, created_at=later))
            except Exception as exc:  # what the agent would get as a 503
                return type(exc).__name__
            return second.outcome
        finally:
            await writer.stop()

    return asyncio.run(run())


def test_a_killed_idle_connection_is_replaced(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_commit, "IDLE_PING_S", 0.2)
    assert _store_kill_store(engine) == "stored"


def test_without_the_check_the_batch_fails(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(group_commit, "IDLE_PING_S", 3600.0)
    started = time.monotonic()
    assert _store_kill_store(engine) != "stored"
    assert time.monotonic() - started < 30
