"""serve_status runs inside an existing loop, signals readiness and stops on cancel."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path

import httpx
import pytest

from agent.state import StateStore
from agent.status import create_status_app, serve_status
from tests.agent.status import school


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_serve_ready_and_cancel(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    app = create_status_app(school.settings(), store, school.runtime)
    ready = asyncio.Event()
    port = free_port()
    handler_before = signal.getsignal(signal.SIGTERM)
    task = asyncio.create_task(serve_status(app, "127.0.0.1", port, ready))
    await asyncio.wait_for(ready.wait(), 10)
    assert signal.getsignal(signal.SIGTERM) is handler_before  # the daemon keeps its signals
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        response = await http.get("/api/v1/status")
        assert response.status_code == 200 and "server" not in response.headers
        assert response.json()["school"]["uai"] == "0751234J"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # the port is closed again
    store.close()


async def test_busy_port_raises(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    app = create_status_app(school.settings(), store, school.runtime)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ready = asyncio.Event()
        with pytest.raises(OSError):
            await serve_status(app, "127.0.0.1", taken.getsockname()[1], ready)
        assert not ready.is_set()
    store.close()


async def test_real_server_refuses_without_password(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    app = create_status_app(school.settings(password=True), store, school.runtime)
    ready = asyncio.Event()
    port = free_port()
    task = asyncio.create_task(serve_status(app, "127.0.0.1", port, ready))
    await asyncio.wait_for(ready.wait(), 10)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        head = await http.head("/")
        assert head.status_code == 401 and head.content == b""
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.post("/", content=b"x")).status_code == 405
        ok = await http.get("/metrics", auth=("prometheus", school.PASSWORD))
        assert ok.status_code == 200 and "socle_spool_depth" in ok.text
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    store.close()


def test_public_surface() -> None:
    import agent.status

    assert sorted(agent.status.__all__) == [
        "DataBudget",
        "RuntimeInfo",
        "SpoolStats",
        "create_status_app",
        "serve_status",
    ]
