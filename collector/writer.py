"""Stores a batch of verified snapshots idempotently, within the caller's transaction.

`collector.group_commit` decides what goes in a batch and when it commits; this
module only says what a batch writes. The nonce and the snapshot go in the same
transaction, so a replay is refused by the database, whichever collector
instance saw the first copy.

Idempotency: (agent_id, seq) is unique. A resend with the same content gets the
stored id back; a different body under a used number is a conflict (409), never
a silent loss.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    Dialect,
    Integer,
    Table,
    case,
    column,
    delete,
    func,
    literal_column,
    select,
    table,
    tuple_,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ClauseElement

from collector.bulk import Build, BulkStatement, Source, execute_together, insert_rows
from collector.db import agents, nonces, school_summary, snapshots, upsert_for
from collector.derive import Derived
from collector.derived_write import device_writes, write_derived

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

    A handful of statements per batch rather than per item: inserts with ON CONFLICT
    DO NOTHING RETURNING tell which nonces and snapshots were new (PostgreSQL: one
    statement for both; SQLite: SQLAlchemy's "insertmanyvalues", one each).
    """
    if not items:
        return []
    postgres = conn.dialect.name == "postgresql"
    if postgres:  # the snapshots and the schools' device lists too, in the same statement
        fresh_nonces, new_ids, known = _insert_nonces_and_snapshots(conn, items)
    else:
        fresh_nonces = _insert_nonces(conn, items)
        known = _known_schools(conn, items)
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
    if not postgres:
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
    touched = [item for item, r in zip(items, results, strict=True) if r and r.outcome != "replay"]
    derived = [
        (item.derived, r.snapshot_id)
        for item, r in zip(items, results, strict=True)
        if r is not None
        and r.outcome == "stored"
        and item.derived is not None
        and r.snapshot_id is not None
    ]
    write_derived(
        conn,
        derived,
        also=[(_TOUCH_AGENTS, _touch_rows(touched))],
        devices_written=device_writes(derived, known),
    )
    return [result for result in results if result is not None]


def _insert_new(table: Table, conflict: list[str], returning: list[str]) -> Build:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: tells which rows were new."""

    def build(dialect: Dialect, source: Source) -> ClauseElement:
        stmt: ClauseElement = (
            insert_rows(dialect, table, source)
            .on_conflict_do_nothing(index_elements=conflict)
            .returning(*(table.c[name] for name in returning))
        )
        return stmt

    return build


def _new_rows(conn: Connection, bulk: BulkStatement, rows: list[dict[str, Any]]) -> Iterable[Any]:
    """PostgreSQL: one unnest statement for the batch, whatever its size. SQLite: its
    executemany returns no rows, so SQLAlchemy's insertmanyvalues (one multi-row
    VALUES statement per batch size) with the same ON CONFLICT and RETURNING."""
    if conn.dialect.name == "postgresql":
        return bulk.execute_returning(conn, rows)
    statement: Any = bulk.statement(conn.dialect)  # an Insert, typed by `Build` as a clause
    result: Iterable[Any] = conn.execute(statement, rows)
    return result


_NONCE_COLUMNS = ("agent_id", "nonce", "expires_at")
_INSERT_NONCES = BulkStatement(
    {name: nonces.c[name].type for name in _NONCE_COLUMNS},
    _insert_new(nonces, ["agent_id", "nonce"], ["agent_id", "nonce"]),
)
_SNAPSHOT_COLUMNS = (
    "agent_id",
    "seq",
    "uai",
    "schema_version",
    "created_at",
    "received_at",
    "body_sha256",
    "body",
)
_INSERT_SNAPSHOTS = BulkStatement(
    {name: snapshots.c[name].type for name in _SNAPSHOT_COLUMNS},
    _insert_new(snapshots, ["agent_id", "seq"], ["id", "agent_id", "seq"]),
)


def _snapshot_row(item: IngestItem) -> dict[str, Any]:
    return {
        "agent_id": item.agent_id,
        "seq": item.seq,
        "uai": item.uai,
        "schema_version": item.schema_version,
        "created_at": item.created_at,
        "received_at": item.received_at,
        "body_sha256": item.body_sha256,
        "body": item.body,
    }


def _insert_nonces(conn: Connection, items: Sequence[IngestItem]) -> set[tuple[str, str]]:
    rows = [
        {"agent_id": i.agent_id, "nonce": i.nonce, "expires_at": i.nonce_expires_at} for i in items
    ]
    return {(agent_id, nonce) for agent_id, nonce in _new_rows(conn, _INSERT_NONCES, rows)}


def _insert_snapshots(conn: Connection, items: Sequence[IngestItem]) -> dict[tuple[str, int], int]:
    if not items:
        return {}
    new = _new_rows(conn, _INSERT_SNAPSHOTS, [_snapshot_row(i) for i in items])
    return {(agent_id, int(seq)): int(id_) for id_, agent_id, seq in new}


# PostgreSQL: nonces and snapshots in one statement (a round trip fewer per batch).
# The snapshots stored are those whose nonce the same statement found fresh (a
# nonce's first use in the batch only), the first such per (agent, seq) in batch
# order (`ord`): what the two-step path stores.
_FRESH = table("fresh", column("agent_id"), column("nonce"))
_STORED = table("stored", column("id"), column("agent_id"), column("seq"))
_NONCES_AND_SNAPSHOTS_FINAL = (
    "SELECT agent_id, nonce, NULL::bigint, NULL::bigint, NULL::timestamptz FROM fresh"
    " UNION ALL SELECT agent_id, NULL, seq, id, NULL FROM stored"
    " UNION ALL SELECT uai, devices_digest, NULL, NULL, snapshot_at FROM known"
)
Known = dict[str, tuple[str | None, datetime]]  # UAI → (devices_digest, snapshot_at)


def _lock_known_schools(_dialect: Dialect, source: Source) -> ClauseElement:
    """The batch's schools' summaries, locked in one order (UAI) for the transaction:
    a concurrent batch of the same school waits here, before anything is decided."""
    ss = school_summary
    stmt: ClauseElement = (
        select(ss.c.uai, ss.c.devices_digest, ss.c.snapshot_at)
        .where(ss.c.uai == source["uai"])
        .order_by(ss.c.uai)
        .with_for_update(of=ss)
    )
    return stmt


_KNOWN_SCHOOLS = BulkStatement({"uai": school_summary.c.uai.type}, _lock_known_schools, "known")


def _school_rows(items: Sequence[IngestItem]) -> list[dict[str, Any]]:
    return [{"uai": uai} for uai in sorted({item.uai for item in items})]


def _known_schools(conn: Connection, items: Sequence[IngestItem]) -> Known:
    """SQLite: the same, read in the writer's transaction (SQLite has one writer)."""
    ss = school_summary
    rows = conn.execute(
        select(ss.c.uai, ss.c.devices_digest, ss.c.snapshot_at).where(
            ss.c.uai.in_([row["uai"] for row in _school_rows(items)])
        )
    )
    return {r.uai: (r.devices_digest, r.snapshot_at) for r in rows}


def _insert_fresh_snapshots(dialect: Dialect, source: Source) -> ClauseElement:
    first = func.row_number().over(
        partition_by=[source["agent_id"], source["seq"]], order_by=source["ord"]
    )
    candidates = (
        select(*(source[c] for c in _SNAPSHOT_COLUMNS), first.label("rank"))
        .where(source["agent_id"] == _FRESH.c.agent_id, source["nonce"] == _FRESH.c.nonce)
        .subquery("candidates")
    )
    chosen = select(*(candidates.c[c] for c in _SNAPSHOT_COLUMNS)).where(
        candidates.c.rank == literal_column("1")
    )
    stmt: ClauseElement = (
        upsert_for(dialect, snapshots)
        .from_select(list(_SNAPSHOT_COLUMNS), chosen)
        .on_conflict_do_nothing(index_elements=["agent_id", "seq"])
        .returning(snapshots.c.id, snapshots.c.agent_id, snapshots.c.seq)
    )
    return stmt


_FRESH_NONCES = BulkStatement(
    {name: nonces.c[name].type for name in _NONCE_COLUMNS},
    _insert_new(nonces, ["agent_id", "nonce"], ["agent_id", "nonce"]),
    name=_FRESH.name,
)
_FRESH_SNAPSHOTS = BulkStatement(
    {
        **{name: snapshots.c[name].type for name in _SNAPSHOT_COLUMNS},
        "nonce": nonces.c.nonce.type,
        "ord": Integer(),
    },
    _insert_fresh_snapshots,
    name=_STORED.name,
)


def _insert_nonces_and_snapshots(
    conn: Connection, items: Sequence[IngestItem]
) -> tuple[set[tuple[str, str]], dict[tuple[str, int], int], Known]:
    """(fresh nonces, new snapshot ids by (agent, seq), the schools' device lists)
    in one round trip."""
    nonce_rows = [
        {"agent_id": i.agent_id, "nonce": i.nonce, "expires_at": i.nonce_expires_at} for i in items
    ]
    snapshot_rows = []
    nonces_seen: set[tuple[str, str]] = set()
    for index, item in enumerate(items):
        if (item.agent_id, item.nonce) in nonces_seen:
            continue  # a nonce used earlier in the batch: a replay, fresh or not
        nonces_seen.add((item.agent_id, item.nonce))
        snapshot_rows.append({**_snapshot_row(item), "nonce": item.nonce, "ord": index})
    rows = execute_together(
        conn,
        [
            (_FRESH_NONCES, nonce_rows),
            (_FRESH_SNAPSHOTS, snapshot_rows),
            (_KNOWN_SCHOOLS, _school_rows(items)),
        ],
        final=_NONCES_AND_SNAPSHOTS_FINAL,
    )
    fresh: set[tuple[str, str]] = set()
    new_ids: dict[tuple[str, int], int] = {}
    known: Known = {}
    for name, text_, seq, id_, at in rows:
        if at is not None:
            known[name] = (text_, at)
        elif seq is not None:
            new_ids[(name, int(seq))] = int(id_)
        else:
            fresh.add((name, text_))
    return fresh, new_ids, known


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


def _touch_agents_statement(_dialect: Dialect, row: Source) -> ClauseElement:
    stmt: ClauseElement = (
        update(agents)
        .where(agents.c.agent_id == row["aid"])
        .values(
            last_seen_at=row["seen"],
            clock_skew_s=row["skew"],
            last_seq=case(
                (
                    (agents.c.last_seq.is_(None)) | (agents.c.last_seq < row["max_seq"]),
                    row["max_seq"],
                ),
                else_=agents.c.last_seq,
            ),
        )
    )
    return stmt


_TOUCH_AGENTS = BulkStatement(
    {
        "aid": agents.c.agent_id.type,
        "seen": agents.c.last_seen_at.type,
        "skew": agents.c.clock_skew_s.type,
        "max_seq": agents.c.last_seq.type,
    },
    _touch_agents_statement,
)


def _touch_rows(items: Sequence[IngestItem]) -> list[dict[str, Any]]:
    """last_seen, clock skew and highest seq, one row per agent (written with the
    derived rows, in the same round trip on PostgreSQL); sorted, so concurrent
    batches lock agents in the same order."""
    latest: dict[str, dict[str, Any]] = {}
    for item in items:
        row = latest.setdefault(item.agent_id, {"aid": item.agent_id, "max_seq": item.seq})
        row.update(seen=item.received_at, skew=item.skew_s, max_seq=max(row["max_seq"], item.seq))
    return [latest[agent_id] for agent_id in sorted(latest)]


class NoncePurge:
    """Deletes expired nonces now and then, inside a write transaction that is open anyway."""

    def __init__(self, every_s: float = NONCE_PURGE_EVERY_S) -> None:
        self.every_s = every_s
        self._last = 0.0

    def __call__(self, conn: Connection) -> None:
        now = time.time()
        if now - self._last >= self.every_s:
            conn.execute(delete(nonces).where(nonces.c.expires_at < now))
            self._last = now
