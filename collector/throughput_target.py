"""A LibreSpeed-compatible throughput target, so the collector can be the far end.

Speaks the LibreSpeed backend protocol (`garbage`, `empty`, `getIP`) under both the
PHP-style paths (`/backend/garbage.php`) and the speedtest-go paths (`/garbage`), so
the agent's HTTP method works unchanged against our collector, a self-hosted
LibreSpeed, or speedtest-go.

Random data must be incompressible (a proxy that compresses would otherwise inflate
the figure) but generating it per request would make the CPU, not the link, the
bottleneck. One 2 MiB buffer of `os.urandom` is made at import; each 1 MiB chunk is a
slice at a random offset. TCP goodput does not care that chunks repeat.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.requests import ClientDisconnect

CHUNK_BYTES = 1024 * 1024  # bytes; LibreSpeed's ckSize unit is 1 MiB
DEFAULT_CHUNKS = 4  # LibreSpeed's default when ckSize is missing
MAX_CHUNKS = 1024  # LibreSpeed's cap: 1 GiB per request
_POOL = os.urandom(2 * CHUNK_BYTES)

NO_STORE_HEADERS = {
    "Cache-Control": "no-store, no-cache, must-revalidate, max-age=0",
    "Pragma": "no-cache",
    # Tells proxies and servers in front of us not to compress (it would be a lie).
    "Content-Encoding": "identity",
}


async def _garbage_stream(chunks: int) -> AsyncIterator[bytes]:
    view = memoryview(_POOL)
    for _ in range(chunks):
        offset = secrets.randbelow(CHUNK_BYTES)
        yield bytes(view[offset : offset + CHUNK_BYTES])


async def garbage(ck_size: int = Query(DEFAULT_CHUNKS, alias="ckSize")) -> Response:
    """`ckSize` chunks of 1 MiB of random bytes (clamped to 1…1024, like LibreSpeed)."""
    chunks = max(1, min(MAX_CHUNKS, ck_size))
    headers = {
        **NO_STORE_HEADERS,
        "Content-Length": str(chunks * CHUNK_BYTES),
        "Content-Disposition": "attachment; filename=random.dat",
        "Content-Transfer-Encoding": "binary",
    }
    return StreamingResponse(
        _garbage_stream(chunks), media_type="application/octet-stream", headers=headers
    )


async def empty(request: Request) -> Response:
    """Reads and discards the upload body (POST), or answers a ping (GET): 200, empty."""
    try:
        async for _chunk in request.stream():
            pass
    except ClientDisconnect:  # the agent aborts uploads when its figure is stable
        return Response(status_code=200)
    return Response(status_code=200, headers={**NO_STORE_HEADERS, "Connection": "keep-alive"})


async def get_ip(request: Request) -> JSONResponse:
    """The client's address as LibreSpeed reports it (no ISP lookup: no outside calls)."""
    address = request.client.host if request.client is not None else "unknown"
    return JSONResponse(
        {"processedString": address, "rawIspInfo": ""},
        headers=NO_STORE_HEADERS,
    )


def create_throughput_router(prefix: str = "") -> APIRouter:
    """Routes under `prefix`, each at `/x`, `/x.php`, `/backend/x` and `/backend/x.php`."""
    router = APIRouter(prefix=prefix, tags=["throughput"])
    for base in ("", "/backend"):
        for suffix in ("", ".php"):
            router.add_api_route(f"{base}/garbage{suffix}", garbage, methods=["GET"])
            router.add_api_route(f"{base}/empty{suffix}", empty, methods=["GET", "POST"])
            router.add_api_route(f"{base}/getIP{suffix}", get_ip, methods=["GET"])
    return router


router = create_throughput_router()
