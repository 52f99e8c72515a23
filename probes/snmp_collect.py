"""What the snmp probe asks a device once a credential works, and the facts it keeps.

Why this order: one GET for the system group, one multi-root GETNEXT to learn
which standard MIBs exist, a few GETNEXT hops to list the enterprise subtrees,
then walks only of the tables that exist. A printer costs ~15 requests, a switch
that has none of the tables ~5. Every walk is capped in rows and seconds, and the
whole device has a time budget, so a hostile agent cannot hold the probe.

Why facts are written as they arrive and an optional `deadline`: the probe as a
whole has a deadline too. When it comes, reading stops and the facts gathered so
far (at least sysDescr/sysObjectID, which proved the credential) are kept — a
device half-read is still identified, where a cancelled read would lose it.

Fact keys are the `snmp.*` keys of docs/observations.md, nothing else.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from probes.base import FactValue
from probes.enterprises import ENTERPRISE_PREFIX, enterprise_of, vendor_for
from probes.snmp_session import Oid, SnmpSession, SnmpUnreachable, VarBind, parse_oid
from probes.snmp_values import as_int, as_mac, as_oid, as_text, supply_percent, timeticks_to_s

SYS_DESCR = parse_oid("1.3.6.1.2.1.1.1.0")
SYS_OBJECT_ID = parse_oid("1.3.6.1.2.1.1.2.0")
SYS_UPTIME = parse_oid("1.3.6.1.2.1.1.3.0")
SYS_NAME = parse_oid("1.3.6.1.2.1.1.5.0")
SYS_LOCATION = parse_oid("1.3.6.1.2.1.1.6.0")

ENT_PHYSICAL = parse_oid(
    "1.3.6.1.2.1.47.1.1.1.1"
)  # columns: 2 descr, 5 class, 10 sw, 11 serial, 13 model
HR_DEVICE = parse_oid("1.3.6.1.2.1.25.3.2.1")  # columns: 2 type, 3 descr
HR_PRINTER_STATUS = parse_oid("1.3.6.1.2.1.25.3.5.1.1")
PRINTER_MIB = parse_oid("1.3.6.1.2.1.43")
SUPPLIES = parse_oid("1.3.6.1.2.1.43.11.1.1")  # columns: 6 descr, 8 max, 9 level
MARKER_LIFE_COUNT = parse_oid("1.3.6.1.2.1.43.10.2.1.4")
IF_PHYS_ADDRESS = parse_oid("1.3.6.1.2.1.2.2.1.6")
DOT11 = parse_oid("1.2.840.10036")
DOT11_DESIRED_SSID = parse_oid("1.2.840.10036.1.1.1.9")
DOT11_PRODUCT_NAME = parse_oid("1.2.840.10036.3.1.2.1.3")
HR_DEVICE_TYPES = parse_oid("1.3.6.1.2.1.25.3.1")

_ENTITY_CHASSIS = 3  # entPhysicalClass chassis(3)
_ENTITY_ROWS = 32  # the chassis is among the first entities; big stacks list hundreds
_MAX_SUBTREE_HOPS = 16  # GETNEXT hops to list enterprise subtrees
_MAX_LIST = 64  # entries kept per list fact
_BUDGET_WALKS = 4  # a device gets at most 4 × max_walk_s for all its walks

HR_TYPE_NAMES = {
    1: "other",
    2: "unknown",
    3: "processor",
    4: "network",
    5: "printer",
    6: "disk_storage",
    10: "video",
    11: "audio",
    12: "coprocessor",
    13: "keyboard",
    14: "modem",
    15: "parallel_port",
    16: "pointing",
    17: "serial_port",
    18: "tape",
    19: "clock",
    20: "volatile_memory",
    21: "non_volatile_memory",
}

# Vendor scalars (model, serial, firmware), asked only when the vendor's subtree answers.
VENDOR_SCALARS: dict[int, list[tuple[str, str]]] = {
    6574: [("model", "6574.1.5.1.0"), ("serial", "6574.1.5.2.0"), ("firmware", "6574.1.5.3.0")],
    41112: [("model", "41112.1.6.3.3.0"), ("firmware", "41112.1.6.3.6.0")],
    25053: [
        ("model", "25053.1.2.1.1.1.1.9.0"),  # ZoneDirector system MIB
        ("serial", "25053.1.2.1.1.1.1.15.0"),
        ("firmware", "25053.1.2.1.1.1.1.18.0"),
        ("model", "25053.1.15.1.1.1.1.9.0"),  # Unleashed system MIB
        ("serial", "25053.1.15.1.1.1.1.15.0"),
        ("firmware", "25053.1.15.1.1.1.1.18.0"),
    ],
    26928: [
        ("model", "26928.1.2.6.0"),
        ("serial", "26928.1.2.5.0"),
        ("firmware", "26928.1.2.12.0"),
    ],
    42397: [("model", "42397.1.1.2.1.0"), ("firmware", "42397.1.1.2.4.0")],
    12356: [("firmware", "12356.120.1.1.0"), ("serial", "12356.120.1.2.0")],
    1347: [("model", "1347.43.5.1.1.1.1"), ("serial", "1347.43.5.1.1.28.1")],
    2356: [("serial", "2356.13.1.47.7.0"), ("firmware", "2356.13.1.47.9.0")],
}

# SSID columns of AP/controller vendor MIBs, walked when the vendor's subtree answers.
VENDOR_SSID_TABLES: dict[int, list[str]] = {
    41112: ["41112.1.6.1.2.1.6"],  # UBNT-UniFi-MIB unifiVapEssId
    14823: ["14823.2.3.3.1.1.7.1.2"],  # AI-AP-MIB (Aruba Instant) WLAN ESSID
    14179: ["14179.2.1.1.1.2"],  # AIRESPACE-WIRELESS-MIB bsnDot11EssSsid (Cisco WLC)
    25053: ["25053.1.2.2.1.1.1.1.1.1"],  # RUCKUS-ZD-WLAN-MIB ruckusZDWLANSSID
    12356: ["12356.120.7.1.1.4"],  # FORTINET-FORTIAP-MIB VAP SSID
}


def _enterprise_oid(suffix: str) -> Oid:
    return ENTERPRISE_PREFIX + parse_oid(suffix)


@dataclass
class _Budget:
    """Per-device walk limits: rows per walk, seconds per walk, seconds in all."""

    max_rows: int
    max_walk_s: float
    deadline: float

    def walk_s(self) -> float:
        return min(self.max_walk_s, self.deadline - time.monotonic())


async def _walk(session: SnmpSession, root: Oid, budget: _Budget, rows: int = 0) -> list[VarBind]:
    seconds = budget.walk_s()
    if seconds <= 0:
        return []
    cap = min(budget.max_rows, rows) if rows else budget.max_rows
    return await session.walk(root, max_rows=cap, max_s=seconds)


async def _column(
    session: SnmpSession, table: Oid, column: int, budget: _Budget, rows: int = 0
) -> dict[Oid, Any]:
    """Walk one table column; result keyed by row index (the OID part after the column)."""
    root = (*table, column)
    return {name[len(root) :]: value for name, value in await _walk(session, root, budget, rows)}


def _system_facts(values: dict[Oid, Any]) -> dict[str, FactValue]:
    facts: dict[str, FactValue] = {}
    for key, oid in (
        ("snmp.sys_descr", SYS_DESCR),
        ("snmp.sys_name", SYS_NAME),
        ("snmp.sys_location", SYS_LOCATION),
    ):
        text = as_text(values.get(oid))
        if text is not None:
            facts[key] = text
    object_id = as_oid(values.get(SYS_OBJECT_ID))
    if object_id is not None:
        facts["snmp.sys_object_id"] = object_id
        enterprise = enterprise_of(object_id)
        if enterprise is not None:
            facts["snmp.enterprise"] = enterprise
            vendor = vendor_for(enterprise)
            if vendor is not None:
                facts["snmp.vendor"] = vendor
    uptime = timeticks_to_s(values.get(SYS_UPTIME))
    if uptime is not None:
        facts["snmp.sys_uptime_s"] = uptime
    return facts


async def _enterprise_subtrees(session: SnmpSession) -> list[int]:
    """Enterprise numbers with data, by hopping GETNEXT from one subtree to the next."""
    found: list[int] = []
    cursor: Oid = ENTERPRISE_PREFIX
    for _ in range(_MAX_SUBTREE_HOPS):
        reply = await session.next_one(cursor)
        if reply is None:
            break
        name = reply[0]
        if name[: len(ENTERPRISE_PREFIX)] != ENTERPRISE_PREFIX or len(name) <= len(
            ENTERPRISE_PREFIX
        ):
            break
        number = name[len(ENTERPRISE_PREFIX)]
        if found and number <= found[-1]:
            break  # an agent that does not move forward
        found.append(number)
        cursor = (*ENTERPRISE_PREFIX, number + 1)
    return found


async def _entity_facts(session: SnmpSession, budget: _Budget) -> dict[str, FactValue]:
    classes = await _column(session, ENT_PHYSICAL, 5, budget, _ENTITY_ROWS)
    models = await _column(session, ENT_PHYSICAL, 13, budget, _ENTITY_ROWS)
    chassis = [idx for idx, value in sorted(classes.items()) if as_int(value) == _ENTITY_CHASSIS]
    with_model = [idx for idx, value in sorted(models.items()) if as_text(value)]
    # With classes known, only the chassis describes the device (not a port or a USB slot).
    ordered = [idx for idx in chassis if idx in with_model] + chassis if chassis else with_model
    if not ordered:
        return {}
    index = ordered[0]
    facts: dict[str, FactValue] = {}
    model = as_text(models.get(index))
    if model:
        facts["snmp.model"] = model
    for key, column in (("snmp.serial", 11), ("snmp.firmware", 10)):
        values = await _column(session, ENT_PHYSICAL, column, budget, _ENTITY_ROWS)
        text = as_text(values.get(index))
        if text:
            facts[key] = text
    return facts


async def _hr_devices(session: SnmpSession, budget: _Budget) -> list[dict[str, FactValue]]:
    types = await _column(session, HR_DEVICE, 2, budget)
    descrs = await _column(session, HR_DEVICE, 3, budget)
    devices: list[dict[str, FactValue]] = []
    for index in sorted(set(types) | set(descrs))[:_MAX_LIST]:
        type_oid = as_oid(types.get(index))
        type_name = "unknown"
        if type_oid is not None:
            parts = tuple(int(p) for p in type_oid.split("."))
            if parts[:-1] == HR_DEVICE_TYPES:
                type_name = HR_TYPE_NAMES.get(parts[-1], "other")
        devices.append({"type": type_name, "descr": as_text(descrs.get(index)) or ""})
    return devices


async def _printer_facts(session: SnmpSession, budget: _Budget) -> dict[str, FactValue]:
    facts: dict[str, FactValue] = {}
    names = await _column(session, SUPPLIES, 6, budget)
    maxima = await _column(session, SUPPLIES, 8, budget)
    levels = await _column(session, SUPPLIES, 9, budget)
    supplies: list[FactValue] = []
    for index in sorted(names)[:_MAX_LIST]:
        level, maximum = as_int(levels.get(index)), as_int(maxima.get(index))
        supplies.append(
            {
                "description": as_text(names[index]) or "",
                "level": level,
                "max": maximum,
                "percent": supply_percent(level, maximum),
            }
        )
    facts["snmp.supplies"] = supplies
    for _name, value in await _walk(session, MARKER_LIFE_COUNT, budget, 4):
        count = as_int(value)
        if count is not None and count >= 0:
            facts["snmp.page_count"] = count
            break
    return facts


async def _vendor_scalars(session: SnmpSession, vendors: set[int]) -> dict[str, FactValue]:
    wanted = [
        (key, _enterprise_oid(oid))
        for v in sorted(vendors)
        for key, oid in VENDOR_SCALARS.get(v, [])
    ]
    if not wanted:
        return {}
    values = await session.get([oid for _key, oid in wanted])
    facts: dict[str, FactValue] = {}
    for key, oid in wanted:
        text = as_text(values.get(oid))
        if text and f"snmp.{key}" not in facts:
            facts[f"snmp.{key}"] = text
    return facts


async def _ssids(
    session: SnmpSession, vendors: set[int], dot11: bool, budget: _Budget
) -> list[str]:
    roots = [DOT11_DESIRED_SSID] if dot11 else []
    roots += [_enterprise_oid(t) for v in sorted(vendors) for t in VENDOR_SSID_TABLES.get(v, [])]
    ssids: list[str] = []
    for root in roots:
        for _name, value in await _walk(session, root, budget):
            text = as_text(value)
            if text and text not in ssids and len(ssids) < _MAX_LIST:
                ssids.append(text)
    return ssids


async def collect(
    session: SnmpSession,
    first: dict[Oid, Any],
    *,
    max_rows: int,
    max_walk_s: float,
    deadline: float | None = None,
) -> dict[str, FactValue]:
    """All `snmp.*` facts for a device already reached (`first`: its sysDescr/sysObjectID).

    Walks share 4 × `max_walk_s`, cut to `deadline` (`time.monotonic()`) when that
    comes first; at `deadline` every request stops and the facts so far are returned.
    """
    walks_end = time.monotonic() + _BUDGET_WALKS * max_walk_s
    budget = _Budget(
        max_rows, max_walk_s, walks_end if deadline is None else min(walks_end, deadline)
    )
    facts = _system_facts(first)
    try:
        async with asyncio.timeout(None if deadline is None else deadline - time.monotonic()):
            system = dict(first)
            system.update(await session.get([SYS_UPTIME, SYS_NAME, SYS_LOCATION]))
            facts.update(_system_facts(system))
            await _collect_tables(session, facts, budget)
    except (SnmpUnreachable, TimeoutError):
        pass  # the device went quiet half-way, or time is up: keep what we have
    return facts


async def _collect_tables(
    session: SnmpSession, facts: dict[str, FactValue], budget: _Budget
) -> None:
    roots = [ENT_PHYSICAL, HR_DEVICE, HR_PRINTER_STATUS, PRINTER_MIB, IF_PHYS_ADDRESS, DOT11]
    present = await session.first_under(roots)
    subtrees = await _enterprise_subtrees(session)
    facts["snmp.vendor_subtrees"] = subtrees
    vendors = set(subtrees)
    enterprise = facts.get("snmp.enterprise")
    if isinstance(enterprise, int):
        vendors.add(enterprise)
    # model, serial, firmware: the first source wins (vendor MIB, ENTITY, HOST-RESOURCES, 802.11)
    facts.update(await _vendor_scalars(session, vendors & set(subtrees)))
    if ENT_PHYSICAL in present:
        for key, value in (await _entity_facts(session, budget)).items():
            facts.setdefault(key, value)
    if HR_DEVICE in present:
        devices = await _hr_devices(session, budget)
        facts["snmp.hr_devices"] = list(devices)
        printer_descr = next(
            (d["descr"] for d in devices if d["type"] == "printer" and d["descr"]), None
        )
        if printer_descr:
            facts.setdefault("snmp.model", printer_descr)
    if HR_PRINTER_STATUS in present:
        status = as_int(present[HR_PRINTER_STATUS][1])
        if status is not None:
            facts["snmp.hr_printer_status"] = status
    facts["snmp.printer_mib"] = PRINTER_MIB in present
    if PRINTER_MIB in present:
        facts.update(await _printer_facts(session, budget))
    if IF_PHYS_ADDRESS in present:
        macs = [m for _n, v in await _walk(session, IF_PHYS_ADDRESS, budget) if (m := as_mac(v))]
        facts["snmp.if_macs"] = list(dict.fromkeys(macs))[:_MAX_LIST]
    dot11 = DOT11 in present
    facts["snmp.dot11"] = dot11
    if dot11 and "snmp.model" not in facts:
        for _name, value in await _walk(session, DOT11_PRODUCT_NAME, budget, 1):
            if text := as_text(value):
                facts["snmp.model"] = text
    ssids = await _ssids(session, vendors & set(subtrees), dot11, budget)
    if ssids:
        facts["snmp.ssids"] = list(ssids)
