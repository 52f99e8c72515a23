"""A real collector on loopback (uvicorn in a thread), restartable on the same port.

Used by the collector's tests and by the agent's delivery tests: they talk HTTP
to the same code `socle-collector serve` runs, never to a mock.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from agent.keys import AgentKey
from agent.uai import uai_check_letter
from collector.app import create_app
from collector.config import CollectorConfig
from collector.db import make_engine, snapshots
from collector.migrate import upgrade
from collector.store import Store

HOST = "127.0.0.1"  # loopback only


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def uai(number: int) -> str:
    digits = f"{number:07d}"
    return digits + uai_check_letter(digits)


def new_key() -> AgentKey:
    return AgentKey(Ed25519PrivateKey.generate())


class LiveCollector:
    def __init__(
        self,
        tmp_path: Path,
        *,
        fault_ratio: float = 0.0,
        database_url: str | None = None,
        settings: dict[str, Any] | None = None,
        **ingest: Any,
    ) -> None:
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.config = CollectorConfig.model_validate(
            {
                **(settings or {}),
                "database": {"url": database_url or f"sqlite:///{tmp_path / 'collector.sqlite3'}"},
                "server": {"host": HOST, "port": self.port},
                "ingest": ingest,
            }
        )
        self.fault_ratio = fault_ratio
        self.engine = make_engine(self.config.database.url)
        upgrade(self.engine)  # so agents can be enrolled before the first start
        self.store = Store(self.engine)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> LiveCollector:
        app = create_app(self.config, fault_ratio=self.fault_ratio)
        config = uvicorn.Config(app, host=HOST, port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("collector did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def close(self) -> None:
        """Stop and release the database (PostgreSQL cannot drop a database still in use)."""
        self.stop()
        self.engine.dispose()

    def enrol(self, key: AgentKey, school: str) -> str:
        return self.store.add_agent(school, key.public_key_text)

    def stored(self, agent_id: str) -> list[tuple[int, int, str]]:
        """(id, seq, body) for every snapshot of the agent, in arrival order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(snapshots.c.id, snapshots.c.seq, snapshots.c.body)
                .where(snapshots.c.agent_id == agent_id)
                .order_by(snapshots.c.id)
            ).all()
        return [(int(r.id), int(r.seq), str(r.body)) for r in rows]


@pytest.fixture
def collector(tmp_path: Path) -> Iterator[LiveCollector]:
    """A started collector; import this fixture into test modules outside tests/collector."""
    live = LiveCollector(tmp_path).start()
    yield live
    live.stop()
