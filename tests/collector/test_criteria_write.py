"""Criteria written straight through `write_batch`, on both backends.

What HTTP cannot arrange reliably: two snapshots of one school (two agents) in the
same batch. Only the newer one's criteria must remain: its new ones added, its
changed ones updated, the ones it lacks deleted, even when the older snapshot of
the batch still lists them. On PostgreSQL this runs the sync driver path too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from agent.keys import AgentKey
from agent.snapshot import Assessment, AssessmentSummary, Criterion
from collector.db import assessment_criteria, make_engine
from collector.migrate import upgrade
from collector.store import Store
from collector.writer import IngestItem, write_batch
from tests.collector.fill import ingest_item
from tests.collector.live import new_key, uai
from tests.collector.samples import sample_content

SCHOOL = uai(780001)
NOW = datetime.now(UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _item(key: AgentKey, seq: int, created_at: datetime, *criteria: tuple[str, str]) -> IngestItem:
    listed = [Criterion(id=c, title=f"{c} title", status=s, message="") for c, s in criteria]
    summary = AssessmentSummary(met=0, judged=len(listed))
    content = sample_content(2).model_copy(
        update={"assessment": Assessment(criteria=listed, summary=summary)}
    )
    return ingest_item(key, SCHOOL, seq, content, created_at=created_at)


def _criteria(engine: Engine) -> list[tuple[str, int, str, str]]:
    ac = assessment_criteria
    with engine.connect() as conn:
        rows = conn.execute(select(ac.c.criterion_id, ac.c.position, ac.c.title, ac.c.status))
        return sorted((r.criterion_id, r.position, r.title, r.status) for r in rows)


def test_newest_snapshot_of_a_batch_decides_the_criteria(engine: Engine) -> None:
    store = Store(engine)
    first, second = new_key(), new_key()
    for key in (first, second):
        store.add_agent(SCHOOL, key.public_key_text)

    with engine.begin() as conn:
        write_batch(conn, [_item(first, 1, NOW - timedelta(hours=3), ("a", "met"), ("d", "met"))])
    assert [c[0] for c in _criteria(engine)] == ["a", "d"]

    newer = _item(second, 1, NOW - timedelta(hours=1), ("c", "met"), ("a", "not_met"))
    older = _item(first, 2, NOW - timedelta(hours=2), ("a", "met"), ("b", "met"), ("d", "met"))
    with engine.begin() as conn:
        results = write_batch(conn, [newer, older])
    assert [r.outcome for r in results] == ["stored", "stored"]
    assert _criteria(engine) == [("a", 1, "a title", "not_met"), ("c", 0, "c title", "met")]

    again = _item(second, 2, NOW, ("c", "met"), ("a", "not_met"))  # unchanged: kept as is
    with engine.begin() as conn:
        write_batch(conn, [again])
    assert _criteria(engine) == [("a", 1, "a title", "not_met"), ("c", 0, "c title", "met")]

    emptied = _item(second, 3, NOW + timedelta(minutes=1))
    with engine.begin() as conn:
        write_batch(conn, [emptied])
    assert _criteria(engine) == []
