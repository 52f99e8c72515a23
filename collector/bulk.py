"""Many rows, one statement: the ingest writer's hot path, per backend.

Why: a batch of 50 snapshots carries ~1,500 derived rows (20 devices each, plus
measurements, criteria, summaries). Through `Connection.execute(stmt, rows)`,
SQLAlchemy builds a parameter dict per row and runs each value through its type's
bind processor (profiled: ~1.7 ms per snapshot, more than verification and
validation together), and on PostgreSQL psycopg then sends one Bind/Execute per
row, each executed separately by the server (~3 ms per snapshot).

So each statement is written once against a *row source* and compiled once per
dialect:
- SQLite: the source is one bind parameter per column and the rows go to
  sqlite3's executemany (a prepared statement stepped in C);
- PostgreSQL: the source is `unnest(col1[], col2[], …)`, so the whole batch is one
  statement with one array parameter per column: one round trip, one execution.

Values are converted by one small function per column chosen at compile time:
on SQLite, datetimes written as the text SQLAlchemy's DATETIME stores; on
PostgreSQL, each column encoded as one binary array (`collector.pg_arrays`).
Naive datetimes are refused on both. The SQL is SQLAlchemy's own compilation of
Core constructs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

import psycopg
from sqlalchemy import (
    BigInteger,
    Boolean,
    Dialect,
    Float,
    Integer,
    String,
    Table,
    bindparam,
    cast,
    column,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.types import TypeEngine
from sqlalchemy.util import await_only

from collector.db import UtcDateTime, upsert_for
from collector.pg_arrays import (
    encode_bool,
    encode_float8,
    encode_int4,
    encode_int8,
    encode_text,
    encode_timestamptz,
)

Convert = Callable[[Any], Any]
Source = Mapping[str, ColumnElement[Any]]  # column name → where a row's value comes from
Build = Callable[[Dialect, Source], ClauseElement]
ColumnEncoder = Callable[[Sequence[Any]], Any]  # a column's values → one array parameter


def sqlite_datetime(value: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DATETIME stores (its default storage format), in UTC.

    Stored values are compared as text (`reported_at <= excluded.reported_at`), so
    this must match byte for byte; a test checks it against SQLAlchemy's processor.
    """
    if value is None:
        return None
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("naive datetime given to the database")
    if offset:
        value = value - offset  # the same instant's wall time in UTC (offset still attached)
    # Runs ~40 times per snapshot: slicing the offset off the text is ~25 % cheaper
    # than astimezone() + replace() (two more datetime objects each time).
    return value.isoformat(" ", "microseconds")[:26]


def _converter(type_: TypeEngine[Any], dialect: Dialect) -> Convert | None:
    if isinstance(type_, UtcDateTime):
        return sqlite_datetime
    processor: Convert | None = type_._cached_bind_processor(dialect)
    return processor


def _array_encoder(name: str, type_: TypeEngine[Any]) -> ColumnEncoder:
    """The column's array encoder (every value goes in binary, ready-made)."""
    if isinstance(type_, UtcDateTime):
        return encode_timestamptz
    if isinstance(type_, Boolean):
        return encode_bool
    if isinstance(type_, BigInteger):  # before Integer: a subclass of it
        return encode_int8
    if isinstance(type_, Integer):
        return encode_int4
    if isinstance(type_, Float):
        return encode_float8
    if isinstance(type_, String):
        return encode_text
    raise TypeError(f"no PostgreSQL array encoder for column {name} of type {type_!r}")


def row_source(dialect: Dialect, types: Mapping[str, TypeEngine[Any]]) -> Source:
    """Bind parameters (SQLite, executemany) or the columns of `unnest` (PostgreSQL)."""
    if dialect.name != "postgresql":
        return {name: bindparam(name, type_=t) for name, t in types.items()}
    arrays = [cast(bindparam(name), ARRAY(t)) for name, t in types.items()]
    rows = (
        func.unnest(*arrays)
        .table_valued(*(column(name, t) for name, t in types.items()))
        .render_derived(name="v")
    )
    return {name: rows.c[name] for name in types}


def insert_rows(dialect: Dialect, table: Table, source: Source) -> Any:
    """INSERT (ready for ON CONFLICT) of the source's rows into the same-named columns."""
    base = upsert_for(dialect, table)
    if dialect.name == "postgresql":
        return base.from_select(list(source), select(*source.values()))
    return base.values(dict(source))


@dataclass(frozen=True)
class _Compiled:
    sql: str  # PostgreSQL: native `$n` placeholders, n-1 being the name's index in `names`
    names: tuple[str, ...]  # bind names, in the driver's parameter order when positional
    converters: tuple[tuple[int, Convert], ...]  # (position in `names`, converter)
    positional: bool
    encoders: tuple[ColumnEncoder, ...] | None  # PostgreSQL: one array per column

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> Any:
        get = itemgetter(*self.names)
        if self.encoders is not None:
            # Every row has every name (itemgetter), so the tuples are all as long.
            columns = (
                [[get(row) for row in rows]]
                if len(self.names) == 1
                else zip(*map(get, rows), strict=True)
            )
            return [encode(column) for encode, column in zip(self.encoders, columns, strict=True)]
        single = len(self.names) == 1
        values = [[get(row)] if single else list(get(row)) for row in rows]
        for index, convert in self.converters:
            # Rows of one snapshot share value objects (its created and received times on
            # every device row): convert each object once. Keyed by id(): the rows keep
            # every value alive until this call returns, and converters are pure.
            done: dict[int, Any] = {}
            for row_values in values:
                value = row_values[index]
                key = id(value)
                if key not in done:
                    done[key] = convert(value)
                row_values[index] = done[key]
        if self.positional:
            return [tuple(v) for v in values]
        return [dict(zip(self.names, v, strict=True)) for v in values]


def native_placeholders(sql: str, names: Sequence[str]) -> str:
    """psycopg's `%(name)s` (pyformat) SQL rewritten with PostgreSQL's own `$n`.

    Why: psycopg parses a pyformat query on every execution unless it is short
    (≤ 4 KB) with few parameters (≤ 50), and the batch statement is neither: the
    parse cost ~15 % of the writer's CPU. A raw cursor sends `$n` SQL as it is.
    """
    if "$" in sql:
        raise ValueError("SQL with a dollar sign cannot take native placeholders")
    for number, name in enumerate(names, start=1):
        sql = sql.replace(f"%({name})s", f"${number}")
    if re.search(r"%\(\w+\)s", sql):
        raise ValueError(f"SQL binds names not in {list(names)}")
    return sql.replace("%%", "%")


def _shifted(sql: str, offset: int) -> str:
    """`$n` → `$(n + offset)`: a statement's placeholders once parameters precede its own."""
    return re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + offset}", sql)


class BulkStatement:
    """A statement over a row source, compiled once per dialect; rows given as mappings."""

    def __init__(
        self, types: Mapping[str, TypeEngine[Any]], build: Build, name: str | None = None
    ) -> None:
        """`name`: what later parts of `execute_together` call this one's RETURNING rows."""
        self.types = dict(types)
        self.build = build
        self.name = name
        self._by_dialect: dict[str, _Compiled] = {}
        self._statements: dict[str, ClauseElement] = {}

    def statement(self, dialect: Dialect) -> ClauseElement:
        """The Core statement itself, built once per dialect (for `Connection.execute`)."""
        found = self._statements.get(dialect.name)
        if found is None:
            found = self._statements[dialect.name] = self.build(
                dialect, row_source(dialect, self.types)
            )
        return found

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled: Any = self.statement(dialect).compile(dialect=dialect)
            names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
            unknown = set(names) - set(self.types)
            if unknown:
                raise ValueError(f"statement binds values not in the rows: {sorted(unknown)}")
            sql = compiled.string
            if dialect.name == "postgresql":  # arrays we encode ourselves, in binary
                encoders = tuple(_array_encoder(name, self.types[name]) for name in names)
                sql = native_placeholders(sql, names)
                found = _Compiled(sql, names, (), compiled.positional, encoders)
            else:
                converters = tuple(
                    (index, convert)
                    for index, name in enumerate(names)
                    if (convert := _converter(self.types[name], dialect)) is not None
                )
                found = _Compiled(sql, names, converters, compiled.positional, None)
            self._by_dialect[dialect.name] = found
        return found

    def execute(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self.execute_returning(conn, rows)

    def execute_returning(
        self, conn: Connection, rows: Sequence[Mapping[str, Any]]
    ) -> list[tuple[Any, ...]]:
        """The statement's RETURNING rows, as tuples in RETURNING order (PostgreSQL;
        sqlite3's executemany returns none).

        Straight on the driver's cursor, in the connection's transaction: SQLAlchemy's
        execution context around `exec_driver_sql` cost ~85 µs of CPU per statement on
        the async engine (measured: 215 against 130 µs), for nothing this SQL needs,
        and a batch runs about ten of these.
        """
        compiled = self._compiled(conn.dialect)
        parameters = compiled.parameters(rows)
        if compiled.encoders is None:
            return _run(conn, compiled.sql, parameters, many=True)
        return _run(conn, compiled.sql, parameters)


def _run(conn: Connection, sql: str, parameters: Any, many: bool = False) -> list[tuple[Any, ...]]:
    if conn.dialect.name == "postgresql":
        return _run_native(conn, sql, parameters)
    cursor = conn.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
            return []
        cursor.execute(sql, parameters)
        return list(cursor.fetchall()) if cursor.description else []
    finally:
        cursor.close()


def _run_native(conn: Connection, sql: str, parameters: list[Any]) -> list[tuple[Any, ...]]:
    """`$n` SQL on a psycopg raw cursor of the connection's own driver connection (so in
    its transaction); from the async engine's greenlet, each wait goes to the loop."""
    driver = conn.connection.driver_connection
    if isinstance(driver, psycopg.AsyncConnection):
        acursor = psycopg.AsyncRawCursor(driver)
        try:
            await_only(acursor.execute(sql, parameters))
            return await_only(acursor.fetchall()) if acursor.description else []
        finally:
            await_only(acursor.close())
    assert isinstance(driver, psycopg.Connection)
    with psycopg.RawCursor(driver) as cursor:
        cursor.execute(sql, parameters)
        return cursor.fetchall() if cursor.description else []


Part = tuple[BulkStatement, Sequence[Mapping[str, Any]]]  # a statement and its rows
_together: dict[tuple[int | str | None, ...], str] = {}


def execute_together(
    conn: Connection, parts: Sequence[Part], final: str | None = None
) -> list[tuple[Any, ...]]:
    """Independent statements in one round trip; the last one's RETURNING rows, or on
    PostgreSQL the rows of `final`, a query over the parts' names, when given.

    On PostgreSQL the parts become one statement, all but the last as data-modifying
    `WITH` queries: each batch waits for the server once instead of once per table
    (a round trip costs ~130 µs of CPU on the async engine, and a batch is often only
    a handful of snapshots). The parts must not write the same rows, and none may
    need another's effects: they all see the database as it was before the statement.
    A later part may read an earlier one's RETURNING rows under its `name`.
    Elsewhere (SQLite) they simply run in order.
    """
    if conn.dialect.name != "postgresql" or (len(parts) < 2 and final is None):
        returned: list[tuple[Any, ...]] = []
        for statement, rows in parts:
            returned = statement.execute_returning(conn, rows)
        return returned
    compiled = [statement._compiled(conn.dialect) for statement, _ in parts]
    key = (*(id(statement) for statement, _ in parts), final)
    sql = _together.get(key)
    if sql is None:
        shifted, offset = [], 0
        for one in compiled:
            shifted.append(_shifted(one.sql, offset))
            offset += len(one.names)
        main = final if final is not None else shifted.pop()
        withs = ", ".join(
            f"{statement.name or f'p{i}'} AS ({text})"
            for i, ((statement, _), text) in enumerate(zip(parts, shifted, strict=False))
        )
        sql = _together[key] = f"WITH {withs} {main}"
    parameters: list[Any] = []
    for one, (_, rows) in zip(compiled, parts, strict=True):
        parameters += one.parameters(rows)
    return _run(conn, sql, parameters)
