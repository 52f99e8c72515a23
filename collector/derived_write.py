"""Writes derived rows for a batch of newly stored snapshots, inside the writer's transaction.

"Latest" tables (devices, assessments, school summary) keep the state reported by
the most recent snapshot by the agent's clock, so a backlog drained out of order
never overwrites newer facts with older ones; a school's device rows are rewritten
only when its newest snapshot lists other devices (`device_writes`). A handful of statements per batch,
whatever its size: rows are merged per key in Python first (one INSERT may not
touch the same row twice on PostgreSQL) and sorted, so concurrent writers (several
uvicorn workers or instances) lock rows in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import Any, Literal

from sqlalchemy import (
    Dialect,
    Table,
    bindparam,
    case,
    column,
    delete,
    exists,
    select,
    table,
    tuple_,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ClauseElement

from collector.bulk import Build, BulkStatement, Part, Source, execute_together, insert_rows
from collector.db import (
    assessment_criteria,
    assessments,
    devices,
    measurements,
    school_summary,
    snapshots,
    upsert_for,
)
from collector.derive import Derived

_statements: dict[tuple[str, Build, tuple[str, ...]], BulkStatement] = {}


def _part(
    table: Table, build: Build, rows: list[dict[str, Any]], name: str | None = None
) -> Part | None:
    """`build`'s statement for `rows`' columns (compiled once per column set and
    dialect), with the rows; no rows, no statement. Columns the table lacks are
    typed as snapshot ids (rows carry theirs to be matched against `written`)."""
    if not rows:
        return None
    keys = tuple(rows[0])
    stmt = _statements.get((table.name, build, keys))
    if stmt is None:
        types = {k: table.c.get(k, snapshots.c.id).type for k in keys}
        stmt = _statements[(table.name, build, keys)] = BulkStatement(types, build, name)
    return stmt, rows


def _bulk(conn: Connection, table: Table, build: Build, rows: list[dict[str, Any]]) -> None:
    part = _part(table, build, rows)
    if part is not None:
        part[0].execute(conn, part[1])


def _latest(rows: list[dict[str, Any]], key: tuple[str, ...], when: str) -> list[dict[str, Any]]:
    """One row per key, the one with the greatest `when`; sorted by key."""
    key_of = itemgetter(*key)
    keys = list(map(key_of, rows))
    if len(set(keys)) == len(keys):  # the usual batch: one snapshot per school
        return sorted(rows, key=key_of)
    best: dict[Any, dict[str, Any]] = {}
    for k, row in zip(keys, rows, strict=True):
        kept = best.get(k)
        if kept is None or kept[when] <= row[when]:
            best[k] = row
    return [best[k] for k in sorted(best)]


DeviceWrite = Literal["list", "missing", "none"]


def device_writes(
    items: Sequence[tuple[Derived, int]], known: Mapping[str, tuple[str | None, datetime]]
) -> list[DeviceWrite]:
    """What each stored snapshot writes to the devices table, given what the schools'
    summaries held before the batch (`known`: UAI → (devices_digest, snapshot_at)).

    - "list": the school's newest snapshot, with another device list than the one
      stored: its rows are written (and the summary's `devices_at` moves to it);
    - "none": the newest, with the list already stored: nothing to write;
    - "missing": older than the school's newest (a backlog drained out of order, or
      two snapshots of a school in one batch): only devices never seen are added.

    PostgreSQL: the batch holds the summary rows of its schools locked from before
    `known` was read until it commits, so no other batch can make it stale.
    """
    newest: dict[str, Derived] = {}
    for derived, _ in items:  # the same tie rule as `_latest`: the later one wins
        kept = newest.get(derived.uai)
        if kept is None or kept.created_at <= derived.created_at:
            newest[derived.uai] = derived
    writes: list[DeviceWrite] = []
    for derived, _ in items:
        stored = known.get(derived.uai)
        if newest[derived.uai] is not derived or (
            stored is not None and derived.created_at < stored[1]
        ):
            writes.append("missing")
        elif stored is not None and stored[0] == derived.summary["devices_digest"]:
            writes.append("none")
        else:
            writes.append("list")
    return writes


def write_derived(
    conn: Connection,
    items: Sequence[tuple[Derived, int]],
    also: Sequence[Part] = (),
    devices_written: Sequence[DeviceWrite] | None = None,
) -> None:
    """`also`: other independent writes of the batch, sent in the same round trip.
    `devices_written`: per item, from `device_writes` (None: every list written)."""
    if not items:
        execute_together(conn, [part for part in also if part[1]])
        return
    writes = devices_written if devices_written is not None else ["list"] * len(items)
    rows_m = [{**m, "snapshot_id": sid} for d, sid in items for m in d.measurements]
    listed = [(d, w) for (d, _), w in zip(items, writes, strict=True) if w != "none"]
    rows_d = _latest(
        [r for d, w in listed if w == "list" for r in d.devices], _DEVICE_KEY, "reported_at"
    )
    rows_new = _new_devices([r for d, w in listed if w == "missing" for r in d.devices], rows_d)
    rows_s = _latest(
        [  # devices_at: the report time of the rows this snapshot writes, if it writes its list
            {**d.summary, "snapshot_id": sid, "devices_at": d.created_at if w == "list" else None}
            for (d, sid), w in zip(items, writes, strict=True)
        ],
        ("uai",),
        "snapshot_at",
    )
    rows_a = _latest(
        [{**d.assessment, "snapshot_id": sid} for d, sid in items if d.assessment],
        ("uai",),
        "assessed_at",
    )
    # No part reads what another writes, except the criteria, which read the
    # assessments the statement wrote: one round trip on PostgreSQL.
    parts = [
        *also,
        _part(measurements, _insert_measurements, rows_m),
        _part(devices, _guarded_devices, rows_d),
        _part(devices, _insert_new_devices, rows_new),
        _part(school_summary, _summary, rows_s),
        _part(assessments, _guarded_assessments, rows_a, name=_WRITTEN.name),
    ]
    postgres = conn.dialect.name == "postgresql"
    if postgres and rows_a:
        parts += _criteria_parts(items)
    execute_together(conn, [part for part in parts if part is not None and part[1]])
    if rows_a and not postgres:
        _replace_criteria(conn, items, rows_a, None)


_DEVICE_KEY = ("uai", "mac")


def _new_devices(rows: list[dict[str, Any]], written: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Older snapshots' devices, one row per key, minus those a list of the batch
    writes: two parts of one PostgreSQL statement must not touch the same row."""
    if not rows:
        return []
    taken = set(map(itemgetter(*_DEVICE_KEY), written))
    return [
        r for r in _latest(rows, _DEVICE_KEY, "reported_at") if (r["uai"], r["mac"]) not in taken
    ]


def _insert_measurements(dialect: Dialect, source: Source) -> ClauseElement:
    stmt: ClauseElement = insert_rows(dialect, measurements, source).on_conflict_do_nothing(
        index_elements=["agent_id", "started_at", "backend"]
    )
    return stmt


def _guarded(
    table: Table,
    key: tuple[str, ...],
    when: str,
    dialect: Dialect,
    source: Source,
    returning: tuple[str, ...] = (),
) -> ClauseElement:
    """Insert, or update when this row is at least as recent.

    RETURNING (the rows this statement wrote) on PostgreSQL only: SQLite runs the
    statement through executemany, which returns nothing.
    """
    base = insert_rows(dialect, table, source)
    stmt = base.on_conflict_do_update(
        index_elements=list(key),
        set_={c: base.excluded[c] for c in source if c not in key},
        where=table.c[when] <= base.excluded[when],
    )
    if returning and dialect.name == "postgresql":
        stmt = stmt.returning(*(table.c[name] for name in returning))
    result: ClauseElement = stmt
    return result


_guarded_devices = partial(_guarded, devices, _DEVICE_KEY, "reported_at")


def _insert_new_devices(dialect: Dialect, source: Source) -> ClauseElement:
    stmt: ClauseElement = insert_rows(dialect, devices, source).on_conflict_do_nothing(
        index_elements=list(_DEVICE_KEY)
    )
    return stmt


# Which assessments this batch now holds decides whose criteria are replaced.
_guarded_assessments = partial(
    _guarded, assessments, ("uai",), "assessed_at", returning=("uai", "snapshot_id")
)


def _replace_criteria(
    conn: Connection,
    items: Sequence[tuple[Derived, int]],
    rows_a: list[dict[str, Any]],
    written: Sequence[tuple[Any, ...]] | None,
) -> None:
    """Criteria follow the assessment row: replaced for the schools whose row is now ours.

    `written`: the (uai, snapshot_id) rows the upsert returned; None (SQLite) → asked.
    """
    if written is None:
        wanted = [(r["uai"], r["snapshot_id"]) for r in rows_a]
        written = conn.execute(_CURRENT_ASSESSMENTS, {"wanted": wanted}).all()
    if not written:
        return
    chosen = {(uai, int(snapshot_id)) for uai, snapshot_id in written}
    _DELETE_CRITERIA.execute(conn, [{"uai": uai} for uai in sorted(u for u, _ in chosen)])
    rows = [c for d, sid in items if (d.uai, sid) in chosen for c in d.criteria]
    if rows:
        _bulk(conn, assessment_criteria, _insert_criteria, rows)


# The assessments the batch statement wrote (PostgreSQL: its RETURNING rows, by name).
_WRITTEN = table("written", column("uai"), column("snapshot_id"))


def _criteria_parts(items: Sequence[tuple[Derived, int]]) -> list[Part | None]:
    """PostgreSQL: criteria follow the assessment rows the same statement wrote.

    Two parts on disjoint rows: the school's criteria that its new assessment lacks
    are deleted, the others upserted, and an unchanged criterion (the usual case)
    is not rewritten at all. Each row carries its snapshot id, so only the criteria
    of the snapshot whose assessment won are kept (a batch may hold two of a school).
    """
    keep = []
    rows = []
    for derived, sid in items:
        if derived.assessment is None:
            continue
        keep.append({"uai": derived.uai, "snapshot_id": sid, "criterion_id": None})
        for criterion in derived.criteria:
            keep.append(
                {"uai": derived.uai, "snapshot_id": sid, "criterion_id": criterion["criterion_id"]}
            )
            rows.append({**criterion, "snapshot_id": sid})
    return [
        _part(assessment_criteria, _delete_stale_criteria, keep),
        _part(assessment_criteria, _upsert_criteria, rows),
    ]


def _delete_stale_criteria(_dialect: Dialect, source: Source) -> ClauseElement:
    ac = assessment_criteria
    kept = exists().where(
        source["uai"] == ac.c.uai,
        source["snapshot_id"] == _WRITTEN.c.snapshot_id,
        source["criterion_id"] == ac.c.criterion_id,
    )
    stmt: ClauseElement = delete(ac).where(ac.c.uai == _WRITTEN.c.uai, ~kept)
    return stmt


def _upsert_criteria(dialect: Dialect, source: Source) -> ClauseElement:
    ac = assessment_criteria
    names = [c.name for c in ac.columns]
    chosen = (
        select(*(source[n] for n in names))
        .where(source["uai"] == _WRITTEN.c.uai, source["snapshot_id"] == _WRITTEN.c.snapshot_id)
        .order_by(source["uai"], source["criterion_id"])  # one lock order for all writers
    )
    base = upsert_for(dialect, ac).from_select(names, chosen)
    values = [n for n in names if n not in ("uai", "criterion_id")]
    stmt: ClauseElement = base.on_conflict_do_update(
        index_elements=["uai", "criterion_id"],
        set_={n: base.excluded[n] for n in values},
        where=tuple_(*(ac.c[n] for n in values)).is_distinct_from(
            tuple_(*(base.excluded[n] for n in values))
        ),
    )
    return stmt


# Built once: constructing Core statements per batch was a visible share of its cost.
_CURRENT_ASSESSMENTS = select(assessments.c.uai, assessments.c.snapshot_id).where(
    tuple_(assessments.c.uai, assessments.c.snapshot_id).in_(bindparam("wanted", expanding=True))
)


def _delete_criteria_statement(_dialect: Dialect, source: Source) -> ClauseElement:
    stmt: ClauseElement = delete(assessment_criteria).where(
        assessment_criteria.c.uai == source["uai"]
    )
    return stmt


_DELETE_CRITERIA = BulkStatement(
    {"uai": assessment_criteria.c.uai.type}, _delete_criteria_statement
)


def _insert_criteria(dialect: Dialect, source: Source) -> ClauseElement:
    stmt: ClauseElement = insert_rows(dialect, assessment_criteria, source)
    return stmt


def _summary(dialect: Dialect, source: Source) -> ClauseElement:
    """Content follows the newest snapshot; `last_seen_at` is simply the latest arrival."""
    table = school_summary
    base = insert_rows(dialect, table, source)
    newer = base.excluded.snapshot_at >= table.c.snapshot_at
    set_: dict[str, Any] = {
        c: case((newer, base.excluded[c]), else_=table.c[c])
        for c in source
        if c not in ("uai", "last_seen_at")
    }
    # The device list moves only with a snapshot whose rows were written (its
    # `devices_at` is set; see `device_writes`).
    listed = newer & base.excluded.devices_at.is_not(None)
    for c in ("devices_digest", "devices_at"):
        set_[c] = case((listed, base.excluded[c]), else_=table.c[c])
    set_["last_seen_at"] = case(
        (base.excluded.last_seen_at > table.c.last_seen_at, base.excluded.last_seen_at),
        else_=table.c.last_seen_at,
    )
    stmt: ClauseElement = base.on_conflict_do_update(index_elements=["uai"], set_=set_)
    return stmt
