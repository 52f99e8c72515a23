"""Every database-backed collector test runs twice: on SQLite and on PostgreSQL.

`db_url` (a fresh database per test) and `module_db_url` (one per module, for
module-scoped live collectors) are parametrised by `backend`; the PostgreSQL
variants carry the `postgres` marker, so `-m "not postgres"` runs SQLite alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.collector.live import collector
from tests.collector.postgres import Cluster, postgres_cluster

__all__ = ["collector", "postgres_cluster"]

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def _new_url(request: pytest.FixtureRequest, backend: str, directory: Path) -> str:
    if backend == "postgres":
        cluster: Cluster = request.getfixturevalue("postgres_cluster")
        return cluster.database()
    return f"sqlite:///{directory / 'collector.sqlite3'}"


@pytest.fixture
def db_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    return _new_url(request, backend, tmp_path)


@pytest.fixture(scope="module")
def module_db_url(
    request: pytest.FixtureRequest, backend: str, tmp_path_factory: pytest.TempPathFactory
) -> str:
    return _new_url(request, backend, tmp_path_factory.mktemp("db"))
