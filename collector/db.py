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
    Boolean,
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
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url

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
    Index("ix_schools_commune", "commune"),
    Index("ix_schools_size", "size"),
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
    # The JSON exactly as received (decompressed); NULL once pruned by the retention
    # policy. The row stays: (agent_id, seq) and the hash keep ingest idempotent.
    Column("body", Text, nullable=True),
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


# --- derived tables: filled at ingest, in the snapshot's transaction -------------------
# The dashboard reads only these (and the snapshots' envelope columns), never the JSON.

measurements = Table(
    "measurements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("uai", String(8), ForeignKey("schools.uai"), nullable=False),
    Column("agent_id", String(64), nullable=False),
    Column("snapshot_id", BigInteger, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("backend", String(16), nullable=False),
    Column("target_host", String(256), nullable=False),
    Column("down_mbps", Float, nullable=True),
    Column("up_mbps", Float, nullable=True),
    Column("idle_latency_ms", Float, nullable=True),
    Column("loaded_latency_ms", Float, nullable=True),
    Column("jitter_ms", Float, nullable=True),
    Column("bytes_used", BigInteger, nullable=False),
    Column("cut_short", String(256), nullable=True),
    # A result is reported once, but a re-sent period must not count it twice.
    UniqueConstraint("agent_id", "started_at", "backend", name="uq_measurements_agent_started"),
    Index("ix_measurements_uai_started_at", "uai", "started_at"),
)

devices = Table(
    "devices",
    metadata,
    Column("uai", String(8), ForeignKey("schools.uai"), primary_key=True),
    Column("mac", String(17), primary_key=True),  # the inventory key; IPs change
    Column("category", String(32), nullable=False),
    Column("vendor", String(256), nullable=False),
    Column("model", String(256), nullable=False),
    Column("name", String(256), nullable=False),
    Column("ip", String(45), nullable=True),
    Column("serial", String(256), nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("reported_at", UtcDateTime, nullable=False),  # created_at of the reporting snapshot
    Column("min_toner_percent", Float, nullable=True),
    Column("lamp_hours", Integer, nullable=True),
    Column("lamp_rated_hours", Integer, nullable=True),
    Column("toner_low", Boolean, nullable=False),
    Column("lamp_end", Boolean, nullable=False),
    Column("health_text", String(1024), nullable=False),  # "Black Toner 10 %; lamp: warning"
)

assessments = Table(
    "assessments",
    metadata,
    Column("uai", String(8), ForeignKey("schools.uai"), primary_key=True),
    Column("assessed_at", UtcDateTime, nullable=False),  # created_at of the snapshot
    Column("snapshot_id", BigInteger, nullable=False),
    Column("met", Integer, nullable=False),
    Column("judged", Integer, nullable=False),
)

assessment_criteria = Table(
    "assessment_criteria",
    metadata,
    Column("uai", String(8), ForeignKey("schools.uai"), primary_key=True),
    Column("criterion_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("title", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("message", String(1024), nullable=False),
    Column("source", String(16), nullable=False),
)

school_summary = Table(
    "school_summary",
    metadata,
    Column("uai", String(8), ForeignKey("schools.uai"), primary_key=True),
    Column("last_seen_at", UtcDateTime, nullable=False, index=True),  # ours: "silent" alert
    Column("snapshot_at", UtcDateTime, nullable=False),  # created_at of the latest snapshot
    Column("snapshot_id", BigInteger, nullable=False),
    Column("agent_id", String(64), nullable=False),
    Column("verdict_minimum", String(8), nullable=False, index=True),  # pass | fail | unknown
    Column("verdict_desirable", String(8), nullable=False, index=True),
    Column("median_down_mbps", Float, nullable=True),
    Column("median_up_mbps", Float, nullable=True),
    Column("tests", Integer, nullable=False),
    Column("met", Integer, nullable=False),
    Column("judged", Integer, nullable=False),
    Column("score_pct", Float, nullable=True, index=True),  # met / judged; NULL: nothing judged
    Column("equipment_ok", Boolean, nullable=False),  # every equipment criterion met
    Column("devices", Integer, nullable=False),
    Column("alert_below_minimum", Boolean, nullable=False),
    Column("alert_toner_low", Boolean, nullable=False),
    Column("alert_lamp_end", Boolean, nullable=False),
    Column("alert_wifi_on", Boolean, nullable=False),
    Column("alert_clock_skew", Boolean, nullable=False),
    Column("alert_dead_letters", Boolean, nullable=False),
    Column("alerts", Integer, nullable=False, index=True),  # how many of the flags above
    Column("agent_version", String(64), nullable=False),
    Column("uptime_s", Float, nullable=False),
    Column("spool_depth", Integer, nullable=False),
    Column("dead_letters", Integer, nullable=False),
    Column("dropped_snapshots", Integer, nullable=False),
    Column("clock_synchronised", Boolean, nullable=True),
    Column("clock_skew_s", Float, nullable=True),
    Column("last_errors", String(2600), nullable=False),
    # The device list the devices table holds for the school (migration 0005): a
    # digest of its rows, and the report time they carry. Unchanged list, no write.
    Column("devices_digest", String(32), nullable=True),
    Column("devices_at", UtcDateTime, nullable=True),
)


# --- dashboard users, sessions, rate limits, shared secrets ---------------------------
# All in the database, so several collector instances behind a load balancer agree.

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True),
    Column("password_hash", String(256), nullable=False),  # argon2id, self-describing
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, server_default="0"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the cookie value
    Column("username", String(64), ForeignKey("users.username"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)

rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(200), primary_key=True),  # "login-ip:192.0.2.1", "tp-req:<agent>"
    Column("window_start", Float, nullable=False),  # epoch seconds
    Column("count", Float, nullable=False),
)

collector_secrets = Table(
    "collector_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
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


def upsert_statement(conn: Connection, table: Table) -> Any:
    """INSERT … ON CONFLICT for the backend at hand (both speak it, with RETURNING)."""
    return upsert_for(conn.dialect, table)


def upsert_for(dialect: Dialect, table: Table) -> Any:
    """`upsert_statement` when only the dialect is known (statements compiled once)."""
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def safe_url(url: str) -> str:
    """The URL with its password hidden, for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)
