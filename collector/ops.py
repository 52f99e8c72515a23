"""Operations: /healthz, /metrics (own Prometheus registry) and a one-line access log.

The registry is the application's own (not the global default), so two apps in
one process (tests) never share counters and nothing else leaks into the page.
With several uvicorn workers each process counts its own requests: scrape them
per instance (or put them behind one address and sum). "Agents silent" is read
from the database at scrape time, so it is the same whichever instance answers.
/metrics answers loopback and `ops.metrics_allow` networks, or a signed-in user.

The access log never prints query strings or throughput tokens (they grant
access); one line per request: client, method, path, status, duration.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, func, or_, select, text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.db import READ_ONLY, agents
from collector.web import auth_of, config_of

access_log = logging.getLogger("collector.access")
router = APIRouter(tags=["operations"])
_TOKEN_PATH = re.compile(r"^/v1/throughput/[^/]+")


class SilentAgents:
    """Custom collector: active agents not heard from within the silence threshold."""

    def __init__(self, engine: Engine, silent_after: timedelta) -> None:
        self.engine = engine
        self.silent_after = silent_after

    def collect(self) -> Iterable[Metric]:
        before = datetime.now(UTC) - self.silent_after
        query = select(func.count()).where(
            agents.c.state == "active",
            or_(agents.c.last_seen_at.is_(None), agents.c.last_seen_at < before),
        )
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            count = int(conn.execute(query).scalar_one())
        family = GaugeMetricFamily(
            "socle_agents_silent", "Active agents not heard from within alerts.silent_after_h"
        )
        family.add_metric([], count)
        yield family


class Metrics:
    def __init__(self, engine: Engine, silent_after: timedelta) -> None:
        self.registry = CollectorRegistry()
        self.accepted = Counter(
            "socle_snapshots_accepted",
            "Snapshots answered 2xx, by outcome (stored, duplicate)",
            ["outcome"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "socle_snapshots_rejected",
            "Snapshots refused, by reason (the error code sent to the agent)",
            ["reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "socle_ingest_latency_seconds",
            "Time to verify and durably store one snapshot",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.registry.register(SilentAgents(engine, silent_after))


def _metrics_allowed(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    allowed = config_of(request).ops.metrics_allow
    if address is not None and any(
        address in ipaddress.ip_network(n, strict=False) for n in allowed
    ):
        return True
    return auth_of(request).principal(request) is not None


@router.get("/healthz", summary="Liveness and database reachability")
def healthz(request: Request) -> JSONResponse:
    try:
        with request.app.state.store.engine.connect().execution_options(**READ_ONLY) as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any database failure: unhealthy, and say so without details
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", summary="Prometheus metrics (socle_*)")
def metrics(request: Request) -> Response:
    if not _metrics_allowed(request):
        return JSONResponse({"error": "forbidden"}, status_code=403)
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class AccessLog:
    """ASGI middleware: one line per HTTP request, without query string or tokens."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            client = scope.get("client") or ("-", 0)
            path = _TOKEN_PATH.sub("/v1/throughput/<token>", scope.get("path", ""))
            access_log.info(
                "client=%s method=%s path=%s status=%d ms=%.1f",
                client[0],
                scope.get("method", "-"),
                path[:200],
                status,
                (time.perf_counter() - started) * 1000,
            )
