"""Derived tables are filled at ingest, in the snapshot's transaction, latest-wins by agent clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from agent.snapshot import (
    AgentHealth,
    Assessment,
    AssessmentSummary,
    Criterion,
    SnapshotContent,
)
from collector.db import agents as agents_table
from collector.db import (
    assessment_criteria,
    devices,
    measurements,
    school_summary,
    snapshots,
)
from collector.retention import prune_raw_snapshots
from tests.collector.fill import post, snapshot_of
from tests.collector.live import LiveCollector, new_key, uai
from tests.collector.samples import sample_content

SCHOOL = uai(760001)


@pytest.fixture
def live(tmp_path: Path, db_url: str) -> Iterator[LiveCollector]:
    server = LiveCollector(tmp_path, database_url=db_url).start()
    yield server
    server.close()


def _rows(live: LiveCollector, query):  # type: ignore[no-untyped-def]
    with live.engine.connect() as conn:
        return conn.execute(query).all()


def test_one_snapshot_fills_every_derived_table(live: LiveCollector) -> None:
    key = new_key()
    live.enrol(key, SCHOOL)
    wifi = Criterion(id="wifi_switch_off", title="Wi-Fi", status="not_met", message="on at night")
    content = sample_content(8).model_copy(
        update={
            "assessment": Assessment(criteria=[wifi], summary=AssessmentSummary(met=0, judged=1)),
            "health": AgentHealth(version="9.9", dead_letters=2, clock_skew_s=400.0),
        }
    )
    post(live, key, snapshot_of(key, SCHOOL, 1, content))
    (summary,) = _rows(live, select(school_summary))
    assert summary.uai == SCHOOL and summary.devices == 8
    assert (summary.verdict_minimum, summary.verdict_desirable) == ("pass", "fail")
    assert summary.median_down_mbps == 37.5 and summary.score_pct == 0.0
    assert summary.alert_wifi_on and summary.alert_dead_letters and summary.alert_clock_skew
    assert summary.alert_toner_low  # printer 1 reports 10 % toner
    assert not summary.alert_below_minimum and not summary.alert_lamp_end
    assert summary.alerts == 4 and summary.agent_version == "9.9"
    assert len(_rows(live, select(devices))) == 8
    assert len(_rows(live, select(measurements))) == 1
    assert [r.status for r in _rows(live, select(assessment_criteria))] == ["not_met"]


def test_an_older_snapshot_arriving_late_does_not_overwrite(live: LiveCollector) -> None:
    key = new_key()
    live.enrol(key, SCHOOL)
    now = datetime.now(UTC)
    post(live, key, snapshot_of(key, SCHOOL, 2, sample_content(3), created_at=now))
    post(
        live,
        key,
        snapshot_of(key, SCHOOL, 1, sample_content(5), created_at=now - timedelta(hours=1)),
    )
    (summary,) = _rows(live, select(school_summary))
    assert summary.devices == 3 and summary.snapshot_at == now
    assert len(_rows(live, select(devices))) == 5  # MACs the older one knew are still listed
    assert len(_rows(live, select(measurements))) == 2  # history keeps both


def test_criteria_follow_the_newest_assessment(live: LiveCollector) -> None:
    """Replaced by a newer snapshot (a criterion it drops disappears), kept against a
    late older one."""
    key = new_key()
    live.enrol(key, SCHOOL)
    now = datetime.now(UTC)

    def assessed(*criteria: tuple[str, str]) -> SnapshotContent:
        listed = [Criterion(id=c, title=c, status=s, message="") for c, s in criteria]
        summary = AssessmentSummary(met=0, judged=len(listed))
        return sample_content(2).model_copy(
            update={"assessment": Assessment(criteria=listed, summary=summary)}
        )

    def criteria() -> list[tuple[str, str]]:
        query = select(assessment_criteria.c.criterion_id, assessment_criteria.c.status)
        return sorted((r.criterion_id, r.status) for r in _rows(live, query))

    first = assessed(("wifi_switch_off", "not_met"), ("scanner", "met"))
    post(live, key, snapshot_of(key, SCHOOL, 1, first, created_at=now - timedelta(hours=2)))
    newer = assessed(("wifi_switch_off", "met"))
    post(live, key, snapshot_of(key, SCHOOL, 3, newer, created_at=now))
    assert criteria() == [("wifi_switch_off", "met")]
    late = assessed(("wifi_switch_off", "not_met"), ("projector", "not_met"))
    post(live, key, snapshot_of(key, SCHOOL, 2, late, created_at=now - timedelta(hours=1)))
    assert criteria() == [("wifi_switch_off", "met")]


def test_the_agent_row_follows_its_snapshots(live: LiveCollector) -> None:
    """Last seen, highest seq and clock skew: kept up by stored snapshots and by resends
    (a batch where nothing is new still touches the agent), never lowered by a late one."""
    key = new_key()
    live.enrol(key, SCHOOL)

    def agent() -> Any:
        query = select(agents_table).where(agents_table.c.agent_id == key.agent_id)
        return _rows(live, query)[0]

    assert agent().last_seen_at is None and agent().last_seq is None
    third = snapshot_of(key, SCHOOL, 3)
    post(live, key, third)
    first = agent()
    assert first.last_seq == 3 and first.last_seen_at is not None
    assert first.clock_skew_s is not None and abs(first.clock_skew_s) < 60
    post(live, key, snapshot_of(key, SCHOOL, 2))  # late: stored, seq stays 3
    late = agent()
    assert late.last_seq == 3 and late.last_seen_at > first.last_seen_at
    resent = post(live, key, third)  # same content, new signature: a duplicate
    assert resent.status_code == 200
    assert agent().last_seq == 3 and agent().last_seen_at > late.last_seen_at


def test_a_duplicate_adds_nothing(live: LiveCollector) -> None:
    key = new_key()
    live.enrol(key, SCHOOL)
    snap = snapshot_of(key, SCHOOL, 1)
    post(live, key, snap)
    post(live, key, snap)
    assert _rows(live, select(func.count()).select_from(measurements))[0][0] == 1


def test_prune_empties_old_bodies_and_keeps_derived_data(live: LiveCollector) -> None:
    key = new_key()
    live.enrol(key, SCHOOL)
    snap = snapshot_of(key, SCHOOL, 1)
    post(live, key, snap)
    assert prune_raw_snapshots(live.engine, timedelta(days=1)) == 0
    later = datetime.now(UTC) + timedelta(days=2)
    assert prune_raw_snapshots(live.engine, timedelta(days=1), now=later) == 1
    assert _rows(live, select(snapshots.c.body))[0][0] is None
    assert len(_rows(live, select(school_summary))) == 1
    # a resend after pruning is still recognised as the same snapshot
    assert post(live, key, snap).status_code == 200


def test_nul_characters_do_not_break_postgresql(live: LiveCollector) -> None:
    """Valid JSON ("\\u0000") that PostgreSQL text refuses: stored without the NUL."""
    key = new_key()
    live.enrol(key, SCHOOL)
    content = sample_content(2)
    infra = [content.inventory.infrastructure[0].model_copy(update={"name": "proj\x00ecteur"})]
    content = content.model_copy(
        update={"inventory": content.inventory.model_copy(update={"infrastructure": infra})}
    )
    post(live, key, snapshot_of(key, SCHOOL, 1, content))
    assert [r.name for r in _rows(live, select(devices))] == ["projecteur"]
