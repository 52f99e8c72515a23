"""Maintenance actions from what the probes saw: toner, projector lamps, error flags, absences.

The referential's "maintenance et entretien" asks municipalities to keep equipment
usable; a technician needs a to-do list, not raw SNMP values. Thresholds come from the
referential file (`[maintenance]`) so a municipality can set its lamps' rated life.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from agent.assess_model import (
    AssessedDevice,
    MaintenanceAction,
    Severity,
    Supply,
    en_number,
    fr_number,
    text,
)
from agent.referential import MaintenanceSpec

_ERST_FR = {
    "fan": "ventilateur",
    "lamp": "lampe",
    "temperature": "température",
    "cover": "capot",
    "filter": "filtre",
    "other": "autre",
}
_SOME_REMAINING = -3  # Printer-MIB prtMarkerSuppliesLevel: "some remaining", level unknown


def maintenance_actions(
    devices: Iterable[AssessedDevice], spec: MaintenanceSpec, now: datetime
) -> list[MaintenanceAction]:
    """Every action for every device, the critical ones first."""
    actions: list[MaintenanceAction] = []
    for device in devices:
        actions.extend(supply_actions(device, spec))
        actions.extend(lamp_actions(device, spec))
        actions.extend(error_actions(device))
        actions.extend(absence_actions(device, spec, now))
    return sorted(actions, key=lambda a: (a.severity != "critical", a.device, a.kind))


def supply_percent(supply: Supply) -> float | None:
    """The supply's remaining share, from the probe's percent or from level/max."""
    if supply.percent is not None:
        return supply.percent
    if supply.level is None or supply.level == _SOME_REMAINING or supply.level < 0:
        return None
    if supply.level == 0:
        return 0.0
    if supply.max is not None and supply.max > 0:
        return min(100.0, 100.0 * supply.level / supply.max)
    return None


def supply_actions(device: AssessedDevice, spec: MaintenanceSpec) -> list[MaintenanceAction]:
    actions = []
    for supply in device.supplies:
        percent = supply_percent(supply)
        if percent is None or percent > spec.toner_low_percent:
            continue
        name = supply.description or "consommable"
        empty = percent <= 0
        actions.append(
            MaintenanceAction(
                device_id=device.id,
                device=device.label,
                kind="toner_empty" if empty else "toner_low",
                severity="critical" if empty else "warning",
                message=text(
                    f"{device.label} : « {name} » "
                    + (
                        "vide, à remplacer"
                        if empty
                        else f"à {fr_number(percent, 0)} %, à commander"
                    ),
                    f"{device.label}: “{name}” "
                    + (
                        "empty, replace it" if empty else f"at {en_number(percent, 0)} %, order one"
                    ),
                ),
            )
        )
    return actions


def lamp_actions(device: AssessedDevice, spec: MaintenanceSpec) -> list[MaintenanceAction]:
    rated = spec.rated_lamp_hours(device.model)
    warn_at = rated * spec.lamp_warn_ratio
    actions = []
    for index, hours in enumerate(device.lamp_hours):
        if hours < warn_at:
            continue
        past = hours >= rated
        lamp = f"lampe {index + 1}" if len(device.lamp_hours) > 1 else "lampe"
        lamp_en = f"lamp {index + 1}" if len(device.lamp_hours) > 1 else "lamp"
        actions.append(
            MaintenanceAction(
                device_id=device.id,
                device=device.label,
                kind="lamp_past_end" if past else "lamp_near_end",
                severity="critical" if past else "warning",
                message=text(
                    f"{device.label} : {lamp} à {hours} h pour une durée de vie de {rated} h"
                    + (", à remplacer" if past else ", prévoir le remplacement"),
                    f"{device.label}: {lamp_en} at {hours} h of a {rated} h rated life"
                    + (", replace it" if past else ", plan a replacement"),
                ),
            )
        )
    return actions


def error_actions(device: AssessedDevice) -> list[MaintenanceAction]:
    """PJLink ERST flags (and any probe's error map): warning or error, anything else is ok."""
    actions = []
    for part, state in sorted(device.errors.items()):
        if state not in ("warning", "error"):
            continue
        severity: Severity = "critical" if state == "error" else "warning"
        word_fr = "en erreur" if state == "error" else "en alerte"
        actions.append(
            MaintenanceAction(
                device_id=device.id,
                device=device.label,
                kind="error",
                severity=severity,
                message=text(
                    f"{device.label} : {_ERST_FR.get(part, part)} {word_fr}",
                    f"{device.label}: {part} {state}",
                ),
            )
        )
    return actions


def absence_actions(
    device: AssessedDevice, spec: MaintenanceSpec, now: datetime
) -> list[MaintenanceAction]:
    if device.last_seen is None:
        return []
    days = (now - device.last_seen).total_seconds() / 86_400
    if days < spec.not_seen_days:
        return []
    whole = int(days)
    return [
        MaintenanceAction(
            device_id=device.id,
            device=device.label,
            kind="not_seen",
            severity="warning",
            message=text(
                f"{device.label} : plus vu sur le réseau depuis {whole} jours "
                "(en panne, débranché ou retiré ?)",
                f"{device.label}: not seen on the network for {whole} days "
                "(broken, unplugged or removed?)",
            ),
        )
    ]
