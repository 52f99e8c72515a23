"""One ASGI layer in front of every route: read-only methods, optional password, headers.

Doing this outside the routing means no route can forget it — pages, the JSON API,
`/metrics` and even 404s all pass here. The password check runs scrypt in a worker
thread (it costs ~0.1 s and 16 MiB, and must not stall the daemon's event loop), at most
two at a time, and remembers recent successes so a browser's repeated Basic credentials
do not pay that cost on every page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.passwords import verify_password

ALLOWED_METHODS = frozenset({"GET", "HEAD"})
REALM = "socle-agent"
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        b"base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
)
_CACHE_SIZE = 16  # distinct successful passwords remembered (one per admin, realistically)
_MAX_PARALLEL_CHECKS = 2  # scrypt checks at once: 16 MiB each on a small box


class PasswordCheck:
    """Verifies Basic credentials against the current hash, caching successes in memory."""

    def __init__(self, current_hash: Callable[[], str | None]) -> None:
        self._current_hash = current_hash
        self._key = secrets.token_bytes(32)  # cache keys are MACs, not passwords
        self._ok: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()
        self._limiter = anyio.CapacityLimiter(_MAX_PARALLEL_CHECKS)

    def required(self) -> bool:
        return bool(self._current_hash())

    async def accepts(self, authorization: str | None) -> bool:
        encoded = self._current_hash()
        if not encoded:
            return True
        password = basic_password(authorization)
        if password is None:
            return False
        mark = hmac.new(self._key, f"{encoded}\0{password}".encode(), hashlib.sha256).digest()
        with self._lock:
            if mark in self._ok:
                return True
        ok = await anyio.to_thread.run_sync(
            verify_password, password, encoded, limiter=self._limiter
        )
        if ok:
            with self._lock:
                self._ok[mark] = None
                while len(self._ok) > _CACHE_SIZE:
                    self._ok.popitem(last=False)
        return ok


def basic_password(authorization: str | None) -> str | None:
    """The password of an HTTP Basic header (any user name is accepted)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if ":" not in text:
        return None
    return text.split(":", 1)[1]


class Guard:
    """ASGI middleware: 405 for writes, 401 without the password, security headers always."""

    def __init__(self, app: ASGIApp, check: PasswordCheck) -> None:
        self.app = app
        self.check = check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in {h for h, _ in SECURITY_HEADERS}
                ]
                message["headers"] = headers + list(SECURITY_HEADERS)
            await send(message)

        head = scope["method"] == "HEAD"
        if scope["method"] not in ALLOWED_METHODS:
            allow = [(b"allow", b"GET, HEAD")]
            await _plain(send_with_headers, 405, "read-only\n", allow, head)
            return
        if not await self.check.accepts(_header(scope, b"authorization")):
            challenge = [(b"www-authenticate", f'Basic realm="{REALM}", charset="UTF-8"'.encode())]
            await _plain(send_with_headers, 401, "password required\n", challenge, head)
            return
        await self.app(scope, receive, send_with_headers)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


async def _plain(
    send: Send, status: int, body: str, extra: list[tuple[bytes, bytes]], head: bool
) -> None:
    data = body.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(data)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else data})
