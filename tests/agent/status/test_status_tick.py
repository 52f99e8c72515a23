"""The status server's housekeeping wakes once a second, not ten times, and still stops at once."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent.status import server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_one_tick_a_second_fresh_date_header_and_prompt_stop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ticks: list[float] = []
    on_tick = server._Server.on_tick

    async def counting(self: server._Server, counter: int) -> bool:
        ticks.append(time.monotonic())
        return await on_tick(self, counter)

    monkeypatch.setattr(server._Server, "on_tick", counting)
    app = Starlette(routes=[Route("/", lambda _r: JSONResponse({"ok": True}))])
    port = free_port()
    ready = asyncio.Event()
    task = asyncio.create_task(server.serve_status(app, "127.0.0.1", port, ready))
    await asyncio.wait_for(ready.wait(), 10)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        first = (await http.get("/")).headers["date"]
        await asyncio.sleep(2.2)
        second = (await http.get("/")).headers["date"]
    assert first != second  # the Date header still follows the clock, to the second
    window = [t for t in ticks if t >= ticks[0] + 0.1]
    assert 1 <= len(window) <= 4, f"{len(window)} ticks in ~2.2 s"  # uvicorn alone: ~22
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    assert time.monotonic() - started < 0.5  # a stop request does not wait for the tick
