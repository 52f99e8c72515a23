"""The per-connection work of the HTTP method: one download or upload stream each.

Each stream loops over LibreSpeed requests (`garbage` down, `empty` up) until it is
cancelled, adding what it moved to a shared counter. Upload is counted at the
receiver when the kernel can tell us: Linux's `TCP_INFO.tcpi_bytes_acked` is what the
far end acknowledged, while bytes handed to the socket include whatever sits in send
buffers and shaper queues (PROTOCOLS.md: sender-side iperf3 read 12–14 Mbit/s on an
8 Mbit/s shaper in its first second).
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import socket
import struct
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from probes.throughput_model import ThroughputError

CHUNK_BYTES = 1024 * 1024  # bytes; the unit of LibreSpeed's ckSize
MAX_CHUNKS = 1024  # LibreSpeed caps ckSize at 1024
UPLOAD_PIECE_BYTES = 64 * 1024  # bytes per write: big enough to be cheap, small to stop fast
UPLOAD_REQUEST_BYTES = 16 * CHUNK_BYTES  # bytes per POST; a stream posts again when done

# struct tcp_info (linux/tcp.h): tcpi_bytes_acked is a u64 at offset 120 (kernel ≥ 4.1).
_TCP_INFO_LEN = 232  # bytes; enough for the fields we read on every kernel since 4.19
_BYTES_ACKED_OFFSET = 120


@functools.cache
def _pieces() -> tuple[bytes, ...]:
    """1 MB of random upload pieces, made on the first upload rather than at import: the
    daemon imports this module for its light probe, which only downloads."""
    count = CHUNK_BYTES // UPLOAD_PIECE_BYTES
    return tuple(os.urandom(UPLOAD_PIECE_BYTES) for _ in range(count))


class SockOpts(Protocol):
    """A socket, or asyncio's TransportSocket wrapper (what anyio hands out)."""

    def getsockopt(self, level: int, option: int, buflen: int) -> bytes: ...

    def setsockopt(self, level: int, option: int, value: bytes) -> None: ...


def bytes_acked(sock: SockOpts) -> int | None:
    """Bytes the peer acknowledged on this TCP socket, or None off Linux / once closed."""
    tcp_info = getattr(socket, "TCP_INFO", None)
    if tcp_info is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, tcp_info, _TCP_INFO_LEN)
    except OSError:
        return None
    if len(raw) < _BYTES_ACKED_OFFSET + 8:
        return None
    value: int = struct.unpack_from("=Q", raw, _BYTES_ACKED_OFFSET)[0]
    return value


def abort_on_close(sock: SockOpts) -> None:
    """SO_LINGER 0: closing sends RST and drops queued data, so a stopped upload stops now."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@dataclass
class ByteCounter:
    """Bytes moved by all streams of one direction.

    `moved` counts application bytes (received down, handed to the socket up);
    `sockets` lets upload read receiver-acknowledged bytes instead.
    """

    moved: int = 0
    sockets: dict[int, tuple[SockOpts, int, int]] = field(default_factory=dict)

    def watch(self, sock: SockOpts) -> None:
        """Starts counting acknowledged bytes on a new connection (from its current value)."""
        if id(sock) not in self.sockets:
            start = bytes_acked(sock) or 0
            self.sockets[id(sock)] = (sock, start, start)
            abort_on_close(sock)

    def acked(self) -> int | None:
        """Receiver-acknowledged bytes over all watched sockets, or None if unknown."""
        if not self.sockets:
            return None
        total = 0
        for key, (sock, start, last) in list(self.sockets.items()):
            now = bytes_acked(sock)
            if now is None:
                now = last  # closed: keep what it had acknowledged
            else:
                self.sockets[key] = (sock, start, now)
            total += now - start
        return total

    def receiver_bytes(self) -> int:
        """Best figure for what reached the far end (acked if known, else moved)."""
        acked = self.acked()
        return self.moved if acked is None else acked


def make_trace(counter: ByteCounter) -> Any:
    """An httpcore trace hook that hands every new TCP connection's socket to `counter`."""

    async def trace(event: str, info: Mapping[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None and hasattr(sock, "getsockopt"):
                counter.watch(sock)

    return trace


def _check_status(response: httpx.Response, what: str) -> None:
    """Anything but 200 is a refusal to measure: never follow a redirect elsewhere."""
    if response.is_redirect:
        where = response.headers.get("location", "?")
        raise ThroughputError(
            f"{what}: redirected ({response.status_code}) to {where}; not followed"
        )
    if response.status_code != 200:
        raise ThroughputError(f"{what}: HTTP {response.status_code} from {response.url}")


def cache_buster() -> str:
    return secrets.token_hex(6)


async def download_stream(
    client: httpx.AsyncClient,
    url: str,
    counter: ByteCounter,
    chunks: int,
    trace: Any,
    limit: int,
) -> None:
    """GET garbage repeatedly, counting bytes as they arrive, until cancelled or `limit`
    bytes (all streams together) have arrived: the per-test byte budget is a hard cap."""
    chunks = max(1, min(MAX_CHUNKS, chunks))
    while counter.moved < limit:
        params = {"ckSize": str(chunks), "r": cache_buster()}
        request = client.build_request("GET", url, params=params, extensions={"trace": trace})
        response = await client.send(request, stream=True)
        try:
            _check_status(response, "download")
            announced = response.headers.get("content-length")
            got = 0
            async for piece in response.aiter_raw():
                got += len(piece)
                counter.moved += len(piece)
                if counter.moved >= limit:
                    return
            if announced is not None and announced.isdigit() and got < int(announced):
                raise ThroughputError(f"download: got {got} of {announced} announced bytes")
            if got == 0:
                raise ThroughputError("download: target sent an empty body")
        finally:
            await response.aclose()


async def _upload_body(size: int, counter: ByteCounter) -> AsyncIterator[bytes]:
    sent = 0
    pieces = _pieces()
    index = secrets.randbelow(len(pieces))
    while sent < size:
        piece = pieces[index % len(pieces)]
        piece = piece[: size - sent]
        index += 1
        sent += len(piece)
        counter.moved += len(piece)
        yield piece


async def upload_stream(
    client: httpx.AsyncClient, url: str, counter: ByteCounter, size: int, trace: Any, limit: int
) -> None:
    """POST random bytes to `empty` repeatedly until cancelled or `limit` bytes are sent."""
    while True:
        size = min(size, limit - counter.moved)
        if size <= 0:
            return
        request = client.build_request(
            "POST",
            url,
            params={"r": cache_buster()},
            content=_upload_body(size, counter),
            headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
            extensions={"trace": trace},
        )
        response = await client.send(request)
        _check_status(response, "upload")


def describe_http_error(exc: BaseException, target: str) -> str:
    """One line an operator understands, from whatever httpx or the stream raised."""
    if isinstance(exc, ThroughputError):
        return str(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        return f"cannot connect to {target}: timed out"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {target}: {exc or 'connection refused'}"
    if isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout):
        return f"target {target} stalled: no data moved within the stall timeout"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"target {target} broke the transfer (fewer bytes than announced?): {exc}"
    if isinstance(exc, httpx.HTTPError):
        return f"HTTP error with {target}: {type(exc).__name__}: {exc}"
    if isinstance(exc, OSError):
        return f"network error with {target}: {exc}"
    return f"unexpected {type(exc).__name__} with {target}: {exc}"
