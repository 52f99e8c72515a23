"""Per-agent sequence numbers that are never reused, even after a crash or a lost spool.

The counter lives in the spool database and is advanced in the same SQLite
transaction that stores the snapshot carrying the number: a crash either keeps
both (committed with synchronous=FULL) or neither. There is no window where a
number was handed out but not recorded.

A brand-new counter starts at the current Unix time in seconds rather than 1:
if an operator wipes the spool but keeps the key, new numbers still exceed every
number used before (at one snapshot per 15 minutes the old counter cannot catch
up with the clock), so the collector does not mistake new snapshots for old ones.
If the clock is wrong too, the collector answers 409 for a reused number with
different content, which dead-letters visibly instead of losing data silently.
"""

from __future__ import annotations

import sqlite3
import time

_KEY = "next_seq"


def ensure_counter(conn: sqlite3.Connection, *, now: float | None = None) -> None:
    """Create the counter once; call inside the transaction that creates the schema."""
    start = max(1, int(time.time() if now is None else now))
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", (_KEY, str(start)))


def allocate(conn: sqlite3.Connection) -> int:
    """Take the next number. Must run inside a write transaction (BEGIN IMMEDIATE)."""
    if not conn.in_transaction:
        raise RuntimeError("sequence numbers are allocated inside the spool's transaction")
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_KEY,)).fetchone()
    seq = int(row[0])
    conn.execute("UPDATE meta SET value = ? WHERE key = ?", (str(seq + 1), _KEY))
    return seq


def peek(conn: sqlite3.Connection) -> int:
    """The number the next snapshot will get (status page, tests)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_KEY,)).fetchone()
    return int(row[0])
