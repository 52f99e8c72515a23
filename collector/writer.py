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

from sqlalchemy import Engine, bindparam, case, delete, select, tuple_, update
from sqlalchemy.engine import Connection

from collector.db import agents, nonces, snapshots, upsert_statement
from collector.derive import Derived
from collector.derived_write import write_derived

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
    derived: Derived | None = None  # rows for the dashboard, written only if the snapshot is new


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    snapshot_id: int | None = None


def write_batch(conn: Connection, items: Sequence[IngestItem]) -> list[IngestResult]:
    """Write within the caller's transaction; one result per item, in order.

    A handful of statements per batch rather than per item: executemany inserts with
    ON CONFLICT DO NOTHING RETURNING (SQLAlchemy's "insertmanyvalues", compiled once
    and cached) tell which nonces and snapshots were new.
    """
    if not items:
        return []
    fresh_nonces = _insert_nonces(conn, items)
    seen_nonces: set[tuple[str, str]] = set()
    first_by_key: dict[tuple[str, int], IngestItem] = {}
    results: list[IngestResult | None] = [None] * len(items)
    to_store: list[IngestItem] = []
    for index, item in enumerate(items):
        nonce_key = (item.agent_id, item.nonce)
        if nonce_key not in fresh_nonces or nonce_key in seen_nonces:
            results[index] = IngestResult("replay")
            continue
        seen_nonces.add(nonce_key)
        if (item.agent_id, item.seq) not in first_by_key:
            first_by_key[(item.agent_id, item.seq)] = item
            to_store.append(item)
    new_ids = _insert_snapshots(conn, to_store)
    existing = _existing(conn, [key for key in first_by_key if key not in new_ids])
    for index, item in enumerate(items):
        if results[index] is not None:
            continue
        key = (item.agent_id, item.seq)
        first = first_by_key[key]
        if key in new_ids:
            same = first.body_sha256 == item.body_sha256
            outcome: Outcome = "stored" if first is item else ("duplicate" if same else "conflict")
            results[index] = IngestResult(outcome, new_ids[key])
        else:
            stored_id, stored_hash = existing[key]
            same = stored_hash == item.body_sha256
            results[index] = IngestResult("duplicate" if same else "conflict", stored_id)
    _touch_agents(
        conn, [item for item, r in zip(items, results, strict=True) if r and r.outcome != "replay"]
    )
    write_derived(
        conn,
        [
            (item.derived, r.snapshot_id)
            for item, r in zip(items, results, strict=True)
            if r is not None
            and r.outcome == "stored"
            and item.derived is not None
            and r.snapshot_id is not None
        ],
    )
    return [result for result in results if result is not None]


def _insert_nonces(conn: Connection, items: Sequence[IngestItem]) -> set[tuple[str, str]]:
    rows = [
        {"agent_id": i.agent_id, "nonce": i.nonce, "expires_at": i.nonce_expires_at} for i in items
    ]
    stmt = (
        upsert_statement(conn, nonces)
        .on_conflict_do_nothing()
        .returning(nonces.c.agent_id, nonces.c.nonce)
    )
    return {(r.agent_id, r.nonce) for r in conn.execute(stmt, rows)}


def _insert_snapshots(conn: Connection, items: Sequence[IngestItem]) -> dict[tuple[str, int], int]:
    if not items:
        return {}
    rows = [
        {
            "agent_id": i.agent_id,
            "seq": i.seq,
            "uai": i.uai,
            "schema_version": i.schema_version,
            "created_at": i.created_at,
            "received_at": i.received_at,
            "body_sha256": i.body_sha256,
            "body": i.body,
        }
        for i in items
    ]
    stmt = (
        upsert_statement(conn, snapshots)
        .on_conflict_do_nothing(index_elements=["agent_id", "seq"])
        .returning(snapshots.c.id, snapshots.c.agent_id, snapshots.c.seq)
    )
    return {(r.agent_id, int(r.seq)): int(r.id) for r in conn.execute(stmt, rows)}


def _existing(
    conn: Connection, keys: list[tuple[str, int]]
) -> dict[tuple[str, int], tuple[int, str]]:
    if not keys:
        return {}
    rows = conn.execute(
        select(
            snapshots.c.id, snapshots.c.agent_id, snapshots.c.seq, snapshots.c.body_sha256
        ).where(tuple_(snapshots.c.agent_id, snapshots.c.seq).in_(keys))
    )
    return {(r.agent_id, int(r.seq)): (int(r.id), str(r.body_sha256)) for r in rows}


def _touch_agents(conn: Connection, items: Sequence[IngestItem]) -> None:
    """last_seen, clock skew and highest seq: one executemany for the whole batch."""
    latest: dict[str, dict[str, Any]] = {}
    for item in items:
        row = latest.setdefault(item.agent_id, {"aid": item.agent_id, "max_seq": item.seq})
        row.update(seen=item.received_at, skew=item.skew_s, max_seq=max(row["max_seq"], item.seq))
    if not latest:
        return
    stmt = (
        update(agents)
        .where(agents.c.agent_id == bindparam("aid"))
        .values(
            last_seen_at=bindparam("seen"),
            clock_skew_s=bindparam("skew"),
            last_seq=case(
                (
                    (agents.c.last_seq.is_(None)) | (agents.c.last_seq < bindparam("max_seq")),
                    bindparam("max_seq"),
                ),
                else_=agents.c.last_seq,
            ),
        )
    )
    conn.execute(stmt, list(latest.values()))


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
