"""Filling a collector the honest way: snapshots signed with agent keys, posted over HTTP."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import Engine

from agent.keys import AgentKey
from agent.snapshot import Snapshot, SnapshotContent, encode, make_snapshot
from collector.config import AlertSettings
from collector.db import make_engine
from collector.derive import derive
from collector.migrate import upgrade
from collector.store import Store
from collector.writer import IngestItem
from tests.collector.live import LiveCollector
from tests.collector.samples import hand_signed, sample_content


def snapshot_of(
    key: AgentKey,
    school: str,
    seq: int,
    content: SnapshotContent | None = None,
    *,
    created_at: datetime | None = None,
    **changes: Any,
) -> Snapshot:
    """A snapshot whose content is `content` (default: the sample) with top-level changes."""
    base = content or sample_content(6)
    if changes:
        base = base.model_copy(update=changes)
    return make_snapshot(
        base,
        agent_id=key.agent_id,
        uai=school,
        seq=seq,
        created_at=created_at or datetime.now(UTC),
    )


def post(live: LiveCollector, key: AgentKey, snapshot: Snapshot) -> httpx.Response:
    request = hand_signed(live.url + "/v1/snapshots", encode(snapshot), key)
    with httpx.Client(timeout=30) as client:
        response = client.send(request)
    assert response.status_code in (200, 201), response.text
    return response


def login(live: LiveCollector, username: str, password: str, **kw: Any) -> httpx.Client:
    """A client with a session cookie, obtained through the real login form."""
    client = httpx.Client(base_url=live.url, timeout=30, **kw)
    form = client.get("/login")
    csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf": csrf, "next": "/fleet"}
    )
    assert response.status_code == 303, response.text
    return client


def fleet_school(
    live: LiveCollector,
    school: str,
    *,
    name: str,
    commune: str,
    size: str | None,
    minimum: str = "pass",
    desirable: str = "fail",
    median: float = 37.5,
    devices: int = 6,
    device_name: str | None = None,
    wifi: str = "met",
    send: bool = True,
) -> AgentKey:
    """Enrol an agent for `school`, describe the school, post one realistic snapshot."""
    from agent.snapshot import Assessment, AssessmentSummary, BandwidthVerdicts, Criterion
    from tests.collector.live import new_key

    key = new_key()
    live.enrol(key, school)
    live.store.set_school(school, name=name, commune=commune, size=size)
    if not send:
        return key
    content = sample_content(devices)
    infra = list(content.inventory.infrastructure)
    if device_name is not None:
        infra[0] = infra[0].model_copy(update={"name": device_name})
    criteria = [
        Criterion(id="classroom_display", title="Vidéoprojecteur", status="met"),
        Criterion(
            id="wifi_switch_off",
            title="Wi-Fi coupable",
            status=wifi,
            message="Wi-Fi allumé le soir" if wifi != "met" else "",
        ),
        Criterion(
            id="head_office",
            title="Bureau de direction",
            status="not_met",
            message="Il manque un scanner",
        ),
    ]
    met = sum(1 for c in criteria if c.status == "met")
    post(
        live,
        key,
        snapshot_of(
            key,
            school,
            1,
            content.model_copy(
                update={
                    "inventory": content.inventory.model_copy(update={"infrastructure": infra}),
                    "verdicts": BandwidthVerdicts(
                        minimum=minimum,
                        desirable=desirable,
                        window_days=7,
                        window_median_down_mbps=median,
                        window_median_up_mbps=median / 2,
                        tests=20,
                    ),
                    "assessment": Assessment(
                        criteria=criteria, summary=AssessmentSummary(met=met, judged=3)
                    ),
                }
            ),
        ),
    )
    return key


def ingest_item(
    key: AgentKey, school: str, seq: int, content: SnapshotContent, *, created_at: datetime
) -> IngestItem:
    """What the ingest route hands the writer for this snapshot (for tests that write
    batches directly, bypassing HTTP and signatures)."""
    snapshot = snapshot_of(key, school, seq, content, created_at=created_at)
    body = snapshot.model_dump_json(exclude_none=True).encode()
    received = datetime.now(UTC)
    return IngestItem(
        agent_id=key.agent_id,
        seq=seq,
        uai=school,
        schema_version=snapshot.schema_version,
        created_at=snapshot.created_at,
        received_at=received,
        body=body.decode(),
        body_sha256=hashlib.sha256(body).hexdigest(),
        nonce=secrets.token_urlsafe(18),
        nonce_expires_at=time.time() + 600,
        skew_s=0.0,
        derived=derive(snapshot, received_at=received, skew_s=0.0, alerts=AlertSettings()),
    )


@contextmanager
def engine_with_agent(db_url: str, school: str, key: AgentKey) -> Iterator[Engine]:
    """A migrated database with `key` enrolled for `school` (tests that write batches)."""
    engine = make_engine(db_url)
    upgrade(engine)
    Store(engine).add_agent(school, key.public_key_text)
    try:
        yield engine
    finally:
        engine.dispose()
