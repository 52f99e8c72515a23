"""The Alembic migrations build exactly the schema the code declares."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from collector.db import agents, make_engine, metadata, schools, snapshots
from collector.migrate import current_revision, head_revision, upgrade
from tests.collector.postgres import Cluster

SCHOOL = "0750001A"
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def test_migrations_match_the_metadata(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    assert diff == []
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= {
        "schools",
        "agents",
        "enrolment_tokens",
        "snapshots",
        "nonces",
        "measurements",
        "devices",
        "assessments",
        "assessment_criteria",
        "school_summary",
    }
    engine.dispose()


def test_downgrade_to_the_first_revision_and_back(db_url: str) -> None:
    from alembic import command

    from collector.migrate import alembic_config

    engine = make_engine(db_url)
    upgrade(engine)
    command.downgrade(alembic_config(engine), "0001")
    assert current_revision(engine) == "0001"
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_upgrade_is_idempotent_and_sqlite_is_wal(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.sqlite3'}")
    upgrade(engine)
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2


@pytest.mark.postgres
def test_postgres_compresses_new_snapshot_bodies_with_lz4(postgres_cluster: Cluster) -> None:
    """Migration 0004 (PostgreSQL only: SQLite does not compress), checked on a stored
    body by the server's own accounting."""
    engine = make_engine(postgres_cluster.database())
    upgrade(engine)
    body = json.dumps({"devices": [{"name": f"projector {i}"} for i in range(400)]})
    with engine.begin() as conn:
        lz4 = conn.exec_driver_sql(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
        ).scalar()
        conn.execute(schools.insert().values(uai=SCHOOL, created_at=NOW))
        conn.execute(
            agents.insert().values(
                agent_id="a1",
                uai=SCHOOL,
                public_key="k1",
                state="active",
                enrolled_via="manual",
                created_at=NOW,
            )
        )
        conn.execute(
            snapshots.insert().values(
                agent_id="a1",
                seq=1,
                uai=SCHOOL,
                schema_version=1,
                created_at=NOW,
                received_at=NOW,
                body_sha256="0" * 64,
                body=body,
            )
        )
        method = conn.exec_driver_sql("SELECT pg_column_compression(body) FROM snapshots").scalar()
    engine.dispose()
    assert method == ("lz4" if lz4 else "pglz")


def test_device_list_columns_start_from_the_latest_snapshot(db_url: str) -> None:
    """Migration 0005: a summary written before it says its devices are those of its
    latest snapshot (as they were), with no digest, so the next snapshot writes its list."""
    from sqlalchemy import select

    from collector.db import school_summary
    from collector.store import Store
    from collector.writer import write_batch
    from tests.collector.fill import ingest_item
    from tests.collector.live import new_key, uai
    from tests.collector.samples import sample_content

    school, key = uai(790201), new_key()
    engine = make_engine(db_url)
    upgrade(engine, "0004")
    Store(engine).add_agent(school, key.public_key_text)
    first = ingest_item(key, school, 1, sample_content(2), created_at=NOW)
    assert first.derived is not None
    old_columns = {k: v for k, v in first.derived.summary.items() if k != "devices_digest"}
    with engine.begin() as conn:
        conn.execute(school_summary.insert().values(**old_columns, snapshot_id=1))
    upgrade(engine)
    query = select(school_summary.c.devices_digest, school_summary.c.devices_at)
    with engine.connect() as conn:
        assert tuple(conn.execute(query).one()) == (None, NOW)
    later = ingest_item(key, school, 2, sample_content(2), created_at=NOW.replace(hour=9))
    with engine.begin() as conn:
        write_batch(conn, [later])
    assert later.derived is not None
    with engine.connect() as conn:
        digest, devices_at = conn.execute(query).one()
    assert (digest, devices_at) == (later.derived.summary["devices_digest"], later.created_at)
    engine.dispose()
