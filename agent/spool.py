"""The durable outbox: a snapshot is committed here before any send, removed after a 2xx.

SQLite in WAL mode with synchronous=FULL, so a commit survives power loss (a Pi
in a school cupboard gets unplugged). Three tables: `queue` (waiting, in sequence
order), `dead_letters` (refused permanently by the collector; kept for the
operator, never retried on their own) and `meta` (sequence counter, drop counter,
link status for the status page). The spool is bounded (bytes and age); when it
must drop, it drops the oldest and counts them, and the count travels in every
later snapshot's health section.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agent import sequence
from agent.snapshot import SnapshotContent, encode, make_snapshot

SPOOL_FILE_NAME = "spool.sqlite3"
DEFAULT_MAX_BYTES = 200 * 1024 * 1024  # issue 5: 200 MB
DEFAULT_MAX_AGE_S = 90 * 86400.0  # issue 5: 90 days
BUSY_TIMEOUT_MS = 10_000  # the CLI and the daemon may both open the spool

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY, created_at REAL NOT NULL, body BLOB NOT NULL,
    size INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT
);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY, created_at REAL NOT NULL, body BLOB NOT NULL,
    size INTEGER NOT NULL, status INTEGER NOT NULL, reason TEXT NOT NULL, failed_at REAL NOT NULL
);
"""


@dataclass(frozen=True)
class SpoolItem:
    seq: int
    created_at: float
    body: bytes
    attempts: int


@dataclass(frozen=True)
class DeadLetter:
    seq: int
    created_at: float
    status: int
    reason: str
    failed_at: float


@dataclass(frozen=True)
class SpoolStats:
    depth: int
    bytes: int
    dead_letters: int
    dropped_total: int
    next_seq: int
    oldest_created_at: float | None


@dataclass(frozen=True)
class LinkStatus:
    """What the status page shows about the collector link (persisted, survives restarts)."""

    last_success_at: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None
    clock_skew_s: float | None = None  # as the collector last reported it (status page)
    consecutive_failures: int = 0
    clock_offset_s: float = 0.0  # correction the uploader applies to `created` when signing


class Spool:
    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_age_s: float = DEFAULT_MAX_AGE_S,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        with self._write() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            sequence.ensure_counter(conn)

    @classmethod
    def in_state_dir(
        cls,
        state_dir: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_age_s: float = DEFAULT_MAX_AGE_S,
    ) -> Spool:
        return cls(state_dir / SPOOL_FILE_NAME, max_bytes=max_bytes, max_age_s=max_age_s)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front: no deadlock upgrading a read."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # --- writing ----------------------------------------------------------------------

    def enqueue(
        self, build: Callable[[int, SpoolStats], bytes], *, now: float | None = None
    ) -> int:
        """Allocate a sequence number and store `build(seq, stats)` in one transaction."""
        now = time.time() if now is None else now
        with self._write() as conn:
            seq = sequence.allocate(conn)
            body = build(seq, self._stats(conn))
            conn.execute(
                "INSERT INTO queue(seq, created_at, body, size) VALUES (?, ?, ?, ?)",
                (seq, now, body, len(body)),
            )
            self._enforce_bounds(conn, now, keep_seq=seq)
        return seq

    def enqueue_snapshot(
        self, content: SnapshotContent, *, agent_id: str, uai: str, now: datetime | None = None
    ) -> int:
        """Wrap content into a Snapshot whose health carries the spool's own counters."""
        created = now or datetime.now(UTC)

        def build(seq: int, stats: SpoolStats) -> bytes:
            health = content.health.model_copy(
                update={
                    "spool_depth": stats.depth,
                    "dead_letters": stats.dead_letters,
                    "dropped_snapshots": stats.dropped_total,
                }
            )
            snapshot = make_snapshot(
                content.model_copy(update={"health": health}),
                agent_id=agent_id,
                uai=uai,
                seq=seq,
                created_at=created,
            )
            return encode(snapshot)

        return self.enqueue(build, now=created.timestamp())

    def ack(self, seq: int) -> None:
        """The collector stored it (2xx): only now may it go."""
        self._conn.execute("DELETE FROM queue WHERE seq = ?", (seq,))

    def record_failure(self, seq: int, error: str) -> None:
        self._conn.execute(
            "UPDATE queue SET attempts = attempts + 1, last_error = ? WHERE seq = ?",
            (error[:300], seq),
        )

    def dead_letter(self, seq: int, status: int, reason: str, *, now: float | None = None) -> None:
        """A permanent refusal: park it for the operator instead of retrying forever."""
        failed_at = time.time() if now is None else now
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO dead_letters(seq, created_at, body, size, status, reason,"
                " failed_at) SELECT seq, created_at, body, size, ?, ?, ? FROM queue WHERE seq = ?",
                (status, reason[:500], failed_at, seq),
            )
            conn.execute("DELETE FROM queue WHERE seq = ?", (seq,))

    def retry_dead_letters(self) -> int:
        """`socle-agent spool retry`: back into the queue, in their original order."""
        with self._write() as conn:
            moved = conn.execute(
                "INSERT OR IGNORE INTO queue(seq, created_at, body, size)"
                " SELECT seq, created_at, body, size FROM dead_letters"
            ).rowcount
            conn.execute("DELETE FROM dead_letters")
        return int(moved)

    def _enforce_bounds(self, conn: sqlite3.Connection, now: float, keep_seq: int) -> None:
        dropped = 0
        for table in ("queue", "dead_letters"):
            dropped += conn.execute(
                f"DELETE FROM {table} WHERE created_at < ? AND seq != ?",  # noqa: S608
                (now - self.max_age_s, keep_seq),
            ).rowcount
        total = self._total_bytes(conn)
        for table in ("queue", "dead_letters"):
            if total <= self.max_bytes:
                break
            rows = conn.execute(
                f"SELECT seq, size FROM {table} WHERE seq != ? ORDER BY seq",  # noqa: S608
                (keep_seq,),
            )
            victims = []
            for seq, size in rows:
                if total <= self.max_bytes:
                    break
                victims.append((seq,))
                total -= size
            conn.executemany(f"DELETE FROM {table} WHERE seq = ?", victims)  # noqa: S608
            dropped += len(victims)
        if dropped:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('dropped_total', ?) ON CONFLICT(key)"
                " DO UPDATE SET value = CAST(value AS INTEGER) + excluded.value",
                (str(dropped),),
            )

    # --- reading ----------------------------------------------------------------------

    def pending(self, limit: int = 100) -> list[SpoolItem]:
        rows = self._conn.execute(
            "SELECT seq, created_at, body, attempts FROM queue ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [SpoolItem(int(s), float(c), bytes(b), int(a)) for s, c, b, a in rows]

    def contains(self, seq: int) -> bool:
        return (
            self._conn.execute("SELECT 1 FROM queue WHERE seq = ?", (seq,)).fetchone() is not None
        )

    def dead_letters(self) -> list[DeadLetter]:
        rows = self._conn.execute(
            "SELECT seq, created_at, status, reason, failed_at FROM dead_letters ORDER BY seq"
        ).fetchall()
        return [DeadLetter(int(s), float(c), int(st), str(r), float(f)) for s, c, st, r, f in rows]

    def dead_letter_reason(self, seq: int) -> tuple[int, str] | None:
        row = self._conn.execute(
            "SELECT status, reason FROM dead_letters WHERE seq = ?", (seq,)
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def stats(self) -> SpoolStats:
        return self._stats(self._conn)

    def _stats(self, conn: sqlite3.Connection) -> SpoolStats:
        depth, size, oldest = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0), MIN(created_at) FROM queue"
        ).fetchone()
        dead = conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0]
        return SpoolStats(
            depth=int(depth),
            bytes=int(size),
            dead_letters=int(dead),
            dropped_total=int(self._meta(conn, "dropped_total") or 0),
            next_seq=sequence.peek(conn),
            oldest_created_at=None if oldest is None else float(oldest),
        )

    @staticmethod
    def _total_bytes(conn: sqlite3.Connection) -> int:
        row = conn.execute(
            "SELECT (SELECT COALESCE(SUM(size), 0) FROM queue)"
            " + (SELECT COALESCE(SUM(size), 0) FROM dead_letters)"
        ).fetchone()
        return int(row[0])

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # --- link status ------------------------------------------------------------------

    def link_status(self) -> LinkStatus:
        rows = dict(self._conn.execute("SELECT key, value FROM meta WHERE key LIKE 'link.%'"))

        def number(name: str) -> float | None:
            value = rows.get(f"link.{name}")
            return None if value in (None, "") else float(value)

        return LinkStatus(
            last_success_at=number("last_success_at"),
            last_error=rows.get("link.last_error") or None,
            last_error_at=number("last_error_at"),
            clock_skew_s=number("clock_skew_s"),
            consecutive_failures=int(number("consecutive_failures") or 0),
            clock_offset_s=number("clock_offset_s") or 0.0,
        )

    def set_link_status(self, status: LinkStatus) -> None:
        values = {
            "link.last_success_at": status.last_success_at,
            "link.last_error": status.last_error,
            "link.last_error_at": status.last_error_at,
            "link.clock_skew_s": status.clock_skew_s,
            "link.consecutive_failures": status.consecutive_failures,
            "link.clock_offset_s": status.clock_offset_s,
        }
        with self._write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                [(k, "" if v is None else str(v)) for k, v in values.items()],
            )


# --- functions for agent/cli.py -------------------------------------------------------


def spool_retry(state_dir: Path) -> int:
    """`socle-agent spool retry`: number of dead letters moved back to the queue."""
    with Spool.in_state_dir(state_dir) as spool:
        return spool.retry_dead_letters()
