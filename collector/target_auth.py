"""Who may use the throughput target: enrolled agents only, within a per-agent budget.

Two ways in, both tied to an active agent key:
- a request signed like a snapshot (RFC 9421, Ed25519) covering at least `@method`
  and `@target-uri` — no body digest, the body of an upload test is random bytes;
- a short-lived token the collector returns with each stored snapshot, embedded in
  a base URL (`/v1/throughput/<token>/`), so an unmodified LibreSpeed client works.
  Tokens are HMAC-signed with a secret shared through the database (any instance
  accepts any instance's token) and checked against the key's current state, so
  revoking an agent ends its tokens too (within the key cache's few seconds).

The budget (requests per minute, MiB per hour) is counted in the database, so it
holds across instances; past it, 429 with Retry-After.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

from sqlalchemy import Engine
from starlette.requests import Request

from collector.config import CollectorConfig
from collector.shared_state import hit, shared_secret
from collector.store import Store
from collector.verify import Rejection, verify_request

TARGET_COVERED = frozenset({"@method", "@target-uri"})
SECRET_NAME = "throughput_token_v1"  # noqa: S105 - the row name, not a secret
TOKEN_PREFIX = "v1/throughput"  # noqa: S105 - a URL path


class TargetGuard:
    def __init__(self, engine: Engine, store: Store, config: CollectorConfig) -> None:
        self.engine = engine
        self.store = store
        self.config = config
        self._secret: bytes | None = None

    @property
    def ready(self) -> bool:
        """True once the shared secret is loaded (minting no longer touches the database)."""
        return self._secret is not None

    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = shared_secret(self.engine, SECRET_NAME)
        return self._secret

    def _mac(self, agent_id: str, expires: int) -> str:
        digest = hmac.new(self.secret(), f"{agent_id}.{expires}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:24]).decode().rstrip("=")

    def mint(self, agent_id: str, now: float | None = None) -> tuple[str, datetime]:
        expires = int((now or time.time()) + self.config.throughput.token_ttl_s)
        token = f"{agent_id}.{expires}.{self._mac(agent_id, expires)}"
        return token, datetime.fromtimestamp(expires, UTC)

    def base_url(self, request: Request, token: str) -> str:
        base = self.config.server.public_url or str(request.base_url).rstrip("/")
        return f"{base}/{TOKEN_PREFIX}/{token}"

    def agent_from_token(self, token: str) -> str:
        parts = token.split(".")
        if len(parts) != 3 or not parts[1].isdigit() or len(token) > 200:
            raise Rejection(401, "bad_token", "throughput token is malformed")
        agent_id, expires, mac = parts[0], int(parts[1]), parts[2]
        if not hmac.compare_digest(mac, self._mac(agent_id, expires)):
            raise Rejection(401, "bad_token", "throughput token does not verify")
        if expires < time.time():
            raise Rejection(401, "token_expired", "throughput token expired")
        self._active(agent_id)
        return agent_id

    def agent_from_signature(self, request: Request, target_uri: str) -> str:
        headers = {name: ", ".join(request.headers.getlist(name)) for name in set(request.headers)}
        verified = verify_request(
            method=request.method,
            target_uri=target_uri,
            headers=headers,
            body=b"",
            lookup_key=self.store.lookup_key,
            now=time.time(),
            max_skew_s=self.config.ingest.max_clock_skew_s,
            covered=TARGET_COVERED,
            body_digest=False,
        )
        return verified.agent_id

    def _active(self, agent_id: str) -> None:
        record = self.store.lookup_key(agent_id)
        if record is None or record.revoked:
            raise Rejection(401, "unknown_key", "this key is not enrolled")

    def charge(self, agent_id: str, mib: float) -> None:
        """Count one request and `mib` MiB against the agent's budget, or raise 429."""
        limits = self.config.throughput
        requests = hit(self.engine, f"tp-req:{agent_id}", 60.0)
        volume = hit(self.engine, f"tp-mib:{agent_id}", 3600.0, mib)
        if requests > limits.max_requests_per_minute:
            raise Rejection(429, "rate_limited", "too many throughput requests", retry_after_s=60)
        if volume > limits.max_mib_per_hour:
            raise Rejection(429, "rate_limited", "hourly throughput budget used", retry_after_s=600)
