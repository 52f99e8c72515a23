"""Views of the inventory: what may leave the box, what the state store keeps, what a
terminal shows.

Privacy lives here. Infrastructure (projectors, printers, NAS, APs…) is listed with
vendor, model, IP and MAC. Computers, tablets, phones and anything unidentified are
only counted by kind, plus how many of them use a randomised MAC; their MACs, names
and mDNS instance names never appear in `shareable()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from agent.inventory import Device, Inventory
from agent.inventory_health import alerts
from agent.snapshot import InfrastructureCategory
from agent.state import DeviceRecord
from probes.base import utc_now

# Categories the snapshot schema lists; anything else that is not personal is "other".
LISTED: frozenset[str] = frozenset(get_args(InfrastructureCategory)) - {"other"}
CATEGORY_ORDER = (
    *sorted(LISTED),
    "camera",
    "other",
    "computer",
    "tablet_or_phone",
    "unknown",
)


def shareable(inventory: Inventory) -> dict[str, Any]:
    """What a snapshot would say of this inventory: the one privacy view, shared with
    `agent.snapshot_build` (infrastructure listed, people's devices counted)."""
    from agent.snapshot_build import inventory_section

    now = max((d.last_seen for d in inventory.devices), default=utc_now())
    return inventory_section(records(inventory), now).model_dump(mode="json")


def records(inventory: Inventory) -> list[DeviceRecord]:
    """Records for `agent.state.StateStore.record_cycle` (stay on the box)."""
    return [
        DeviceRecord(
            device_id=device.id,
            category=device.category,
            personal=device.personal,
            confidence=device.confidence,
            vendor=device.vendor,
            model=device.model,
            name=device.name,
            ip=str(device.ip) if device.ip else None,
            mac=device.mac,
            serial=device.serial,
            private_address=device.private_address,
            evidence=device.evidence,
            health=device.health,
            first_seen=device.first_seen,
            last_seen=device.last_seen,
        )
        for device in inventory.devices
    ]


@dataclass(frozen=True)
class Row:
    """One line of `socle-agent discover`'s table (text only: the terminal escapes nothing)."""

    category: str
    vendor: str
    model: str
    ip: str
    mac: str
    evidence: str
    health: str
    flags: str


def rows_by_category(inventory: Inventory, show_personal: bool = False) -> dict[str, list[Row]]:
    """Devices grouped by category in a stable order; personal devices hidden unless asked."""
    groups: dict[str, list[Row]] = {}
    for device in inventory.devices:
        if device.personal and not show_personal:
            continue
        groups.setdefault(device.category, []).append(
            Row(
                category=device.category,
                vendor=device.vendor or str(device.facts.get("oui.vendor", "")),
                model=device.model,
                ip=str(device.ip or ""),
                mac=device.mac or "",
                evidence="; ".join(device.evidence[:3]),
                health="; ".join(_health_summary(device)),
                flags=",".join(sorted(device.flags)),
            )
        )
    order = {name: index for index, name in enumerate(CATEGORY_ORDER)}
    return dict(sorted(groups.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))


def _health_summary(device: Device) -> list[str]:
    health = device.health
    parts = alerts(health)
    if "page_count" in health:
        parts.append(f"{health['page_count']} pages")
    if health.get("lamp_hours"):
        parts.append("lamp " + "/".join(f"{h} h" for h in health["lamp_hours"]))
    return parts


def personal_counts(inventory: Inventory) -> dict[str, int]:
    return dict(shareable(inventory)["personal"]["by_kind"])
