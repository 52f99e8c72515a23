"""A LibreSpeed-compatible throughput target, so the collector can be the far end.

Speaks the LibreSpeed backend protocol (`garbage`, `empty`, `getIP`) under both the
PHP-style paths (`/backend/garbage.php`) and the speedtest-go paths (`/garbage`), so
the agent's HTTP method works unchanged against our collector, a self-hosted
LibreSpeed, or speedtest-go.

Random data must be incompressible (a proxy that compresses would otherwise inflate
the figure) but generating it per request would make the CPU, not the link, the
bottleneck. One 2 MiB buffer of `os.urandom` is made at import; each 1 MiB chunk is a
slice at a random offset. TCP goodput does not care that chunks repeat.

The collector mounts `create_guarded_router()`: enrolled agents only (signature or
token, see collector/target_auth.py) and a per-agent budget. The open module-level
`router` is for a standalone lab target (the test rig), never for a public host.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from collector.verify import Rejection

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


router = create_throughput_router()  # open: lab and rig use only


def _refusal(rejection: Rejection) -> JSONResponse:
    headers = dict(NO_STORE_HEADERS)
    retry = rejection.extra.get("retry_after_s")
    if retry is not None:
        headers["Retry-After"] = str(retry)
    return JSONResponse(rejection.body(), status_code=rejection.status, headers=headers)


async def _authorise(request: Request, mib: float) -> JSONResponse | None:
    """None when an enrolled agent may spend `mib` MiB now; else the refusal to send."""
    guard = request.app.state.target_guard
    token = request.path_params.get("token")
    try:
        if token is not None:
            agent_id = await run_in_threadpool(guard.agent_from_token, token)
        else:
            uri = request.app.state.ingest.target_uri(request)
            agent_id = await run_in_threadpool(guard.agent_from_signature, request, uri)
        await run_in_threadpool(guard.charge, agent_id, mib)
    except Rejection as rejection:
        return _refusal(rejection)
    return None


async def guarded_garbage(
    request: Request, ck_size: int = Query(DEFAULT_CHUNKS, alias="ckSize")
) -> Response:
    """`garbage`, capped at `throughput.max_chunks` MiB per request for enrolled agents."""
    chunks = max(1, min(request.app.state.config.throughput.max_chunks, ck_size))
    return await _authorise(request, chunks) or await garbage(chunks)


async def guarded_empty(request: Request) -> Response:
    declared = request.headers.get("content-length", "0")
    mib = int(declared) / CHUNK_BYTES if declared.isdigit() else 1.0
    return await _authorise(request, mib if request.method == "POST" else 0.0) or await empty(
        request
    )


async def guarded_get_ip(request: Request) -> Response:
    return await _authorise(request, 0.0) or await get_ip(request)


def create_guarded_router() -> APIRouter:
    """The same endpoints, signed (`/garbage`…) or with a token (`/v1/throughput/<t>/…`).

    Only the plain signed paths appear in the OpenAPI page; the aliases are the
    same operations under the names LibreSpeed clients expect.
    """
    guarded = APIRouter(tags=["throughput"])
    for prefix in ("", "/v1/throughput/{token}"):
        for base in ("", "/backend"):
            for suffix in ("", ".php"):
                path = f"{prefix}{base}"
                shown = not (prefix or base or suffix)
                routes = [
                    ("garbage", guarded_garbage, "GET"),
                    ("empty", guarded_empty, "GET"),
                    ("empty", guarded_empty, "POST"),
                    ("getIP", guarded_get_ip, "GET"),
                ]
                for name, handler, method in routes:
                    guarded.add_api_route(
                        f"{path}/{name}{suffix}",
                        handler,
                        methods=[method],
                        include_in_schema=shown,
                        operation_id=f"throughput_{name}_{method.lower()}" if shown else None,
                    )
    return guarded
