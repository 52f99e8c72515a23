"""Retention: raw snapshot bodies go after `retention.raw_snapshot_days`; derived data stays.

The raw JSON is kept as evidence (what exactly did this agent say?) for a while;
the dashboard never needs it. Pruning empties `snapshots.body` and keeps the row,
so (agent_id, seq) and the body hash still make a late resend idempotent.
Runs in small transactions, so ingest on SQLite is never blocked for long.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update

from collector.db import snapshots

PRUNE_BATCH = 5000  # rows per transaction


def prune_raw_snapshots(engine: Engine, older_than: timedelta, now: datetime | None = None) -> int:
    """Empty the bodies of snapshots received before now - older_than; returns how many."""
    cutoff = (now or datetime.now(UTC)) - older_than
    total = 0
    while True:
        with engine.begin() as conn:
            ids = (
                conn.execute(
                    select(snapshots.c.id)
                    .where(snapshots.c.received_at < cutoff, snapshots.c.body.is_not(None))
                    .limit(PRUNE_BATCH)
                )
                .scalars()
                .all()
            )
            if not ids:
                return total
            conn.execute(update(snapshots).where(snapshots.c.id.in_(ids)).values(body=None))
        total += len(ids)
