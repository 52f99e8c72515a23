"""The agent's memory between cycles: measurements, inventory history, assessments, job runs.

One SQLite file in the state directory (WAL, so the status page can read while a cycle
writes). Rows carry a few indexed columns plus the full record as JSON: the status page
and the snapshot builder read records, not probe internals. History is pruned to
`retention_days` so a box left alone for years stays small.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

RETENTION_DAYS = 90  # issue 7: 90 days of measurements and presence history

_SCHEMA = """
CREATE TABLE IF NOT EXISTS measurements (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    ok INTEGER NOT NULL,
    down_mbps REAL,
    up_mbps REAL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS measurements_time ON measurements (kind, started_at);
CREATE TABLE IF NOT EXISTS devices (
    device_id TEXT PRIMARY KEY,
    category TEXT NOT NULL,
    personal INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS presence (
    cycle_at TEXT NOT NULL,
    device_id TEXT NOT NULL,
    category TEXT NOT NULL,
    present INTEGER NOT NULL,
    PRIMARY KEY (cycle_at, device_id)
);
CREATE TABLE IF NOT EXISTS assessments (
    id INTEGER PRIMARY KEY,
    computed_at TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS job_runs (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    ok INTEGER,
    summary TEXT NOT NULL DEFAULT '',
    error TEXT
);
CREATE INDEX IF NOT EXISTS job_runs_time ON job_runs (job, started_at);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the state store only takes aware UTC times")
    return moment.astimezone(UTC).isoformat()


class DeviceRecord(BaseModel):
    """One device as the agent remembers it and the status page shows it.

    Personal devices (computers, tablets, phones) are stored for counting; `mac`, `name`
    and `hostname` of those never leave the box (the snapshot builder counts them).
    """

    model_config = ConfigDict(frozen=True)

    device_id: str
    category: str
    personal: bool = False
    confidence: float = 0.0
    vendor: str = ""
    model: str = ""
    name: str = ""
    ip: str | None = None
    mac: str | None = None
    serial: str = ""
    private_address: bool = False
    evidence: list[str] = Field(default_factory=list)
    health: dict[str, Any] = Field(default_factory=dict)
    first_seen: AwareDatetime
    last_seen: AwareDatetime


class JobRun(BaseModel):
    model_config = ConfigDict(frozen=True)

    job: str
    started_at: AwareDatetime
    finished_at: AwareDatetime | None
    ok: bool | None
    summary: str
    error: str | None


def _job_run(row: tuple[Any, ...]) -> JobRun:
    job, started, finished, ok, summary, error = row
    return JobRun(
        job=job,
        started_at=datetime.fromisoformat(started),
        finished_at=datetime.fromisoformat(finished) if finished else None,
        ok=None if ok is None else bool(ok),
        summary=summary,
        error=error,
    )


# KiB of SQLite page cache for the daemon's one long-lived connection (SQLite's default:
# 2000). 90 days of history outgrow the default, and the cache is private memory held
# for the daemon's lifetime, while the kernel's page cache keeps the file hot anyway.
PAGE_CACHE_KIB = 256


class StateStore:
    """Thread-safe: the daemon's jobs and the status page share one connection."""

    def __init__(self, path: Path, retention_days: int = RETENTION_DAYS) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.retention_days = retention_days
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- measurements ------------------------------------------------------------------

    def add_measurement(
        self,
        kind: str,
        started_at: datetime,
        record: dict[str, Any],
        *,
        ok: bool,
        down_mbps: float | None = None,
        up_mbps: float | None = None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO measurements (started_at, kind, ok, down_mbps, up_mbps, record)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    _iso(started_at),
                    kind,
                    int(ok),
                    down_mbps,
                    up_mbps,
                    json.dumps(record, default=str),
                ),
            )

    def measurements(self, kind: str, since: datetime) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT record FROM measurements WHERE kind = ? AND started_at >= ? ORDER BY started_at",
            (kind, _iso(since)),
        )
        return [json.loads(row[0]) for row in rows]

    def timed_measurements(
        self, kind: str, since: datetime
    ) -> list[tuple[datetime, bool, dict[str, Any]]]:
        """(started_at, ok, record) oldest first: the status page charts records over time."""
        rows = self._rows(
            "SELECT started_at, ok, record FROM measurements WHERE kind = ? AND started_at >= ?"
            " ORDER BY started_at",
            (kind, _iso(since)),
        )
        return [
            (datetime.fromisoformat(at), bool(ok), json.loads(record)) for at, ok, record in rows
        ]

    # -- inventory ---------------------------------------------------------------------

    def record_cycle(self, cycle_at: datetime, devices: Sequence[DeviceRecord]) -> None:
        """Upsert what this cycle saw, keep first_seen, and log presence per device.

        Presence rows are written for every known infrastructure device — absent ones too —
        so that "the AP was off at 22:00" is a fact, not a gap.
        """
        seen = {device.device_id for device in devices}
        with self._tx() as db:
            for device in devices:
                row = db.execute(
                    "SELECT first_seen FROM devices WHERE device_id = ?", (device.device_id,)
                ).fetchone()
                first_seen = datetime.fromisoformat(row[0]) if row else device.first_seen
                stored = device.model_copy(
                    update={"first_seen": min(first_seen, device.first_seen)}
                )
                db.execute(
                    "INSERT INTO devices (device_id, category, personal, first_seen, last_seen, record)"
                    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET"
                    " category=excluded.category, personal=excluded.personal,"
                    " last_seen=excluded.last_seen, record=excluded.record",
                    (
                        stored.device_id,
                        stored.category,
                        int(stored.personal),
                        _iso(stored.first_seen),
                        _iso(stored.last_seen),
                        stored.model_dump_json(),
                    ),
                )
            known = db.execute(
                "SELECT device_id, category FROM devices WHERE personal = 0"
            ).fetchall()
            db.executemany(
                "INSERT OR REPLACE INTO presence (cycle_at, device_id, category, present) VALUES (?, ?, ?, ?)",
                [
                    (_iso(cycle_at), device_id, category, int(device_id in seen))
                    for device_id, category in known
                ],
            )

    def devices(self) -> list[DeviceRecord]:
        rows = self._rows("SELECT record FROM devices ORDER BY category, device_id")
        return [DeviceRecord.model_validate_json(row[0]) for row in rows]

    def presence(
        self, since: datetime, categories: Sequence[str]
    ) -> list[tuple[datetime, str, bool]]:
        """(cycle time, device id, present) for the given categories since a time, oldest first."""
        marks = ",".join("?" for _ in categories)
        rows = self._rows(
            f"SELECT cycle_at, device_id, present FROM presence WHERE cycle_at >= ?"  # noqa: S608
            f" AND category IN ({marks}) ORDER BY cycle_at",
            (_iso(since), *categories),
        )
        return [
            (datetime.fromisoformat(at), device_id, bool(present))
            for at, device_id, present in rows
        ]

    # -- assessments -------------------------------------------------------------------

    def add_assessment(self, computed_at: datetime, record: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO assessments (computed_at, record) VALUES (?, ?)",
                (_iso(computed_at), json.dumps(record, default=str)),
            )

    def latest_assessment(self) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT record FROM assessments ORDER BY computed_at DESC, id DESC LIMIT 1"
        )
        return json.loads(rows[0][0]) if rows else None

    # -- job runs ----------------------------------------------------------------------

    def start_job(self, job: str, started_at: datetime) -> int:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO job_runs (job, started_at) VALUES (?, ?)", (job, _iso(started_at))
            )
            return int(cursor.lastrowid or 0)

    def finish_job(
        self,
        run_id: int,
        finished_at: datetime,
        *,
        ok: bool,
        summary: str = "",
        error: str | None = None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE job_runs SET finished_at = ?, ok = ?, summary = ?, error = ? WHERE id = ?",
                (_iso(finished_at), int(ok), summary, error, run_id),
            )

    def job_runs(self, limit: int = 50, *, errors_only: bool = False) -> list[JobRun]:
        where = "WHERE ok = 0" if errors_only else ""
        rows = self._rows(
            f"SELECT job, started_at, finished_at, ok, summary, error FROM job_runs {where}"  # noqa: S608
            " ORDER BY started_at DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [_job_run(row) for row in rows]

    def last_run(self, job: str) -> JobRun | None:
        rows = self._rows(
            "SELECT job, started_at, finished_at, ok, summary, error FROM job_runs WHERE job = ?"
            " ORDER BY started_at DESC, id DESC LIMIT 1",
            (job,),
        )
        return _job_run(rows[0]) if rows else None

    def last_runs(self) -> dict[str, JobRun]:
        """The latest run of every job that ever ran, by job name (status page: last runs)."""
        rows = self._rows(
            "SELECT job, started_at, finished_at, ok, summary, error FROM job_runs AS j"
            " WHERE id = (SELECT id FROM job_runs WHERE job = j.job"
            " ORDER BY started_at DESC, id DESC LIMIT 1) ORDER BY job"
        )
        return {run.job: run for run in map(_job_run, rows)}

    # -- small values ------------------------------------------------------------------

    def put(self, key: str, value: Any) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)",
                (key, json.dumps(value, default=str)),
            )

    def get(self, key: str, default: Any = None) -> Any:
        rows = self._rows("SELECT value FROM kv WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    # -- housekeeping ------------------------------------------------------------------

    def prune(self, now: datetime) -> None:
        cutoff = _iso(now - timedelta(days=self.retention_days))
        with self._tx() as db:
            db.execute("DELETE FROM measurements WHERE started_at < ?", (cutoff,))
            db.execute("DELETE FROM presence WHERE cycle_at < ?", (cutoff,))
            db.execute("DELETE FROM assessments WHERE computed_at < ?", (cutoff,))
            db.execute("DELETE FROM job_runs WHERE started_at < ?", (cutoff,))
