"""Who is reading the dashboard: local users and sessions, or a trusted reverse proxy.

Never public by default: with no user and no proxy configured, nobody gets in.
Passwords are argon2id hashes. A session is a random cookie (HttpOnly,
SameSite=Strict) stored only as a SHA-256 hash, with its own CSRF token for POST
forms. Failed logins are counted per address and per username in the database,
so a brute force spread over several instances still meets one limit; past it,
logins are refused without even checking the password until the window ends.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, delete, insert, select, update
from starlette.requests import Request

from collector.config import AuthSettings
from collector.db import READ_ONLY, sessions, users
from collector.shared_state import hit, peek, reset

SESSION_COOKIE = "socle_session"
LOGIN_CSRF_COOKIE = "socle_login_csrf"
USERNAME_MAX = 64
PASSWORD_MIN, PASSWORD_MAX = 10, 1024
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))  # unknown users cost the same time


class LoginThrottled(Exception):
    """Too many failures for this address or username: try later (HTTP 429)."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__("too many failed logins")
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Principal:
    username: str
    csrf_token: str | None  # None when the proxy vouched (no session, no form to protect)
    via: str  # "session" | "proxy"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def valid_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > USERNAME_MAX or not name.isprintable():
        raise ValueError(f"username must be 1–{USERNAME_MAX} printable characters")
    return name


class Auth:
    def __init__(self, engine: Engine, settings: AuthSettings) -> None:
        self.engine = engine
        self.settings = settings
        self._proxies = [ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies]

    # --- users ------------------------------------------------------------------------

    def add_user(self, username: str, password: str) -> None:
        """Create the user, or set a new password if it exists."""
        name = valid_username(username)
        if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            raise ValueError(f"password must be {PASSWORD_MIN}–{PASSWORD_MAX} characters")
        digest = _HASHER.hash(password)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(users)
                .where(users.c.username == name)
                .values(password_hash=digest, disabled=False)
            )
            if not done.rowcount:
                conn.execute(
                    insert(users).values(
                        username=name,
                        password_hash=digest,
                        created_at=datetime.now(UTC),
                        disabled=False,
                    )
                )
            conn.execute(delete(sessions).where(sessions.c.username == name))

    def remove_user(self, username: str) -> bool:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.username == username))
            return bool(conn.execute(delete(users).where(users.c.username == username)).rowcount)

    def list_users(self) -> list[str]:
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            return list(conn.execute(select(users.c.username).order_by(users.c.username)).scalars())

    # --- login ------------------------------------------------------------------------

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        return f"login-ip:{address}", f"login-user:{username.lower()[:USERNAME_MAX]}"

    def check_password(self, username: str, password: str, address: str) -> str | None:
        """The user's name when the password is right; None otherwise. May raise LoginThrottled."""
        s = self.settings
        username = username if username.isprintable() else ""  # no NUL into the database
        ip_key, user_key = self._keys(username, address)
        window = s.login_window_s
        if (
            peek(self.engine, ip_key, window) >= s.login_max_failures_per_ip
            or peek(self.engine, user_key, window) >= s.login_max_failures_per_user
        ):
            raise LoginThrottled(int(window))
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            row = conn.execute(
                select(users.c.username, users.c.password_hash, users.c.disabled).where(
                    users.c.username == username.strip()[:USERNAME_MAX]
                )
            ).first()
        try:
            _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password[:PASSWORD_MAX])
            ok = row is not None and not row.disabled
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None:
            hit(self.engine, ip_key, window)
            hit(self.engine, user_key, window)
            return None
        reset(self.engine, user_key)
        return str(row.username)

    # --- sessions ---------------------------------------------------------------------

    def open_session(self, username: str) -> str:
        """A new session; returns the cookie value (stored only as its hash)."""
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at < now))
            conn.execute(
                insert(sessions).values(
                    token_hash=_sha256(token),
                    username=username,
                    csrf_token=secrets.token_urlsafe(24),
                    created_at=now,
                    expires_at=now + timedelta(seconds=self.settings.session_ttl_s),
                )
            )
        return token

    def close_session(self, token: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == _sha256(token)))

    def _session(self, token: str) -> Principal | None:
        if not token or len(token) > 128:
            return None
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            row = conn.execute(
                select(sessions.c.username, sessions.c.csrf_token, sessions.c.expires_at)
                .select_from(sessions.join(users, users.c.username == sessions.c.username))
                .where(sessions.c.token_hash == _sha256(token), users.c.disabled == False)  # noqa: E712
            ).first()
        if row is None or row.expires_at < datetime.now(UTC):
            return None
        return Principal(str(row.username), str(row.csrf_token), "session")

    def principal(self, request: Request) -> Principal | None:
        """The proxy's word when it comes from a trusted address, else the session cookie."""
        header = self.settings.proxy_header
        if header and self._trusted(request):
            user = request.headers.get(header, "").strip()
            if user and len(user) <= USERNAME_MAX and user.isprintable():
                return Principal(user, None, "proxy")
        return self._session(request.cookies.get(SESSION_COOKIE, ""))

    def _trusted(self, request: Request) -> bool:
        host = request.client.host if request.client else ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._proxies)

    def cookie_secure(self, request: Request) -> bool:
        if self.settings.cookie_secure is not None:
            return self.settings.cookie_secure
        return request.url.scheme == "https"


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison for CSRF tokens (both must be present)."""
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))
