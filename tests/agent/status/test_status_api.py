"""JSON API and Prometheus metrics carry the same facts as the pages."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from agent.state import StateStore
from agent.status import create_status_app
from agent.status.runtime import RuntimeInfo
from tests.agent.status import school


def test_status(client: TestClient) -> None:
    data = client.get("/api/v1/status").json()
    assert data["school"] == {
        "uai": "0751234J",
        "name": "École élémentaire Jules Ferry",
        "commune": "Montreuil",
        "classes": 8,
        "size": "medium",
    }
    bandwidth = data["bandwidth"]
    assert bandwidth["levels"] == {
        "size": "medium",
        "min_tests": 3,
        "minimum_down_mbps": 10,
        "desirable_down_mbps": 35,
        "desirable_up_mbps": 20,
    }
    assert bandwidth["verdict"] == "minimum" and bandwidth["tests"] == 28
    assert bandwidth["latest"]["down_mbps"] > 0 and bandwidth["latency"]["idle_rtt_ms"] == 17.4
    assert data["agent"]["version"] == "0.1.0" and data["agent"]["uptime_s"] > 3 * 86400
    collector = data["collector"]
    assert collector["depth"] == 3 and collector["dead_letters"] == 1
    assert collector["clock_skew_warning"] is True and "***" in collector["last_error"]
    jobs = {job["job"]: job for job in data["jobs"]}
    assert jobs["upload"]["last_ok"] is False and jobs["upload"]["next_at"] is None
    assert "***" in jobs["upload"]["last_error"]
    assert data["data_budget"] == {"used_bytes": 1_200_000_000, "limit_bytes": 5_000_000_000}
    assert data["assessment"]["met"] == 1 and data["assessment"]["gaps"] == 1


def test_inventory_lists_infrastructure_and_counts_people(client: TestClient) -> None:
    data = client.get("/api/v1/inventory").json()
    categories = sorted({device["category"] for device in data["devices"]})
    assert categories == ["access_point", "mfp", "nas", "printer", "projector"]
    printer = next(d for d in data["devices"] if d["id"] == "hp-1")
    assert printer["health"]["supplies"] == [{"description": "Toner noir CF259A", "percent": 10.0}]
    projector = next(d for d in data["devices"] if d["id"] == "epson-1")
    assert projector["health"]["lamp_hours"] == [3480]
    assert projector["health"]["errors"] == [["lamp", "warning"]]
    assert data["personal"] == {
        "by_category": {"computer": 6, "tablet_or_phone": 8},
        "total": 14,
        "private_address": 3,
    }
    assert data["unidentified"] == {"by_vendor": {"Espressif": 2}, "total": 2}


def test_measurements_are_filtered_to_known_keys(client: TestClient) -> None:
    data = client.get("/api/v1/measurements").json()
    assert data["kind"] == "throughput" and len(data["measurements"]) == 121
    first = data["measurements"][0]
    assert set(first) == {
        "at",
        "ok",
        "down_mbps",
        "up_mbps",
        "line_down_mbps",
        "line_up_mbps",
        "bytes_used",
        "idle_rtt_ms",
        "loaded_rtt_ms",
        "verdict",
    }
    assert "server" not in str(data)
    week = client.get("/api/v1/measurements", params={"days": 7}).json()
    assert 27 <= len(week["measurements"]) <= 30
    latency = client.get("/api/v1/measurements", params={"kind": "latency"}).json()
    assert latency["measurements"][0]["idle_rtt_ms"] == 17.4
    assert client.get("/api/v1/measurements", params={"kind": "dns"}).status_code == 422
    assert client.get("/api/v1/measurements", params={"days": 365}).status_code == 422


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = _samples(response.text)
    assert samples[("socle_devices", (("category", "printer"),))] == 2
    assert samples[("socle_devices", (("category", "tablet_or_phone"),))] == 8
    assert samples[("socle_spool_depth", ())] == 3
    assert samples[("socle_dead_letters", ())] == 1
    assert samples[("socle_last_upload_timestamp_seconds", ())] == (
        school.runtime().spool.last_success_at.timestamp()  # type: ignore[union-attr]
    )
    assert samples[("socle_throughput_down_mbps", ())] > 0
    assert samples[("socle_throughput_up_mbps", ())] > 0
    assert samples[("socle_bandwidth_level", ())] == 1
    assert samples[("socle_job_last_run_ok", (("job", "upload"),))] == 0
    assert samples[("socle_criteria", (("status", "not_met"),))] == 1
    assert ("socle_job_next_run_timestamp_seconds", (("job", "upload"),)) not in samples


def test_metrics_use_a_registry_per_app(store: StateStore) -> None:
    before = {name for name in REGISTRY._names_to_collectors}
    apps = [create_status_app(school.settings(), store, school.runtime) for _ in range(2)]
    assert {name for name in REGISTRY._names_to_collectors} == before
    for app in apps:
        with TestClient(app) as test_client:
            assert "socle_spool_depth 3.0" in test_client.get("/metrics").text


def test_runtime_is_read_per_request(store: StateStore) -> None:
    depth = iter(range(100))

    def live() -> RuntimeInfo:
        base = school.runtime()
        return base.model_copy(
            update={"spool": base.spool.model_copy(update={"depth": next(depth)})}
        )

    with TestClient(create_status_app(school.settings(), store, live)) as test_client:
        first = test_client.get("/api/v1/status").json()["collector"]["depth"]
        second = test_client.get("/api/v1/status").json()["collector"]["depth"]
    assert second > first
