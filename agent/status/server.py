"""Run the status app inside the daemon's own asyncio loop, next to APScheduler.

uvicorn's `Server.serve()` would install its own SIGINT/SIGTERM handlers when run on the
main thread, stealing the daemon's clean-shutdown path; this subclass leaves signals
alone. The socket is bound here, before uvicorn starts, so a busy port raises a plain
`OSError` to the caller instead of uvicorn's `sys.exit(1)` inside the daemon's loop.

uvicorn's main loop also wakes ten times a second to see whether it should stop, and
refreshes its `Date` header on every tenth wake. On an idle school box that polling was
most of the daemon's CPU, so ours wakes once a second (the `Date` header still changes
every second, as before) and a stop request wakes it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator

import uvicorn
from starlette.types import ASGIApp

SHUTDOWN_GRACE_S = 3  # open requests get this long on stop; systemd allows 10 s in all
_POLL_S = 0.02  # how often to look whether uvicorn has started
_MAX_CONNECTIONS = 32  # a school LAN page, not a public site; bounds memory on a Pi
_TICK_S = 1.0  # s between uvicorn housekeeping ticks (its own loop: 0.1 s)
_TICKS_PER_S = 10  # uvicorn's on_tick refreshes the Date header when counter % 10 == 0


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._exit_requested = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield  # the daemon owns signals

    def request_exit(self) -> None:
        self.should_exit = True
        self._exit_requested.set()

    async def main_loop(self) -> None:
        """uvicorn's loop at 1 Hz: each tick counts as its once-a-second housekeeping."""
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + _TICKS_PER_S) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit_requested.wait(), _TICK_S)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


async def serve_status(app: ASGIApp, host: str, port: int, ready: asyncio.Event) -> None:
    """Serve until cancelled; `ready` is set once the socket accepts connections.

    Cancel the task to stop: open requests get `SHUTDOWN_GRACE_S`, then the task ends
    with CancelledError as usual.
    """
    sock = bind_socket(host, port)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        proxy_headers=False,
        limit_concurrency=_MAX_CONNECTIONS,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        ws="none",
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="status-page")
    try:
        while not server.started:
            if task.done():
                await task  # re-raise why it stopped
                raise RuntimeError("the status page stopped during start-up")
            await asyncio.sleep(_POLL_S)
        ready.set()
        await asyncio.shield(task)
    except asyncio.CancelledError:
        server.request_exit()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, SHUTDOWN_GRACE_S + 2)
        raise
    finally:
        sock.close()
