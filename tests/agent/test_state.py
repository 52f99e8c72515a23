"""The state store keeps first-seen, logs absence as well as presence, and prunes history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.state import DeviceRecord, StateStore

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def device(
    device_id: str, at: datetime, category: str = "access_point", **extra: object
) -> DeviceRecord:
    return DeviceRecord(
        device_id=device_id, category=category, first_seen=at, last_seen=at, **extra
    )


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(tmp_path / "state.sqlite3")


def test_first_seen_survives_later_cycles(store: StateStore) -> None:
    store.record_cycle(T0, [device("ap1", T0)])
    later = T0 + timedelta(hours=1)
    store.record_cycle(later, [device("ap1", later, vendor="Ubiquiti")])
    (stored,) = store.devices()
    assert stored.first_seen == T0 and stored.last_seen == later and stored.vendor == "Ubiquiti"


def test_absence_is_recorded_for_known_infrastructure(store: StateStore) -> None:
    store.record_cycle(
        T0, [device("ap1", T0), device("laptop", T0, category="computer", personal=True)]
    )
    store.record_cycle(T0 + timedelta(minutes=30), [])
    rows = store.presence(T0, ["access_point", "computer"])
    assert rows == [(T0, "ap1", True), (T0 + timedelta(minutes=30), "ap1", False)]


def test_measurements_window_and_prune(store: StateStore) -> None:
    store.add_measurement("throughput", T0 - timedelta(days=100), {"down": 1}, ok=True, down_mbps=1)
    store.add_measurement("throughput", T0, {"down": 9}, ok=True, down_mbps=9)
    assert [m["down"] for m in store.measurements("throughput", T0 - timedelta(days=200))] == [1, 9]
    store.prune(T0)
    assert [m["down"] for m in store.measurements("throughput", T0 - timedelta(days=200))] == [9]


def test_job_runs_and_errors(store: StateStore) -> None:
    run = store.start_job("discovery", T0)
    store.finish_job(run, T0 + timedelta(seconds=4), ok=False, error="timeout")
    assert store.last_run("discovery") is not None
    (failed,) = store.job_runs(errors_only=True)
    assert failed.error == "timeout" and failed.ok is False


def test_naive_times_are_refused(store: StateStore) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.add_measurement("throughput", datetime(2026, 1, 1), {}, ok=True)


def test_key_values_round_trip(store: StateStore) -> None:
    store.put("last_upload", {"at": "x"})
    assert store.get("last_upload") == {"at": "x"}
    assert store.get("missing", 3) == 3
