"""The Alembic migrations build exactly the schema the code declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from collector.db import make_engine, metadata
from collector.migrate import current_revision, head_revision, upgrade


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
