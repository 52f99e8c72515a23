"""Loopback peers for the throughput tests: a real target and hostile ones.

The real target is `collector.throughput_target` under uvicorn on 127.0.0.1. The
hostile server is a few lines of raw HTTP/1.1 over asyncio so it can lie in ways a
framework would not let it: announce more bytes than it sends, stall after the
headers, redirect elsewhere. Everything binds to 127.0.0.1 with a kernel-chosen port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Literal

import uvicorn
from fastapi import FastAPI

from collector.throughput_target import create_throughput_router

Mode = Literal["ok", "404", "500", "redirect", "short", "stall", "empty_body", "slow_start"]


@contextlib.contextmanager
def serve_app(app: FastAPI) -> Iterator[str]:
    """Runs `app` under uvicorn in a thread on 127.0.0.1; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def librespeed_target(prefix: str = "") -> Iterator[str]:
    app = FastAPI()
    app.include_router(create_throughput_router(prefix))
    with serve_app(app) as url:
        yield url + prefix


def free_port() -> int:
    """A port nothing listens on (bound then closed): connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _hostile_handler(
    mode: Mode, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            if mode in ("404", "500"):
                writer.write(f"HTTP/1.1 {mode} No\r\nContent-Length: 0\r\n\r\n".encode())
            elif mode == "redirect":
                writer.write(
                    b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere.invalid/\r\n"
                    b"Content-Length: 0\r\n\r\n"
                )
            elif "/empty" in path or mode == "ok":
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            else:
                await _garbage(mode, writer)
                return
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def _garbage(mode: Mode, writer: asyncio.StreamWriter) -> None:
    announced = 100 * 1024 * 1024
    if mode == "empty_body":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(30)
        return
    writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {announced}\r\n\r\n".encode())
    block = b"\x5a" * 65536
    for _ in range(16):  # 1 MiB, then lie
        writer.write(block)
        await writer.drain()
    if mode == "stall":
        await asyncio.sleep(60)
    # "short": close after 1 MiB of 100 announced


@contextlib.asynccontextmanager
async def hostile_server(mode: Mode) -> AsyncIterator[str]:
    """A server on 127.0.0.1 that misbehaves as `mode` says; yields its base URL."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await _hostile_handler(mode, reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


@contextlib.asynccontextmanager
async def silent_tcp_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word (a hung iperf3 or web server)."""
    held: list[asyncio.StreamWriter] = []

    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in held:
            writer.close()
        server.close()
