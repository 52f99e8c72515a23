"""Signs requests to the collector at send time: RFC 9530 digest + RFC 9421 Ed25519.

Uses the maintained `http-message-signatures` package (pyauth), which fits: it
signs httpx requests directly, supports Ed25519, `nonce`, and computes
`Content-Digest` from the body. The collector verifies with its own narrow
implementation (collector/rfc9421.py); tests check both ways that they agree.

Signing happens when a request leaves, never when a snapshot is made: a snapshot
may wait days in the spool, and `created` must be close to the collector's clock.
"""

from __future__ import annotations

import secrets
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms

from agent.keys import AgentKey

COVERED_COMPONENTS = ("@method", "@target-uri", "content-digest", "content-type")
SIGNATURE_LABEL = "sig1"
SNAPSHOTS_PATH = "/v1/snapshots"
ENROLL_PATH = "/v1/enroll"


class _SingleKey(HTTPSignatureKeyResolver):
    """The library asks a resolver for keys by id; an agent has exactly one."""

    def __init__(self, key: AgentKey) -> None:
        self._key = key

    def resolve_private_key(self, key_id: str) -> Ed25519PrivateKey:
        if key_id != self._key.agent_id:
            raise KeyError(key_id)
        return self._key.private_key

    def resolve_public_key(self, key_id: str) -> None:  # pragma: no cover - signing only
        return None


def new_nonce() -> str:
    return secrets.token_urlsafe(18)  # 24 characters, 144 random bits


def sign_request(
    request: httpx.Request,
    key: AgentKey,
    body: bytes,
    *,
    created: datetime | None = None,
    nonce: str | None = None,
) -> httpx.Request:
    """Add Content-Digest, Signature-Input and Signature to `request` (in place) and return it."""
    for name in ("content-digest", "signature-input", "signature"):
        if name in request.headers:
            del request.headers[name]
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_SingleKey(key))
    signer.sign(
        request,
        key_id=key.agent_id,
        created=created or datetime.now(UTC),
        nonce=nonce or new_nonce(),
        label=SIGNATURE_LABEL,
        covered_component_ids=COVERED_COMPONENTS,
        body=body,
    )
    return request


def signed_post(
    url: str,
    body: bytes,
    key: AgentKey,
    *,
    gzip_encoded: bool = True,
    created: datetime | None = None,
    nonce: str | None = None,
) -> httpx.Request:
    """A POST of `body` (gzipped JSON unless told otherwise), signed now."""
    headers = {"Content-Type": "application/json"}
    if gzip_encoded:
        headers["Content-Encoding"] = "gzip"
    request = httpx.Request("POST", url, content=body, headers=headers)
    return sign_request(request, key, body, created=created, nonce=nonce)


TARGET_COVERED_COMPONENTS = ("@method", "@target-uri")  # no digest: test bodies are random


class TargetAuth(httpx.Auth):
    """Signs every request of a throughput test against our own collector.

    The collector serves its LibreSpeed endpoints to enrolled agents only (so it is not
    a free bandwidth sink); each request carries a fresh signature and nonce.
    """

    def __init__(self, key: AgentKey) -> None:
        self._signer = HTTPMessageSigner(
            signature_algorithm=algorithms.ED25519, key_resolver=_SingleKey(key)
        )
        self._key_id = key.agent_id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self._signer.sign(
            request,
            key_id=self._key_id,
            created=datetime.now(UTC),
            nonce=new_nonce(),
            label=SIGNATURE_LABEL,
            covered_component_ids=TARGET_COVERED_COMPONENTS,
        )
        yield request


def target_auth(
    collector_url: str | None, target: str | None, state_dir: Path
) -> TargetAuth | None:
    """Sign only towards our collector: a third-party server learns nothing of the agent."""
    if not collector_url or not target or not target.startswith(collector_url.rstrip("/") + "/"):
        return None
    from agent.keys import KeyFileError, load_key

    try:
        return TargetAuth(load_key(state_dir))
    except KeyFileError:
        return None  # not enrolled yet: the collector will say 401, and the result says so
