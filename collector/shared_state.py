"""State that several collector instances must share: rate-limit counters and secrets.

Both live in the database, so instances behind a load balancer agree: a brute
force spread over three instances meets one counter, and a throughput token
minted by one instance is accepted by the others. Counters are fixed windows,
incremented by one atomic upsert (no read-modify-write race between instances).
"""

from __future__ import annotations

import base64
import secrets
import time
from datetime import UTC, datetime

from sqlalchemy import Engine, case, delete, select

from collector.db import READ_ONLY, collector_secrets, rate_limits, upsert_statement


def hit(engine: Engine, key: str, window_s: float, amount: float = 1.0) -> float:
    """Add `amount` to the counter of the current window; returns the new total."""
    now = time.time()
    window_start = now - now % window_s
    with engine.begin() as conn:
        base = upsert_statement(conn, rate_limits)
        stale = rate_limits.c.window_start < base.excluded.window_start
        stmt = base.values(key=key, window_start=window_start, count=amount)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "count": case(
                    (stale, base.excluded["count"]), else_=rate_limits.c["count"] + amount
                ),
                "window_start": case(
                    (stale, base.excluded.window_start), else_=rate_limits.c.window_start
                ),
            },
        )
        conn.execute(stmt)
        value = conn.execute(select(rate_limits.c["count"]).where(rate_limits.c.key == key))
        return float(value.scalar_one())


def peek(engine: Engine, key: str, window_s: float) -> float:
    """The counter's value in the current window (0 when it belongs to an older one)."""
    now = time.time()
    with engine.connect().execution_options(**READ_ONLY) as conn:
        row = conn.execute(
            select(rate_limits.c.window_start, rate_limits.c["count"]).where(
                rate_limits.c.key == key
            )
        ).first()
    if row is None or row.window_start < now - now % window_s:
        return 0.0
    return float(row[1])


def reset(engine: Engine, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(rate_limits).where(rate_limits.c.key == key))


def shared_secret(engine: Engine, name: str) -> bytes:
    """A random 32-byte secret, created once for all instances (first writer wins)."""
    with engine.begin() as conn:
        stmt = upsert_statement(conn, collector_secrets).on_conflict_do_nothing()
        conn.execute(
            stmt,
            {
                "name": name,
                "value": base64.b64encode(secrets.token_bytes(32)).decode(),
                "created_at": datetime.now(UTC),
            },
        )
        value = conn.execute(
            select(collector_secrets.c.value).where(collector_secrets.c.name == name)
        ).scalar_one()
    return base64.b64decode(value)
