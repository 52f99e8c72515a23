"""The socle checklist as stored by the assessment, normalised for display.

The assessment is stored as JSON and may come from an older agent version, so nothing
here trusts its shape: unknown statuses read as "unknown", missing texts as empty.
Titles and messages stay `{"fr", "en"}` objects; the template picks the language.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

STATUSES = ("met", "partly_met", "not_met", "unknown", "not_applicable")
SOURCES = ("discovered", "declared", "both")
LEVELS = ("required", "desirable", "optional")


@dataclass(frozen=True)
class ChecklistItem:
    label: str
    room: str
    source: str


@dataclass(frozen=True)
class Criterion:
    id: str
    title: object
    status: str
    level: str
    message: object
    section: str
    items: list[ChecklistItem]


@dataclass(frozen=True)
class Maintenance:
    device: str
    kind: str
    severity: str
    message: object


@dataclass(frozen=True)
class Checklist:
    assessed_at: datetime | None
    criteria: list[Criterion]
    met: int | None
    judged: int | None
    maintenance: list[Maintenance]


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def parse_time(value: object) -> datetime | None:
    """An aware datetime from ISO text; naive or malformed times are unknown."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _choice(value: object, allowed: tuple[str, ...], fallback: str) -> str:
    return value if isinstance(value, str) and value in allowed else fallback


def _criterion(raw: dict[str, Any]) -> Criterion:
    items = [
        ChecklistItem(
            _str(item.get("label")),
            _str(item.get("room")),
            _choice(item.get("source"), SOURCES, ""),
        )
        for item in _dicts(raw.get("items"))
    ]
    return Criterion(
        id=_str(raw.get("id")),
        title=raw.get("title") or _str(raw.get("id")),
        status=_choice(raw.get("status"), STATUSES, "unknown"),
        level=_choice(raw.get("level"), LEVELS, ""),
        message=raw.get("message") or "",
        section=_str(raw.get("section")),
        items=items,
    )


def build_checklist(assessment: dict[str, Any] | None) -> Checklist | None:
    if not isinstance(assessment, dict):
        return None
    summary = assessment.get("summary")
    summary = summary if isinstance(summary, dict) else {}
    met, judged = summary.get("met"), summary.get("judged")
    maintenance = [
        Maintenance(
            device=_str(action.get("device")) or _str(action.get("device_id")),
            kind=_str(action.get("kind")),
            severity=_choice(action.get("severity"), ("warning", "critical"), "warning"),
            message=action.get("message") or "",
        )
        for action in _dicts(assessment.get("maintenance"))
    ]
    return Checklist(
        assessed_at=parse_time(assessment.get("assessed_at")),
        criteria=[_criterion(raw) for raw in _dicts(assessment.get("criteria"))],
        met=met if isinstance(met, int) else None,
        judged=judged if isinstance(judged, int) else None,
        maintenance=maintenance,
    )
