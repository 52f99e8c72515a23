"""Filling a collector the honest way: snapshots signed with agent keys, posted over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from agent.keys import AgentKey
from agent.snapshot import Snapshot, SnapshotContent, encode, make_snapshot
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
