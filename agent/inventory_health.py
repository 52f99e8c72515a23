"""Health of a device from its facts: printer supplies and pages, projector lamps and errors.

Kept apart from merging so that thresholds live in one place and can be tested with
plain dicts. Printer-MIB levels have special values (−2 unknown, −3 "some
remaining"), and a device may report nonsense (level above max, negative max):
those give an unknown percentage, never an alarm.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from probes.base import FactValue

LOW_SUPPLY_PERCENT = 15.0  # below this a supply is "low" (issue 4)
_SOME_REMAINING = -3  # Printer-MIB: level unknown but not empty


def supply_percent(supply: Mapping[str, Any]) -> float | None:
    """Percentage left, from `percent` or from level/max; None when unknown or absurd."""
    percent = supply.get("percent")
    if isinstance(percent, int | float) and not isinstance(percent, bool) and 0 <= percent <= 100:
        return float(percent)
    level, maximum = supply.get("level"), supply.get("max")
    if isinstance(level, int) and isinstance(maximum, int) and maximum > 0 and level >= 0:
        return round(100.0 * level / maximum, 1) if level <= maximum else None
    return None


def supply_state(supply: Mapping[str, Any]) -> str:
    """`empty`, `low`, `ok` or `unknown`."""
    percent = supply_percent(supply)
    if percent is None:
        return "ok" if supply.get("level") == _SOME_REMAINING else "unknown"
    if percent <= 0:
        return "empty"
    return "low" if percent < LOW_SUPPLY_PERCENT else "ok"


def health(facts: Mapping[str, FactValue]) -> dict[str, Any]:
    """Everything worth an operator's attention, in a stable shape (empty parts omitted)."""
    out: dict[str, Any] = {}
    supplies = facts.get("snmp.supplies")
    if isinstance(supplies, list):
        rows = [s for s in supplies if isinstance(s, dict)]
        out["supplies"] = [
            {
                "description": str(s.get("description", ""))[:256],
                "percent": supply_percent(s),
                "state": supply_state(s),
            }
            for s in rows
        ]
    pages = facts.get("snmp.page_count")
    if isinstance(pages, int) and not isinstance(pages, bool) and pages >= 0:
        out["page_count"] = pages
    lamps = facts.get("pjlink.lamps")
    if isinstance(lamps, list):
        hours = [lamp.get("hours") for lamp in lamps if isinstance(lamp, dict)]
        out["lamp_hours"] = [h for h in hours if isinstance(h, int) and 0 <= h <= 1_000_000]
    errors = facts.get("pjlink.errors")
    if isinstance(errors, dict):
        out["errors"] = {k: v for k, v in errors.items() if isinstance(v, str) and v != "ok"}
    if isinstance(facts.get("pjlink.power"), str):
        out["power"] = facts["pjlink.power"]
    return {key: value for key, value in out.items() if value not in ([], {})}


def alerts(device_health: Mapping[str, Any]) -> list[str]:
    """One short line per problem, for tables and logs."""
    lines = [
        f"{s['description'] or 'supply'} {s['state']}"
        + (f" ({s['percent']:.0f} %)" if s["percent"] is not None else "")
        for s in device_health.get("supplies", [])
        if s["state"] in ("low", "empty")
    ]
    lines += [f"{part} {level}" for part, level in device_health.get("errors", {}).items()]
    return lines
