"""`POST /v1/snapshots`, `POST /v1/enroll`, `GET /v1/schema`: the agents' side of the API.

Order of checks, cheapest and least trusting first: size (413) → signature
shape, key, clock, signature (401) → digest (400) → decompression with a cap
(413) → JSON and schema (422) → store, where the nonce and (agent, seq) are
checked by the database (401 replay, 200 duplicate, 409 conflict). Every refusal
is a `Rejection` turned into JSON here; bad input never reaches a 5xx.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from agent.keys import fingerprint, parse_public_key
from agent.snapshot import Snapshot, json_schema
from agent.uai import validate_uai
from collector.body import gunzip_capped, read_capped
from collector.config import CollectorConfig
from collector.derive import derive
from collector.group_commit import SnapshotWriter
from collector.store import EnrolmentRefused, Store
from collector.verify import KeyRecord, Rejection, Verified, verify_request
from collector.writer import IngestItem

log = logging.getLogger(__name__)

ENROL_MAX_BYTES = 16 * 1024
GRANT_REUSE_S = 60.0  # a throughput grant is handed out again for this long at most
_URI_CACHE_LIMIT = 256  # request lines are the agents' few URLs; anything else is noise
_GRANT_CACHE_LIMIT = 100_000  # about one per agent
_CACHED_HOST_MAX = 255  # longer Host headers (no DNS name is) are not cached
_CACHED_KEY_MAX = 512  # host, path and query of a cached request line, in characters
NONCE_MARGIN_S = 60.0  # nonces outlive the clock window, so a replay meets one or the other

router = APIRouter()


def first_error(exc: ValidationError) -> Rejection:
    """422 naming the first offending field, as a dotted path (`inventory.infrastructure.3.mac`)."""
    error = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or "body"
    return Rejection(422, "invalid_snapshot", f"{field}: {error['msg']}", field=field)


class IngestService:
    def __init__(self, config: CollectorConfig, store: Store, writer: SnapshotWriter) -> None:
        self.config = config
        self.store = store
        self.writer = writer
        self.schema = json_schema()
        self._uris: dict[tuple[Any, ...], str] = {}
        self._grants: dict[tuple[Any, ...], tuple[float, dict[str, str]]] = {}

    def target_uri(self, request: Request) -> str:
        """The URI the agent signed. Cached per distinct request line and host: building
        Starlette's URL object cost ~25 µs per snapshot for the same few strings."""
        scope = request.scope
        host = request.headers.get("host", "")
        key = (
            scope.get("scheme"),
            host,
            scope.get("server"),
            scope.get("root_path", ""),
            scope["path"],
            scope.get("query_string", b""),
        )
        found = self._uris.get(key)
        if found is None:
            found = self._target_uri(request)
            # Keys come from unauthenticated requests: only short ones are kept.
            if len(host) + len(scope["path"]) + len(key[5]) <= _CACHED_KEY_MAX:
                if len(self._uris) >= _URI_CACHE_LIMIT:
                    self._uris.clear()
                self._uris[key] = found
        return found

    def _target_uri(self, request: Request) -> str:
        public = self.config.server.public_url
        if public is None:
            return str(request.url)
        query = request.url.query
        return public + request.url.path + (f"?{query}" if query else "")

    @staticmethod
    def signed_headers(request: Request) -> dict[str, str]:
        """RFC 9421 §2.1: repeated field lines are combined with ", "."""
        return {name: ", ".join(request.headers.getlist(name)) for name in set(request.headers)}

    async def verify(
        self, request: Request, body: bytes, lookup: Any = None
    ) -> tuple[Verified, dict[str, str]]:
        headers = self.signed_headers(request)
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise Rejection(415, "unsupported_media_type", "Content-Type must be application/json")
        verified = verify_request(
            method=request.method,
            target_uri=self.target_uri(request),
            headers=headers,
            body=body,
            lookup_key=lookup or self.store.lookup_key,
            now=time.time(),
            max_skew_s=self.config.ingest.max_clock_skew_s,
        )
        return verified, headers

    def decoded(self, request: Request, body: bytes) -> bytes:
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding == "gzip":
            return gunzip_capped(body, self.config.ingest.max_body_bytes)
        if encoding == "identity":
            return body
        raise Rejection(415, "unsupported_encoding", "Content-Encoding must be gzip or identity")

    async def snapshot(self, request: Request) -> tuple[int, dict[str, Any]]:
        limit = self.config.ingest.max_body_bytes
        body = await read_capped(request.stream(), request.headers.get("content-length"), limit)
        verified, _ = await self.verify(request, body)
        raw = self.decoded(request, body)
        try:
            snapshot = Snapshot.model_validate_json(raw)
        except ValidationError as exc:
            raise first_error(exc) from None
        if snapshot.agent_id != verified.agent_id:
            raise Rejection(
                422, "invalid_snapshot", "agent_id: not the signing key's id", field="agent_id"
            )
        if snapshot.uai != verified.uai:
            raise Rejection(
                422,
                "invalid_snapshot",
                f"uai: this agent is enrolled for {verified.uai}",
                field="uai",
            )
        received_at = datetime.now(UTC)
        item = IngestItem(
            agent_id=verified.agent_id,
            seq=snapshot.seq,
            uai=snapshot.uai,
            schema_version=snapshot.schema_version,
            created_at=snapshot.created_at,
            received_at=received_at,
            body=raw.decode("utf-8"),
            body_sha256=hashlib.sha256(raw).hexdigest(),
            nonce=verified.nonce,
            nonce_expires_at=verified.created
            + self.config.ingest.max_clock_skew_s
            + NONCE_MARGIN_S,
            skew_s=verified.skew_s,
            derived=derive(
                snapshot,
                received_at=received_at,
                skew_s=verified.skew_s,
                alerts=self.config.alerts,
                has_nul=b"\\u0000" in raw,
            ),
        )
        result = await self.writer.submit(item)
        if result.outcome == "replay":
            raise Rejection(401, "replay", "nonce already used")
        if result.outcome == "conflict":
            raise Rejection(
                409, "seq_conflict", f"seq {snapshot.seq} was already stored with other content"
            )
        status = 201 if result.outcome == "stored" else 200
        return status, {
            "id": result.snapshot_id,
            "seq": snapshot.seq,
            "status": result.outcome,
            "agent_id": verified.agent_id,
        }

    def throughput_grant(self, request: Request, agent_id: str) -> dict[str, str]:
        """A short-lived base URL for the throughput target (LibreSpeed paths under it).

        An agent's grant is reused for a minute at most (a tenth of the token's life if
        that is shorter), so every agent still holds a token good for nearly its full
        life, and the collector mints one per agent per minute, not one per snapshot.
        """
        host = request.headers.get("host", "")
        scope = request.scope
        key = (agent_id, scope.get("scheme"), host, scope.get("root_path", ""))  # the base URL
        now = time.time()
        found = self._grants.get(key)
        if found is not None and now < found[0]:
            return found[1]
        guard = request.app.state.target_guard
        token, expires = guard.mint(agent_id, now)
        grant = {"url": guard.base_url(request, token), "expires_at": expires.isoformat()}
        if len(host) <= _CACHED_HOST_MAX:
            reuse_s = min(GRANT_REUSE_S, self.config.throughput.token_ttl_s / 10)
            if len(self._grants) >= _GRANT_CACHE_LIMIT:
                self._grants.clear()
            self._grants[key] = (now + reuse_s, grant)
        return grant

    async def enrol(self, request: Request) -> dict[str, Any]:
        body = await read_capped(
            request.stream(), request.headers.get("content-length"), ENROL_MAX_BYTES
        )
        try:
            data = json.loads(body)
            token, uai, key_text = (str(data[k]) for k in ("token", "uai", "public_key"))
            uai = validate_uai(uai)
            key = parse_public_key(key_text)
        except (ValueError, KeyError, TypeError) as exc:
            field = exc.args[0] if isinstance(exc, KeyError) else "body"
            raise Rejection(422, "invalid_request", f"{field}: missing or invalid") from None
        agent_id = fingerprint(key)

        def lookup(keyid: str) -> KeyRecord | None:  # proof of possession of the new key
            return KeyRecord(key, False, uai) if keyid == agent_id else None

        await self.verify(request, body, lookup)
        try:
            self.store.enrol(token, uai, key_text)
        except EnrolmentRefused as exc:
            raise Rejection(401, "enrolment_refused", str(exc)) from None
        log.info("agent %s enrolled for %s", agent_id, uai)
        return {"agent_id": agent_id, "uai": uai}


def _service(request: Request) -> IngestService:
    service = request.app.state.ingest
    assert isinstance(service, IngestService)
    return service


def _refusal(rejection: Rejection, agent: str | None = None) -> JSONResponse:
    log.info("refused %s: %s %s", agent or "-", rejection.status, rejection.code)
    return JSONResponse(rejection.body(), status_code=rejection.status)


@router.post("/v1/snapshots", response_model=None)
async def post_snapshot(request: Request) -> Response:
    metrics = request.app.state.metrics
    started = time.perf_counter()
    service = _service(request)
    try:
        status, body = await service.snapshot(request)
    except Rejection as rejection:
        metrics.rejected.labels(rejection.code).inc()
        return _refusal(rejection)
    metrics.accepted.labels(body["status"]).inc()
    metrics.latency.observe(time.perf_counter() - started)
    agent_id = body.pop("agent_id")
    if request.app.state.target_guard.ready:  # secret known: pure CPU, microseconds
        body["throughput"] = service.throughput_grant(request, agent_id)
    else:  # first grant of this process reads (or creates) the shared secret
        body["throughput"] = await run_in_threadpool(service.throughput_grant, request, agent_id)
    return JSONResponse(body, status_code=status)


class SnapshotShortcut:
    """ASGI: `POST /v1/snapshots` straight to `post_snapshot`, everything else to `app`.

    FastAPI's per-request machinery (exception and body-limit middlewares, dependency
    solving, the exit stack, response wrappers) cost ~0.3 ms of CPU per snapshot, for
    a route that takes no parameters, reads its body itself and turns every refusal
    into a response. The route stays registered on `app`, so /docs still shows it.
    """

    PATH = "/v1/snapshots"

    def __init__(self, app: ASGIApp, api: Starlette) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == self.PATH and scope["method"] == "POST":
            scope["app"] = self.api  # what `request.app` returns behind FastAPI too
            response = await post_snapshot(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


@router.post("/v1/enroll", response_model=None)
async def post_enroll(request: Request) -> Response:
    try:
        body = await _service(request).enrol(request)
    except Rejection as rejection:
        return _refusal(rejection)
    return JSONResponse(body, status_code=201)


@router.get("/v1/schema")
async def get_schema(request: Request) -> Mapping[str, Any]:
    return _service(request).schema
