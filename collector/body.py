"""Reading request bodies without trusting their size: caps before and after gunzip.

A 1 KiB gzip body can inflate to gigabytes (a "gzip bomb"), so decompression is
streamed with an output cap and stops as soon as the cap is passed; nothing
larger than the cap plus one chunk is ever held in memory.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from collector.verify import Rejection

_CHUNK = 64 * 1024


def too_large(limit: int, what: str) -> Rejection:
    return Rejection(413, "too_large", f"{what} exceeds {limit} bytes")


async def read_capped(stream: AsyncIterator[bytes], declared: str | None, limit: int) -> bytes:
    """The whole body, or 413 as soon as it (or its Content-Length) passes `limit`."""
    if declared is not None:
        if not declared.strip().isdigit():
            raise Rejection(400, "bad_length", "Content-Length is not a number")
        if int(declared) > limit:
            raise too_large(limit, "body")
    parts: list[bytes] = []
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise too_large(limit, "body")
        parts.append(chunk)
    return b"".join(parts)


def gunzip_capped(body: bytes, limit: int) -> bytes:
    """Decompress one gzip member into at most `limit` bytes, or raise Rejection."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out: list[bytes] = []
    size = 0
    data = body
    try:
        while not inflater.eof:
            chunk = inflater.decompress(data, _CHUNK)
            size += len(chunk)
            if size > limit:
                raise too_large(limit, "decompressed body")
            out.append(chunk)
            data = inflater.unconsumed_tail
            if not chunk and not data:
                break  # input exhausted without reaching the end of the stream
        if not inflater.eof:
            raise Rejection(400, "bad_encoding", "gzip body is truncated")
        if inflater.unused_data:
            raise Rejection(400, "bad_encoding", "data after the end of the gzip body")
    except zlib.error:
        raise Rejection(400, "bad_encoding", "body is not valid gzip") from None
    return b"".join(out)
