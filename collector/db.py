"""Tables and engines. SQLite (one file, WAL) by default, PostgreSQL for a whole academy.

The schema is SQLAlchemy Core metadata, the single source Alembic migrations are
written against. Times are stored timezone-aware; SQLite forgets the zone, so
`UtcDateTime` puts UTC back on the way out. SQLite connections run in WAL mode
with synchronous=FULL: a 2xx to an agent means the snapshot survives a power cut,
because the agent deletes its copy on that answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000  # several writers (uvicorn workers) queue for the lock


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware (UTC) datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only makes INTEGER PRIMARY KEY an auto-incrementing rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

schools = Table(
    "schools",
    metadata,
    Column("uai", String(8), primary_key=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("commune", String(200), nullable=False, server_default=""),
    Column("size", String(16), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

agents = Table(
    "agents",
    metadata,
    Column("agent_id", String(64), primary_key=True),
    Column("uai", String(8), ForeignKey("schools.uai"), nullable=False, index=True),
    Column("public_key", String(64), nullable=False, unique=True),
    Column("state", String(16), nullable=False),  # active | revoked
    Column("enrolled_via", String(16), nullable=False),  # token | manual
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("last_seen_at", UtcDateTime, nullable=True),
    Column("last_seq", BigInteger, nullable=True),
    Column("clock_skew_s", Float, nullable=True),
)

enrolment_tokens = Table(
    "enrolment_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256: a leaked table enrols no one
    Column("uai", String(8), ForeignKey("schools.uai"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Column("agent_id", String(64), nullable=True),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("agent_id", String(64), ForeignKey("agents.agent_id"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("uai", String(8), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),  # the agent's clock
    Column("received_at", UtcDateTime, nullable=False),  # ours
    Column("body_sha256", String(64), nullable=False),
    Column("body", Text, nullable=False),  # the JSON exactly as received (decompressed)
    UniqueConstraint("agent_id", "seq", name="uq_snapshots_agent_id_seq"),
    Index("ix_snapshots_uai_created_at", "uai", "created_at"),
)

nonces = Table(
    "nonces",
    metadata,
    Column("agent_id", String(64), primary_key=True),
    Column("nonce", String(128), primary_key=True),
    Column("expires_at", Float, nullable=False, index=True),  # epoch seconds: cheap to purge
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 opens transactions lazily and deferred; we issue BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


READ_ONLY = {"socle_read_only": True}  # execution option: a reader's transaction


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue on busy_timeout
    # instead of deadlocking when both try to upgrade a read lock. Readers must not
    # take it: in WAL mode they never wait, unless we make them.
    if connection.get_execution_options().get("socle_read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the pragmas and transaction mode each backend needs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def safe_url(url: str) -> str:
    """The URL with its password hidden, for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)
