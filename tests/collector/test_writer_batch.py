"""Outcomes inside one batch, through `write_batch`, on both backends.

PostgreSQL decides fresh nonces and new snapshots in one statement, SQLite in two;
both must give each item the same outcome: the first fresh copy of a (agent, seq)
is stored, a repeated nonce is a replay, a resend is a duplicate of the stored
id, other content under a stored number a conflict.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from collector.db import snapshots
from collector.writer import IngestItem, IngestResult, write_batch
from tests.collector.fill import engine_with_agent, ingest_item
from tests.collector.live import new_key, uai
from tests.collector.samples import sample_content

SCHOOL = uai(780101)
NOW = datetime.now(UTC)
KEY = new_key()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with engine_with_agent(db_url, SCHOOL, KEY) as engine:
        yield engine


def _item(seq: int, devices: int = 2) -> IngestItem:
    return ingest_item(KEY, SCHOOL, seq, sample_content(devices), created_at=NOW)


def _write(engine: Engine, items: list[IngestItem]) -> list[IngestResult]:
    with engine.begin() as conn:
        return write_batch(conn, items)


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(snapshots)).scalar_one())


def test_outcomes_within_one_batch(engine: Engine) -> None:
    one, two = _item(1), _item(2)
    resend = replace(one, nonce=one.nonce + "x")  # same snapshot, signed again
    other = replace(_item(1, devices=3), nonce=one.nonce + "y")  # other content, same seq
    reused = replace(two, nonce=one.nonce)  # a second request with the first one's nonce
    results = _write(engine, [one, resend, other, reused])
    assert [r.outcome for r in results] == ["stored", "duplicate", "conflict", "replay"]
    assert results[1].snapshot_id == results[2].snapshot_id == results[0].snapshot_id
    assert _stored(engine) == 1


def test_outcomes_against_an_earlier_batch(engine: Engine) -> None:
    one = _item(1)
    (first,) = _write(engine, [one])
    replayed = replace(_item(2), nonce=one.nonce)  # a used nonce: refused whatever it carries
    fresh_copy = replace(replayed, nonce=one.nonce + "z")  # the same snapshot, a fresh nonce
    resend = replace(one, nonce=one.nonce + "w")
    results = _write(engine, [replayed, fresh_copy, resend])
    assert [r.outcome for r in results] == ["replay", "stored", "duplicate"]
    assert results[2].snapshot_id == first.snapshot_id
    assert _stored(engine) == 2
