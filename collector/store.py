"""Schools, agents and enrolment tokens: everything but the snapshot hot path.

Enrolment tokens are random, single-use, bound to one UAI and stored only as a
SHA-256 hash; the plain token is shown once, to the administrator who created it.
Snapshot writes live in collector/writer.py, batched by collector/group_commit.py.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.engine import Connection

from agent.keys import fingerprint, parse_public_key, public_key_text
from agent.uai import validate_uai
from collector.db import READ_ONLY, agents, enrolment_tokens, schools, snapshots
from collector.verify import KeyRecord

SCHOOL_SIZES = ("small", "medium", "large")


class AdminError(Exception):
    """An administrative request that cannot be done as asked (message for the operator)."""


class EnrolmentRefused(Exception):
    """Token unknown, used, expired or for another school: one message for all (no oracle)."""


@dataclass(frozen=True)
class AgentRow:
    agent_id: str
    uai: str
    public_key: str
    state: str
    enrolled_via: str
    created_at: datetime
    last_seen_at: datetime | None
    last_seq: int | None
    clock_skew_s: float | None
    snapshots: int


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    def __init__(self, engine: Engine, *, key_cache_s: float = 0.0) -> None:
        self.engine = engine
        self.key_cache_s = key_cache_s
        self._keys: dict[str, tuple[float, KeyRecord]] = {}

    # --- keys -------------------------------------------------------------------------

    def lookup_key(self, agent_id: str) -> KeyRecord | None:
        """The agent's key, cached for `key_cache_s` (a revocation elsewhere waits that long).

        Only known keys are cached: an enrolment is usable at once, and a flood of
        unknown key ids cannot grow the cache.
        """
        if self.key_cache_s > 0:
            hit = self._keys.get(agent_id)
            if hit is not None and hit[0] > time.monotonic():
                return hit[1]
        record = self._load_key(agent_id)
        if record is not None and self.key_cache_s > 0:
            if len(self._keys) > 100_000:
                self._keys.clear()
            self._keys[agent_id] = (time.monotonic() + self.key_cache_s, record)
        return record

    def _load_key(self, agent_id: str) -> KeyRecord | None:
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            row = conn.execute(
                select(agents.c.public_key, agents.c.state, agents.c.uai).where(
                    agents.c.agent_id == agent_id
                )
            ).first()
        if row is None:
            return None
        return KeyRecord(parse_public_key(row.public_key), row.state != "active", row.uai)

    # --- schools and agents -----------------------------------------------------------

    @staticmethod
    def _ensure_school(conn: Connection, uai: str) -> None:
        exists = conn.execute(select(schools.c.uai).where(schools.c.uai == uai)).first()
        if exists is None:
            conn.execute(insert(schools).values(uai=uai, created_at=_now()))

    def set_school(
        self,
        uai: str,
        *,
        name: str | None = None,
        commune: str | None = None,
        size: str | None = None,
    ) -> None:
        """Create or update a school's descriptive fields (the dashboard's filters)."""
        uai = validate_uai(uai)
        if size is not None and size not in SCHOOL_SIZES:
            raise AdminError(f"size must be one of {', '.join(SCHOOL_SIZES)}, got {size!r}")
        values = {
            k: v for k, v in (("name", name), ("commune", commune), ("size", size)) if v is not None
        }
        with self.engine.begin() as conn:
            self._ensure_school(conn, uai)
            if values:
                conn.execute(update(schools).where(schools.c.uai == uai).values(**values))

    def add_agent(self, uai: str, public_key: str, *, via: str = "manual") -> str:
        """Register a key out of band (`socle-collector agent add`); returns the agent id."""
        uai = validate_uai(uai)
        key = parse_public_key(public_key)  # ValueError: a usage mistake, not a refusal
        agent_id = fingerprint(key)
        with self.engine.begin() as conn:
            self._insert_agent(conn, agent_id, uai, public_key_text(key), via)
        return agent_id

    def _insert_agent(
        self, conn: Connection, agent_id: str, uai: str, key_text: str, via: str
    ) -> None:
        existing = conn.execute(
            select(agents.c.uai, agents.c.state).where(agents.c.agent_id == agent_id)
        ).first()
        if existing is not None:
            if existing.state != "active":
                raise AdminError(f"agent {agent_id} was revoked; the school needs a new key")
            if existing.uai != uai:
                raise AdminError(f"agent {agent_id} is already enrolled for {existing.uai}")
            return
        self._ensure_school(conn, uai)
        conn.execute(
            insert(agents).values(
                agent_id=agent_id,
                uai=uai,
                public_key=key_text,
                state="active",
                enrolled_via=via,
                created_at=_now(),
            )
        )

    def revoke_agent(self, agent_id: str) -> bool:
        self._keys.pop(agent_id, None)
        with self.engine.begin() as conn:
            result = conn.execute(
                update(agents)
                .where(agents.c.agent_id == agent_id, agents.c.state == "active")
                .values(state="revoked", revoked_at=_now())
            )
        return bool(result.rowcount)

    def list_agents(self, uai: str | None = None) -> list[AgentRow]:
        counts = (
            select(snapshots.c.agent_id, func.count().label("n"))
            .group_by(snapshots.c.agent_id)
            .subquery()
        )
        query = (
            select(agents, func.coalesce(counts.c.n, 0).label("n"))
            .outerjoin(counts, counts.c.agent_id == agents.c.agent_id)
            .order_by(agents.c.uai, agents.c.created_at)
        )
        if uai is not None:
            query = query.where(agents.c.uai == validate_uai(uai))
        with self.engine.connect().execution_options(**READ_ONLY) as conn:
            rows = conn.execute(query).all()
        return [
            AgentRow(
                r.agent_id,
                r.uai,
                r.public_key,
                r.state,
                r.enrolled_via,
                r.created_at,
                r.last_seen_at,
                r.last_seq,
                r.clock_skew_s,
                int(r.n),
            )
            for r in rows
        ]

    # --- enrolment --------------------------------------------------------------------

    def create_token(self, uai: str, ttl: timedelta) -> str:
        """A one-time token for `uai`; the only copy of the plain text is the return value."""
        uai = validate_uai(uai)
        if ttl <= timedelta(0):
            raise AdminError("the token must expire in the future")
        token = secrets.token_urlsafe(24)
        now = _now()
        with self.engine.begin() as conn:
            self._ensure_school(conn, uai)
            conn.execute(
                insert(enrolment_tokens).values(
                    token_hash=hash_token(token), uai=uai, created_at=now, expires_at=now + ttl
                )
            )
        return token

    def enrol(self, token: str, uai: str, public_key: str) -> str:
        """Consume the token and register the key for its school; returns the agent id."""
        key = parse_public_key(public_key)
        agent_id = fingerprint(key)
        now = _now()
        with self.engine.begin() as conn:
            used = conn.execute(
                update(enrolment_tokens)
                .where(
                    enrolment_tokens.c.token_hash == hash_token(token),
                    enrolment_tokens.c.used_at.is_(None),
                    enrolment_tokens.c.expires_at > now,
                    enrolment_tokens.c.uai == uai,
                )
                .values(used_at=now, agent_id=agent_id)
            )
            if used.rowcount != 1:
                raise EnrolmentRefused("invalid, used or expired token for this school")
            try:
                self._insert_agent(conn, agent_id, uai, public_key_text(key), "token")
            except AdminError as exc:
                raise EnrolmentRefused(str(exc)) from None
        return agent_id
