"""Stores verified snapshots idempotently, many per transaction (group commit).

Durability costs one fsync per commit. Requests arriving together (50 agents at
once) share one transaction, written by one thread per process; each request
gets its answer only after that commit. The nonce and the snapshot go in the
same transaction, so a replay is refused by the database, whichever collector
instance saw the first copy.

Idempotency: (agent_id, seq) is unique. A resend with the same content gets the
stored id back; a different body under a used number is a conflict (409), never
a silent loss.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, Insert, Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from collector.db import agents, nonces, snapshots

log = logging.getLogger(__name__)

MAX_BATCH = 128  # requests per transaction: bounds the latency a batch adds
NONCE_PURGE_EVERY_S = 60.0

Outcome = Literal["stored", "duplicate", "conflict", "replay"]


@dataclass(frozen=True)
class IngestItem:
    agent_id: str
    seq: int
    uai: str
    schema_version: int
    created_at: datetime
    received_at: datetime
    body: str
    body_sha256: str
    nonce: str
    nonce_expires_at: float
    skew_s: float


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    snapshot_id: int | None = None


def _insert(conn: Connection, table: Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for the backend at hand."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def write_batch(conn: Connection, items: Sequence[IngestItem]) -> list[IngestResult]:
    """Write within the caller's transaction; one result per item, in order."""
    results: list[IngestResult] = []
    last: dict[str, IngestItem] = {}
    for item in items:
        nonce_stmt: Insert = (
            _insert(conn, nonces)
            .values(agent_id=item.agent_id, nonce=item.nonce, expires_at=item.nonce_expires_at)
            .on_conflict_do_nothing()
        )
        if conn.execute(nonce_stmt).rowcount != 1:
            results.append(IngestResult("replay"))
            continue
        stmt = (
            _insert(conn, snapshots)
            .values(
                agent_id=item.agent_id,
                seq=item.seq,
                uai=item.uai,
                schema_version=item.schema_version,
                created_at=item.created_at,
                received_at=item.received_at,
                body_sha256=item.body_sha256,
                body=item.body,
            )
            .on_conflict_do_nothing(index_elements=["agent_id", "seq"])
            .returning(snapshots.c.id)
        )
        new_id = conn.execute(stmt).scalar()
        if new_id is not None:
            results.append(IngestResult("stored", int(new_id)))
        else:
            existing = conn.execute(
                select(snapshots.c.id, snapshots.c.body_sha256).where(
                    snapshots.c.agent_id == item.agent_id, snapshots.c.seq == item.seq
                )
            ).one()
            same = existing.body_sha256 == item.body_sha256
            results.append(IngestResult("duplicate" if same else "conflict", int(existing.id)))
        last[item.agent_id] = item
    for item in last.values():
        conn.execute(
            update(agents)
            .where(agents.c.agent_id == item.agent_id)
            .values(last_seen_at=item.received_at, clock_skew_s=item.skew_s)
        )
        conn.execute(
            update(agents)
            .where(
                agents.c.agent_id == item.agent_id,
                (agents.c.last_seq.is_(None)) | (agents.c.last_seq < item.seq),
            )
            .values(last_seq=item.seq)
        )
    return results


_Job = tuple[IngestItem, asyncio.AbstractEventLoop, "asyncio.Future[IngestResult]"]


class SnapshotWriter:
    """One writer thread per process, fed by the event loop through a queue."""

    def __init__(self, engine: Engine, *, max_batch: int = MAX_BATCH) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._last_purge = 0.0
        self.batches = 0
        self.items = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="snapshot-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    async def submit(self, item: IngestItem) -> IngestResult:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IngestResult] = loop.create_future()
        self._jobs.put((item, loop, future))
        return await future

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < self.max_batch:
                try:
                    nxt = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._jobs.put(None)  # finish this batch, then stop
                    break
                batch.append(nxt)
            self._write(batch)

    def _write(self, batch: list[_Job]) -> None:
        try:
            with self.engine.begin() as conn:
                results = write_batch(conn, [item for item, _, _ in batch])
                self._maybe_purge(conn)
        except Exception as exc:  # the database, not the input: every waiter gets it
            log.exception("snapshot batch of %d failed", len(batch))
            for _, loop, future in batch:
                loop.call_soon_threadsafe(_set_exception, future, exc)
            return
        self.batches += 1
        self.items += len(batch)
        for (_, loop, future), result in zip(batch, results, strict=True):
            loop.call_soon_threadsafe(_set_result, future, result)

    def _maybe_purge(self, conn: Connection) -> None:
        now = time.time()
        if now - self._last_purge >= NONCE_PURGE_EVERY_S:
            conn.execute(delete(nonces).where(nonces.c.expires_at < now))
            self._last_purge = now


def _set_result(future: asyncio.Future[IngestResult], result: IngestResult) -> None:
    if not future.done():
        future.set_result(result)


def _set_exception(future: asyncio.Future[IngestResult], exc: Exception) -> None:
    if not future.done():
        future.set_exception(exc)
