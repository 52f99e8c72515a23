"""The equipment list the page may show: infrastructure in full, people's devices as counts.

Computers, tablets and phones belong to pupils and staff: their MAC addresses and host
names never leave this module, only counts do (DESIGN.md, "Identity and privacy").
Devices discovery could not classify may be personal too, so they are counted by vendor
only. Health dictionaries come from several probes and are read defensively.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agent.categories import CATEGORIES
from agent.categories import PERSONAL_CATEGORIES as SHARED_PERSONAL
from agent.state import DeviceRecord

# Older or foreign records may say phone/tablet/laptop: still people's devices.
PERSONAL_CATEGORIES = SHARED_PERSONAL | {"phone", "tablet", "laptop"}
UNKNOWN_CATEGORY = "unknown"
CATEGORY_ORDER = tuple(c for c in CATEGORIES if c not in SHARED_PERSONAL and c != UNKNOWN_CATEGORY)
TONER_LOW_PERCENT = 15.0  # colour only; maintenance warnings come from the assessment


@dataclass(frozen=True)
class Supply:
    description: str
    percent: float | None

    @property
    def low(self) -> bool:
        return self.percent is not None and self.percent <= TONER_LOW_PERCENT


@dataclass(frozen=True)
class Health:
    supplies: list[Supply] = field(default_factory=list)
    lamp_hours: list[int] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.supplies or self.lamp_hours or self.errors)


@dataclass(frozen=True)
class Inventory:
    groups: list[tuple[str, list[DeviceRecord]]]
    personal: dict[str, int]
    private_address: int
    unknown_by_vendor: dict[str, int]

    @property
    def personal_total(self) -> int:
        return sum(self.personal.values())

    @property
    def unknown_total(self) -> int:
        return sum(self.unknown_by_vendor.values())


def is_personal(device: DeviceRecord) -> bool:
    return device.personal or device.category in PERSONAL_CATEGORIES


def build_inventory(devices: list[DeviceRecord]) -> Inventory:
    by_category: dict[str, list[DeviceRecord]] = {}
    personal: Counter[str] = Counter()
    unknown: Counter[str] = Counter()
    private = 0
    for device in devices:
        if is_personal(device):
            personal[device.category] += 1
            private += device.private_address
        elif device.category == UNKNOWN_CATEGORY:
            unknown[device.vendor or "?"] += 1
        else:
            by_category.setdefault(device.category, []).append(device)
    order = {name: index for index, name in enumerate(CATEGORY_ORDER)}
    groups = sorted(by_category.items(), key=lambda item: (order.get(item[0], 99), item[0]))
    groups = [(name, sorted(items, key=_device_sort_key)) for name, items in groups]
    return Inventory(groups, dict(sorted(personal.items())), private, dict(unknown.most_common()))


def _device_sort_key(device: DeviceRecord) -> tuple[int, ...]:
    """Numeric IP order (10.0.0.9 before 10.0.0.10); devices without an IP last."""
    try:
        return tuple(int(part) for part in (device.ip or "").split("."))
    except ValueError:
        return (999,)


def _percent(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return min(max(number, 0.0), 100.0) if math.isfinite(number) else None


def health_of(raw: dict[str, Any]) -> Health:
    """Supplies, lamp hours and errors from a probe's health dict; junk is skipped."""
    supplies = [
        Supply(str(item.get("description") or ""), _percent(item.get("percent")))
        for item in _as_list(raw.get("supplies"))
        if isinstance(item, dict)
    ]
    lamps = [
        int(hours)
        for hours in _as_list(raw.get("lamp_hours"))
        if isinstance(hours, int | float) and not isinstance(hours, bool) and math.isfinite(hours)
    ]
    errors_raw = raw.get("errors")
    errors = (
        [(str(part), str(state)) for part, state in errors_raw.items()]
        if isinstance(errors_raw, dict)
        else []
    )
    return Health(supplies, lamps, errors)


def _as_list(value: object) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]
