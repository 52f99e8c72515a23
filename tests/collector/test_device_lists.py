"""A school's device list is written when it changes, and only by its newest snapshot.

Through `write_batch` on both backends (the writer the ingest route uses), then read
back as the school page reads it (`school_view`): which rows exist, what they hold,
and which the page marks as absent from the latest report.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from agent.snapshot import InfrastructureDevice, SnapshotContent
from collector.config import AlertSettings
from collector.db import devices, make_engine, school_summary
from collector.derive import DIGESTED_COLUMNS, device_row, devices_digest
from collector.migrate import upgrade
from collector.school_query import school_view
from collector.store import Store
from collector.writer import IngestItem, write_batch
from tests.collector.fill import engine_with_agent, ingest_item
from tests.collector.live import new_key, uai
from tests.collector.samples import sample_content

SCHOOL = uai(790101)
KEY = new_key()
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    with engine_with_agent(db_url, SCHOOL, KEY) as engine:
        yield engine


def _with_devices(content: SnapshotContent, infra: list[InfrastructureDevice]) -> SnapshotContent:
    inventory = content.inventory.model_copy(update={"infrastructure": infra})
    return content.model_copy(update={"inventory": inventory})


def _renamed(content: SnapshotContent, suffix: str) -> SnapshotContent:
    infra = content.inventory.infrastructure
    return _with_devices(content, [d.model_copy(update={"name": d.name + suffix}) for d in infra])


def _item(seq: int, content: SnapshotContent, minutes: int) -> IngestItem:
    return ingest_item(KEY, SCHOOL, seq, content, created_at=T0 + timedelta(minutes=minutes))


def _write(engine: Engine, *items: IngestItem) -> None:
    with engine.begin() as conn:
        results = write_batch(conn, list(items))
    assert {r.outcome for r in results} == {"stored"}


def _rows(engine: Engine) -> dict[str, tuple[str, datetime]]:
    """mac → (name, reported_at)."""
    query = select(devices.c.mac, devices.c.name, devices.c.reported_at)
    with engine.connect() as conn:
        return {r.mac: (r.name, r.reported_at) for r in conn.execute(query)}


def _summary(engine: Engine) -> tuple[datetime, datetime]:
    """(snapshot_at, devices_at)."""
    query = select(school_summary.c.snapshot_at, school_summary.c.devices_at)
    with engine.connect() as conn:
        row = conn.execute(query).one()
    return row.snapshot_at, row.devices_at


def _absent(engine: Engine) -> set[str]:
    view = school_view(engine, SCHOOL)
    assert view is not None
    return {d["mac"] for d in view.devices if not d["in_latest"]}


def test_an_unchanged_list_writes_no_device_row(engine: Engine) -> None:
    content = sample_content(4)
    _write(engine, _item(1, content, 0))
    first = _rows(engine)
    _write(engine, _item(2, content, 15))
    _write(engine, _item(3, content, 30))
    assert _rows(engine) == first  # not rewritten: still the first report's time
    assert {at for _, at in first.values()} == {T0}
    assert _summary(engine) == (T0 + timedelta(minutes=30), T0)
    assert _absent(engine) == set()  # all four are in the latest report


def test_a_changed_list_is_written_and_what_it_dropped_shows_absent(engine: Engine) -> None:
    content = sample_content(5)
    _write(engine, _item(1, content, 0))
    kept = content.inventory.infrastructure[:3]
    smaller = _renamed(_with_devices(content, kept), "-b")
    _write(engine, _item(2, smaller, 15))
    rows = _rows(engine)
    later = T0 + timedelta(minutes=15)
    assert {rows[d.mac] for d in kept} == {(d.name + "-b", later) for d in kept}
    assert len(rows) == 5
    assert _summary(engine) == (later, later)
    dropped = {d.mac for d in content.inventory.infrastructure[3:]}
    assert _absent(engine) == dropped


def test_a_late_older_snapshot_only_adds_devices_never_seen(engine: Engine) -> None:
    """t0 and t30 report list A (t30 writes nothing); t15, late, reports A renamed
    plus two more: A keeps its names, the two are added but shown absent."""
    content = sample_content(3)
    _write(engine, _item(1, content, 0))
    _write(engine, _item(3, content, 30))
    late = _renamed(sample_content(5), "-late")
    late = _with_devices(
        late,
        [*_renamed(content, "-late").inventory.infrastructure, *late.inventory.infrastructure[3:]],
    )
    _write(engine, _item(2, late, 15))
    rows = _rows(engine)
    assert {rows[d.mac][0] for d in content.inventory.infrastructure} == {
        d.name for d in content.inventory.infrastructure
    }
    assert len(rows) == 5
    assert _summary(engine) == (T0 + timedelta(minutes=30), T0)
    assert _absent(engine) == {d.mac for d in late.inventory.infrastructure[3:]}


def test_two_snapshots_of_a_school_in_one_batch(engine: Engine) -> None:
    """The newer one's list is the school's; the older one only adds what it alone saw."""
    content = sample_content(4)
    newer = _renamed(_with_devices(content, content.inventory.infrastructure[:2]), "-new")
    _write(engine, _item(2, newer, 15), _item(1, content, 0))
    rows = _rows(engine)
    later = T0 + timedelta(minutes=15)
    assert {rows[d.mac] for d in newer.inventory.infrastructure} == {
        (d.name, later) for d in newer.inventory.infrastructure
    }
    assert len(rows) == 4
    assert _summary(engine) == (later, later)
    assert _absent(engine) == {d.mac for d in content.inventory.infrastructure[2:]}


def test_the_digest_covers_every_column_but_school_and_report_time() -> None:
    assert {*DIGESTED_COLUMNS, "first_seen", "last_seen", "uai", "reported_at"} == set(
        devices.c.keys()
    )
    content = sample_content(3)
    rows = [device_row(d, AlertSettings(), SCHOOL, T0) for d in content.inventory.infrastructure]
    digest = devices_digest(rows)
    elsewhere = [{**r, "uai": uai(790102), "reported_at": T0 + timedelta(1)} for r in rows]
    assert devices_digest(elsewhere) == digest
    for column in [*DIGESTED_COLUMNS, "first_seen", "last_seen"]:
        value = rows[1][column]
        if isinstance(value, datetime):
            changed: object = value + timedelta(microseconds=1)
        elif isinstance(value, bool):
            changed = not value
        elif isinstance(value, str):
            changed = value + "x"
        else:
            changed = 7 if value is None else value + 1
        assert devices_digest([rows[0], {**rows[1], column: changed}, rows[2]]) != digest, column
    laxer = AlertSettings(toner_low_percent=5.0)  # decides toner_low: part of the rows
    lax_rows = [device_row(d, laxer, SCHOOL, T0) for d in content.inventory.infrastructure]
    assert devices_digest(lax_rows) != digest


@pytest.mark.postgres
def test_concurrent_batches_of_a_school_take_turns(postgres_cluster: object) -> None:
    """PostgreSQL: a batch holds its schools' summaries locked until it commits, so a
    late snapshot arriving meanwhile is judged against what that batch wrote.

    Without the lock, the late snapshot (t15, list B) would be judged against t0,
    found newer and different, and its list would replace the t30 one (list A).
    """
    from tests.collector.postgres import Cluster

    assert isinstance(postgres_cluster, Cluster)
    engine = make_engine(postgres_cluster.database())
    try:
        upgrade(engine)
        Store(engine).add_agent(SCHOOL, KEY.public_key_text)
        content = sample_content(3)
        _write(engine, _item(1, content, 0))
        late = _renamed(content, "-late")
        errors: list[BaseException] = []

        def write_late() -> None:
            try:
                _write(engine, _item(2, late, 15))
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        with engine.begin() as first:
            write_batch(first, [_item(3, content, 30)])  # t30, list A: nothing to write
            waiting = threading.Thread(target=write_late)
            waiting.start()
            waiting.join(timeout=1.0)
            assert waiting.is_alive()  # blocked on the school's summary row
        waiting.join(timeout=30)
        assert not waiting.is_alive() and not errors
        assert {name for name, _ in _rows(engine).values()} == {
            d.name for d in content.inventory.infrastructure
        }
        assert _summary(engine) == (T0 + timedelta(minutes=30), T0)
    finally:
        engine.dispose()
