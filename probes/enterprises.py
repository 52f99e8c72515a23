"""IANA Private Enterprise Numbers → vendor, for the makers seen in schools.

Why a small hand-kept table and not the full IANA registry (60,000+ lines): the
agent runs on a Raspberry Pi, offline, and only needs the vendors whose
equipment sits in a primary school (printers, projectors, NAS, Wi-Fi, switches,
internet boxes). An unknown number is reported as the number itself.
Source: https://www.iana.org/assignments/enterprise-numbers, except where a
comment says the number was only seen in device recordings.
"""

from __future__ import annotations

ENTERPRISE_PREFIX = (1, 3, 6, 1, 4, 1)

ENTERPRISES: dict[int, str] = {
    9: "Cisco",
    11: "HP",
    43: "3Com",
    171: "D-Link",
    232: "Compaq",
    236: "Samsung",
    253: "Xerox",
    311: "Microsoft",
    318: "APC",
    367: "Ricoh",
    368: "Axis",
    641: "Lexmark",
    674: "Dell",
    890: "Zyxel",
    1248: "Epson",
    1347: "Kyocera",
    1602: "Canon",
    1916: "Extreme Networks",
    2001: "Oki",
    2011: "Huawei",
    2021: "UC Davis (net-snmp)",
    2356: "LANCOM Systems",
    2385: "Sharp",
    2435: "Brother",
    2636: "Juniper",
    3375: "F5",
    4413: "Broadcom",
    4526: "Netgear",
    5227: "Buffalo",
    5624: "Enterasys",
    6486: "Alcatel-Lucent",
    6574: "Synology",
    6876: "VMware",
    7312: "Barco",
    7367: "DrayTek",
    8072: "net-snmp",
    10002: "Ubiquiti (Frogfoot)",
    10418: "Avocent",
    11863: "TP-Link",
    12356: "Fortinet",
    14179: "Cisco (Airespace)",
    14823: "Aruba",
    14988: "MikroTik",
    16972: "TP-Link",  # not verified in IANA: seen as sysObjectID of TP-Link SOHO modem-routers
    18334: "Konica Minolta",
    24681: "QNAP",
    25053: "Ruckus",
    25461: "Palo Alto Networks",
    26928: "Aerohive",
    29671: "Meraki",
    30065: "Arista",
    39165: "Hikvision",
    41112: "Ubiquiti",
    42397: "Grandstream",
    50536: "iXsystems",
}


def enterprise_of(sys_object_id: str) -> int | None:
    """`1.3.6.1.4.1.1248.4.1` → 1248; None when the OID is not under enterprises."""
    try:
        parts = tuple(int(p) for p in sys_object_id.strip().strip(".").split("."))
    except ValueError:
        return None
    if len(parts) <= len(ENTERPRISE_PREFIX) or parts[: len(ENTERPRISE_PREFIX)] != ENTERPRISE_PREFIX:
        return None
    return parts[len(ENTERPRISE_PREFIX)]


def vendor_for(enterprise: int | None) -> str | None:
    """Vendor name for an enterprise number; None when unknown or absent."""
    return None if enterprise is None else ENTERPRISES.get(enterprise)
