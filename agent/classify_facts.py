"""A typed, forgiving view of merged facts for the classifier.

Why: facts come from several probes, from stored state and from devices that lie;
a key may be missing or carry the wrong type. Every accessor here returns a safe
default instead of raising, so `classify` never fails on odd input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cached_property

from agent import classify_rules as rules
from probes.base import FactValue
from probes.enterprises import vendor_for

_HP_PID = re.compile(r"PID:\s*([^,;]+)")
_ROUTER_MODEL = re.compile(r"Model:\s*([\w.-]+)")


class FactView:
    """Read-only typed accessors over `dict[str, FactValue]`."""

    def __init__(self, facts: Mapping[str, FactValue]) -> None:
        self.facts = facts

    def text(self, key: str) -> str:
        value = self.facts.get(key)
        return value.strip() if isinstance(value, str) else ""

    def number(self, key: str) -> int | None:
        value = self.facts.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def flag(self, key: str) -> bool:
        return self.facts.get(key) is True

    def strings(self, key: str) -> list[str]:
        value = self.facts.get(key)
        return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []

    @property
    def sys_descr(self) -> str:
        return self.text("snmp.sys_descr")

    @property
    def sys_object_id(self) -> str:
        return self.text("snmp.sys_object_id").strip(".")

    @property
    def enterprise(self) -> int | None:
        return self.number("snmp.enterprise")

    @property
    def snmp_vendor(self) -> str:
        vendor = self.text("snmp.vendor")
        return "" if vendor in rules.GENERIC_VENDORS else vendor

    @property
    def subtrees(self) -> list[int]:
        value = self.facts.get("snmp.vendor_subtrees")
        if not isinstance(value, list):
            return []
        return [n for n in value if isinstance(n, int) and not isinstance(n, bool)]

    @property
    def subtree_vendor(self) -> str:
        """Maker of an appliance running generic net-snmp, from its private MIB subtree."""
        for number in self.subtrees:
            vendor = vendor_for(number)
            if vendor and vendor not in rules.GENERIC_VENDORS:
                return vendor
        return ""

    @property
    def printer_mib(self) -> bool:
        return self.flag("snmp.printer_mib")

    @property
    def dot11(self) -> bool:
        return self.flag("snmp.dot11")

    @property
    def ssids(self) -> list[str]:
        return [s for s in self.strings("snmp.ssids") if s]

    @cached_property
    def hr_devices(self) -> list[tuple[str, str]]:
        value = self.facts.get("snmp.hr_devices")
        if not isinstance(value, list):
            return []
        rows = []
        for row in value:
            if isinstance(row, dict):
                kind, descr = row.get("type"), row.get("descr")
                rows.append(
                    (kind if isinstance(kind, str) else "", descr if isinstance(descr, str) else "")
                )
        return rows

    @property
    def hr_printers(self) -> list[str]:
        return [descr for kind, descr in self.hr_devices if kind == "printer" and descr]

    @property
    def prints(self) -> bool:
        """The device itself prints (Printer-MIB, an hrDevicePrinter, an IPP/LPD service)."""
        if self.printer_mib or (self.hr_printers and not self.general_os):
            return True
        return bool(self.services & rules.PRINTER_SERVICES)

    @property
    def radio_interfaces(self) -> list[str]:
        return [d for _kind, d in self.hr_devices if rules.RADIO_INTERFACE.search(d)]

    @property
    def general_os(self) -> bool:
        """sysDescr of a general-purpose OS: its print queues are not a printer."""
        descr = self.sys_descr
        return (
            bool(rules.GENERIC_OS_PATTERN.search(descr)) or "Windows" in descr or "Darwin" in descr
        )

    @property
    def net_snmp_oid(self) -> bool:
        return self.sys_object_id.startswith(rules.NET_SNMP_PREFIX)

    @cached_property
    def services(self) -> frozenset[str]:
        return frozenset(self.strings("mdns.services"))

    @property
    def device_model(self) -> str:
        txt = self.facts.get("mdns.txt")
        if isinstance(txt, dict):
            info = txt.get("_device-info._tcp")
            if isinstance(info, dict) and isinstance(info.get("model"), str):
                return str(info["model"])
        return self.text("mdns.model")

    @property
    def mac_model(self) -> bool:
        return bool(rules.MAC_MODEL.search(self.device_model))

    @property
    def nas_model(self) -> bool:
        return bool(rules.NAS_MODEL.search(self.device_model))

    @property
    def phone_model(self) -> bool:
        return bool(rules.PHONE_MODEL.search(self.device_model))

    @property
    def pjlink(self) -> bool:
        return any(key.startswith("pjlink.") for key in self.facts)

    @property
    def pjlink_label(self) -> str:
        name = " ".join(
            p for p in (self.text("pjlink.manufacturer"), self.text("pjlink.model")) if p
        )
        return f" ({name[:40]})" if name else ""

    @property
    def locally_administered(self) -> bool:
        return self.flag("arp.locally_administered")

    @property
    def nothing_else(self) -> bool:
        """Only ARP/OUI facts: a host that answers nothing (typical of phones and tablets)."""
        return not any(key.split(".", 1)[0] in {"snmp", "mdns", "pjlink"} for key in self.facts)

    def texts(self) -> list[tuple[str, str]]:
        """(source, text) pairs where a device names itself, best first."""
        pairs = [
            ("snmp sysDescr", self.sys_descr),
            ("snmp model", self.text("snmp.model")),
            ("pjlink model", self.text("pjlink.model")),
            ("mdns model", self.text("mdns.model")),
            ("mdns manufacturer", self.text("mdns.manufacturer")),
        ]
        if not self.general_os:  # a PC lists its print queues and drivers here
            pairs += [("snmp hrDeviceDescr", d) for _kind, d in self.hr_devices[:16]]
        return [(source, text) for source, text in pairs if text]

    def mfp_sign(self) -> str:
        """Why this printing device is a multifunction one, or "" if nothing says so."""
        for source, text in self.texts():
            if rules.MFP_PATTERN.search(text):
                return f"{source} '{text[:40]}' shows multifunction"
        if self.services & rules.SCANNER_SERVICES:
            return "mdns scan service (eSCL) next to printing"
        txt = self.facts.get("mdns.txt")
        if isinstance(txt, dict):
            for values in txt.values():
                if isinstance(values, dict) and (
                    values.get("Scan") == "T" or values.get("Fax") == "T"
                ):
                    return "mdns TXT Scan=T/Fax=T"
        return ""

    def vendor_guess(self) -> str | None:
        for candidate in (
            self.text("pjlink.manufacturer"),
            self.snmp_vendor,
            self.subtree_vendor,
            self.text("mdns.manufacturer"),
            self.text("oui.vendor"),
        ):
            if candidate:
                return candidate[:64]
        return None

    def model_guess(self) -> str | None:
        for candidate in (
            self.text("pjlink.model"),
            self.text("snmp.model"),
            self.text("mdns.model"),
        ):
            if candidate and not rules.NAS_MODEL.search(candidate):
                return candidate[:64]
        for pattern in (_HP_PID, _ROUTER_MODEL):
            match = pattern.search(self.sys_descr)
            if match:
                return match.group(1).strip()[:64]
        return None
