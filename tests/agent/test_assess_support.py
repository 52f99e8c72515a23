"""Builders shared by the assessment tests (no tests here: small schools built by hand)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent.assess import assess
from agent.assess_model import (
    AssessedDevice,
    Assessment,
    AssessmentInput,
    BandwidthSummary,
    CriterionResult,
    PresenceRecord,
)
from agent.categories import DeviceCategory
from agent.config import DeclaredEquipment, SchoolSettings
from agent.referential import Referential, load_referential

UAI = "0751234J"
# Friday 14 March 2025, 13:00 in Paris (UTC+1): after a normal school week
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
REFERENTIAL = load_referential()


def device(ident: str, category: DeviceCategory, **extra: Any) -> AssessedDevice:
    fields: dict[str, Any] = {
        "id": ident,
        "category": category,
        "vendor": "Acme",
        "model": "M1",
        "ip": f"10.0.0.{sum(map(ord, ident)) % 200 + 2}",
        "evidence": [f"classifier: {category}"],
    }
    fields.update(extra)
    return AssessedDevice.model_validate(fields)


def rooms(count: int, **room: Any) -> list[dict[str, Any]]:
    """`count` declared classrooms named C1…Cn with the same fields."""
    return [{"name": f"C{index + 1}", **room} for index in range(count)]


def make_input(
    classes: int = 8,
    declared: dict[str, Any] | None = None,
    devices: list[AssessedDevice] | None = None,
    personal: dict[str, int] | None = None,
    bandwidth: BandwidthSummary | None = None,
    presence: list[PresenceRecord] | None = None,
    **school: Any,
) -> AssessmentInput:
    return AssessmentInput(
        school=SchoolSettings.model_validate({"uai": UAI, "classes": classes, **school}),
        declared=DeclaredEquipment.model_validate(declared or {}),
        devices=devices or [],
        personal_counts=personal or {},
        bandwidth=bandwidth,
        ap_presence=presence or [],
        now=NOW,
    )


def run(inp: AssessmentInput, referential: Referential = REFERENTIAL) -> Assessment:
    return assess(inp, referential)


def criterion(inp: AssessmentInput, criterion_id: str) -> CriterionResult:
    return run(inp).criterion(criterion_id)


def presence(
    device_id: str, present: Any, days: int = 7, step_min: int = 30
) -> list[PresenceRecord]:
    """One record per cycle over `days`; `present(at)` says whether the AP answered."""
    records = []
    at = NOW - timedelta(days=days)
    while at <= NOW:
        records.append(PresenceRecord(device_id=device_id, at=at, present=bool(present(at))))
        at += timedelta(minutes=step_min)
    return records
