"""Facts as the inventory keeps them: sanitised, bounded, and what identifies a device.

Probes already clean their strings, but the inventory is the last gate before the
database, the status page and the collector, so it re-checks everything it stores:
text is printable and capped, containers are bounded in length and depth, and any
type a probe should not have sent becomes text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from probes.base import (
    MAX_FACT_STRING,
    FactValue,
    clean_text,
    is_locally_administered,
    normalise_mac,
)

MAX_ITEMS = 64  # list items or dict keys per container
MAX_DEPTH = 4  # nesting levels kept (mdns.txt is 2, snmp.supplies 2)
KEY_LIMIT = 64  # chars per dict key

# Serials that firmware ships on every unit: joining devices on them would merge strangers.
_JUNK_SERIALS = {"unknown", "none", "n/a", "na", "null", "default", "serial", "123456789"}


def sanitise(value: Any, depth: int = 0) -> FactValue:
    """A copy of `value` that is safe to store and show (as text, escaped by the renderer)."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str | bytes):
        return clean_text(value, MAX_FACT_STRING)
    if depth >= MAX_DEPTH:
        return None
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in list(value.items())[:MAX_ITEMS]:
            if text := clean_text(str(key), KEY_LIMIT):
                out[text] = sanitise(item, depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        return [sanitise(item, depth + 1) for item in list(value)[:MAX_ITEMS]]
    return clean_text(str(value), MAX_FACT_STRING)


def sanitise_facts(facts: Mapping[str, Any]) -> dict[str, FactValue]:
    cleaned = sanitise(facts)
    return cleaned if isinstance(cleaned, dict) else {}


def namespace(key: str) -> str:
    """`snmp.sys_descr` → `snmp`: facts are replaced per probe namespace each cycle."""
    return key.split(".", 1)[0]


def useful_serial(value: object) -> str | None:
    """A serial number worth joining on, normalised, or None for junk."""
    if not isinstance(value, str):
        return None
    text = value.strip().upper()
    if len(text) < 4 or len(set(text)) < 3 or text.lower() in _JUNK_SERIALS:
        return None
    return text


def identity_keys(facts: Mapping[str, FactValue]) -> set[str]:
    """Keys that name one physical device across MACs: serials, Cast ids, interface MACs."""
    keys: set[str] = set()
    for fact in ("snmp.serial", "pjlink.serial"):
        if serial := useful_serial(facts.get(fact)):
            keys.add(f"serial:{serial}")
    txt = facts.get("mdns.txt")
    if isinstance(txt, dict):
        cast = txt.get("_googlecast._tcp")
        if isinstance(cast, dict) and isinstance(cast.get("id"), str) and len(cast["id"]) >= 8:
            keys.add(f"cast:{cast['id'].lower()}")
    return keys


def interface_macs(facts: Mapping[str, FactValue]) -> set[str]:
    """Other MACs the device itself reports (SNMP ifPhysAddress): they are the same device."""
    macs: set[str] = set()
    raw = facts.get("snmp.if_macs")
    if isinstance(raw, list):
        for item in raw:
            try:
                mac = normalise_mac(str(item))
            except ValueError:
                continue
            # Shared virtual MACs (VRRP 00:00:5e, randomised) would join strangers.
            if mac != "00:00:00:00:00:00" and not (
                mac.startswith("00:00:5e") or is_locally_administered(mac)
            ):
                macs.add(mac)
    return macs


def first_text(facts: Mapping[str, FactValue], *keys: str) -> str:
    for key in keys:
        value = facts.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""
