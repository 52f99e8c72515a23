from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.state import StateStore
from agent.status import create_status_app
from tests.agent.status import school


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    filled = school.fill_store(tmp_path / "state.sqlite3")
    yield filled
    filled.close()


@pytest.fixture
def client(store: StateStore) -> Iterator[TestClient]:
    app = create_status_app(school.settings(), store, school.runtime)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def locked_client(store: StateStore) -> Iterator[TestClient]:
    app = create_status_app(school.settings(password=True), store, school.runtime)
    with TestClient(app) as test_client:
        yield test_client
