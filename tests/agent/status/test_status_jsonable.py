"""The status API's encoder gives what FastAPI's jsonable_encoder gave before the move to
Starlette (fastapi stays a dependency for the collector, so the reference is at hand)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.testclient import TestClient
from pydantic import BaseModel

from agent.status.jsonable import jsonable
from agent.status.runtime import DataBudget


class Size(enum.StrEnum):
    small = "small"


@dataclass
class Row:
    at: datetime
    ip: IPv4Address
    tags: tuple[str, ...]


class Model(BaseModel):
    at: datetime
    net: IPv4Network


def test_same_values_as_fastapi() -> None:
    paris = timezone(timedelta(hours=1))
    at = datetime(2026, 11, 23, 12, 30, 1, 250, tzinfo=UTC)
    value: dict[Any, Any] = {
        "at": at,
        "local": datetime(2026, 1, 2, 3, 4, tzinfo=paris),
        "day": date(2026, 2, 3),
        "time": time(8, 30),
        "size": Size.small,
        "rows": [Row(at, IPv4Address("10.0.0.1"), ("a", "b"))],
        "model": Model(at=at, net=IPv4Network("10.0.0.0/24")),
        "budget": DataBudget(used_bytes=10, limit_bytes=None),
        "path": Path("/var/lib/socle-agent"),
        "set": {3},
        "plain": [1, 2.5, True, None, "é"],
        7: "int key",
    }
    assert jsonable(value) == jsonable_encoder(value)


def test_api_errors_and_head(client: TestClient) -> None:
    bad = client.get("/api/v1/measurements", params={"days": "abc"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "days"]
    assert client.get("/api/v1/measurements", params={"days": 90}).status_code == 200
    assert (
        client.get("/api/v1/measurements", params={"kind": "latency"}).json()["kind"] == "latency"
    )
    assert client.head("/api/v1/status").status_code == 200
    assert client.post("/api/v1/status").status_code == 405
