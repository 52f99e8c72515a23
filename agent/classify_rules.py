"""Evidence rules for `agent.classify`: what in the facts points at which kind of device.

Why rules as data: each entry is one piece of general knowledge about a kind of
device ("the Printer-MIB answers only on printers", "Epson projectors live under
1.3.6.1.4.1.1248.4", "ZoneDirector is a WLAN controller"), with a weight. None
keys on a particular unit's name, address or serial: the same rule has to hold for
an unseen device of the same kind. Weights: 5 = the device says what it is,
3 = a strong structural sign, 1.5–2.5 = a vendor's typical product, < 1 = a
fallback that any real evidence outweighs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class TextRule:
    """A pattern in what the device calls itself (sysDescr, models, hrDeviceDescr)."""

    pattern: re.Pattern[str]
    category: str
    weight: float
    label: str


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


TEXT_RULES: tuple[TextRule, ...] = (
    TextRule(_rx(r"projector|\bPJLink\b"), "projector", 5, "names a projector"),
    TextRule(
        _rx(
            r"ClickShare|AirMedia|\bSolstice\b|wePresent|InstaShow|Chromecast|Apple ?TV"
            r"|wireless presentation|screen mirroring|AirServer"
        ),
        "presentation_device",
        5,
        "names a wireless presentation/mirroring device",
    ),
    TextRule(
        _rx(
            r"interactive (flat )?(panel|display|whiteboard)|ActivPanel|Promethean|SMART Board"
            r"|ViewBoard|Clevertouch|\bIFP\d|\bTNI\b|\bVPI\b|Boxlight|Mimio"
        ),
        "interactive_display",
        5,
        "names an interactive display",
    ),
    TextRule(
        _rx(
            r"ZoneDirector|\bZD\d{3,4}\b|wireless lan controller|\bWLC\d*\b|Mobility (Controller|Master)|SmartZone|\bvSZ\b"
        ),
        "wlan_controller",
        6,
        "names a WLAN controller",
    ),
    TextRule(
        _rx(
            r"access ?point|\bUAP\b|\bUAP-|\bU[67]-|\bAP-?\d|\bWAP\d*\b|\bNWA\d|\bWAC\d|\bEAP\d{3}"
            r"|\bGWN7[6-8]\d\d|HiveOS|Instant AP|ArubaOS \(MODEL: (AP-)?\d{3}|LCOS[- ]LX"
            r"|Business Wireless|Ruckus Wireless R\d{3}"
        ),
        "access_point",
        3,
        "names a Wi-Fi access point",
    ),
    TextRule(
        _rx(
            r"\bNAS\b|TeraStation|LinkStation|ReadyNAS|TrueNAS|FreeNAS|DiskStation|RackStation"
            r"|Turbo ?NAS|\bQTS\b|\bDSM \d|My ?Cloud|OpenMediaVault|Unraid|Synology"
        ),
        "nas",
        4,
        "names a NAS",
    ),
    TextRule(
        _rx(r"scan ?server|\bscanner\b|ScanSnap|\bDS-\d{3,4}\b|\bADS-\d{4}"),
        "scanner",
        3,
        "names a scanner",
    ),
    TextRule(
        _rx(
            r"printer|printing system|LaserJet|OfficeJet|DeskJet|PageWide|JetDirect|\bLBP\d"
            r"|\bHL-\d|\bDCP-\d|\bMFC-\d|WorkForce|\bWF-[A-Z]?\d|EcoTank|ECOSYS|TASKalfa|bizhub"
            r"|Aficio|imageRUNNER|i-SENSYS|imageCLASS|AltaLink|VersaLink|WorkCentre|Phaser"
            r"|\bMX-\d{4}|\bMP C?\d{4}|\bIM C?\d{3,4}"
        ),
        "printer",
        2.5,
        "names a printer model or line",
    ),
    TextRule(
        _rx(r"\bswitch\b|switch\b|\b[GX]S\d{4}|\bXGS\d|JetStream|ProCurve|Catalyst|\bUSW\b"),
        "switch",
        3,
        "names a switch",
    ),
    TextRule(
        _rx(
            r"router\b|\bRouterOS\b|firewall|pfSense|OPNsense|FortiGate|\bFGT_?\d|\bVigor\d"
            r"|\bUSG\b|Dream Machine|Livebox|Freebox|\bBbox\b|SonicWall|WatchGuard|Stormshield"
            r"|IPFire|Build \d{6} Rel\.\d+"
        ),
        "router",
        3,
        "names a router/firewall or carries SOHO router firmware",
    ),
    TextRule(
        _rx(r"\bcamera\b|IP ?Cam|\bNVR\b|\bDVR\b|Hikvision|Dahua|\bAXIS\b|visuali[sz]er|IPEVO"),
        "camera",
        3,
        "names a camera",
    ),
    TextRule(
        _rx(r"\bWindows\b|\bDarwin\b|mac ?OS|Mac OS X|MacBook|iMac|Mac ?mini|Chromebook"),
        "computer",
        2.5,
        "names a desktop OS or computer",
    ),
    TextRule(
        _rx(r"iPhone|iPad|\bAndroid\b|Galaxy (Tab|S\d)|\bPixel \d"),
        "tablet_or_phone",
        3,
        "names a tablet or phone",
    ),
)

# Multifunction signs (only meaningful once the device is known to print).
MFP_PATTERN = _rx(
    r"\bMFP\b|\bMFP\d|\d+MFP\b|\bMFC-|multi-?function|\bcopier\b|facsimile|\bfax\b"
    r"|network scanner|scanner unit|All-in-One|bizhub|Aficio MP|\bMP C?\d{4}|\bIM C?\d{3,4}"
    r"|imageRUNNER|WorkCentre|AltaLink|TASKalfa|ECOSYS M\d|\bMX-\d{4}"
)

# sysObjectID prefixes whose products are one kind of device.
OID_RULES: tuple[tuple[str, str, float, str], ...] = (
    ("1.3.6.1.4.1.1248.4", "projector", 3, "Epson projector branch"),
    ("1.3.6.1.4.1.1248.1", "printer", 1.5, "Epson printer/scanner branch"),
    ("1.3.6.1.4.1.11.2.3.9", "printer", 2.5, "HP JetDirect branch"),
    ("1.3.6.1.4.1.11.2.3.7", "switch", 2.5, "HP ProCurve switch branch"),
    ("1.3.6.1.4.1.674.10898", "printer", 2, "Dell printer branch"),
    ("1.3.6.1.4.1.236.11", "printer", 2, "Samsung printer branch"),
    ("1.3.6.1.4.1.12356.101", "router", 3, "FortiGate branch"),
    ("1.3.6.1.4.1.12356.120", "access_point", 3, "FortiAP branch"),
    ("1.3.6.1.4.1.12356.106", "switch", 3, "FortiSwitch branch"),
    ("1.3.6.1.4.1.41112.1.6", "access_point", 3, "UniFi access point branch"),
    ("1.3.6.1.4.1.41112.1.5", "router", 2.5, "EdgeRouter branch"),
    ("1.3.6.1.4.1.14823.1.2", "access_point", 2.5, "Aruba access point branch"),
    ("1.3.6.1.4.1.14823.1.1", "wlan_controller", 3, "Aruba controller branch"),
    ("1.3.6.1.4.1.9.6.1.37", "access_point", 2, "Cisco Business Wireless branch"),
    ("1.3.6.1.4.1.2356.13", "access_point", 2.5, "LANCOM LCOS LX (access point) branch"),
    ("1.3.6.1.4.1.311.1.1.3", "computer", 2, "Windows branch"),
)

# Enterprise number → the kind its maker mostly ships (weaker than an OID branch).
ENTERPRISE_RULES: dict[int, tuple[str, float]] = {
    2435: ("printer", 1.5),  # Brother
    1602: ("printer", 1.5),  # Canon
    1347: ("printer", 1.5),  # Kyocera
    367: ("printer", 1.5),  # Ricoh
    253: ("printer", 1.5),  # Xerox
    641: ("printer", 1.5),  # Lexmark
    18334: ("printer", 1.5),  # Konica Minolta
    2385: ("printer", 1.5),  # Sharp
    2001: ("printer", 1.5),  # Oki
    6574: ("nas", 3),  # Synology
    24681: ("nas", 3),  # QNAP
    50536: ("nas", 3),  # iXsystems (TrueNAS)
    5227: ("nas", 3),  # Buffalo
    7312: ("presentation_device", 2),  # Barco (ClickShare)
    25053: ("access_point", 2),  # Ruckus
    26928: ("access_point", 2.5),  # Aerohive
    42397: ("access_point", 1),  # Grandstream (APs, also phones and routers)
    14988: ("router", 2),  # MikroTik
    7367: ("router", 2),  # DrayTek
    16972: ("router", 1.5),  # TP-Link SOHO modem-routers
    368: ("camera", 2),  # Axis
    39165: ("camera", 2),  # Hikvision
}

# Vendor subtrees that answer only on that vendor's appliances (agent-independent of sysObjectID).
SUBTREE_RULES: dict[int, tuple[str, float, str]] = {
    6574: ("nas", 3.5, "SYNOLOGY-MIB"),
    24681: ("nas", 3.5, "QNAP NAS-MIB"),
    50536: ("nas", 3.5, "TrueNAS MIB"),
    5227: ("nas", 3.5, "BUFFALO MIB"),
    41112: ("access_point", 1.5, "Ubiquiti MIB"),
    26928: ("access_point", 2, "Aerohive MIB"),
    14179: ("access_point", 1.5, "Airespace wireless MIB"),
}

GENERIC_OS_PATTERN = _rx(r"^(Linux|FreeBSD|NetBSD|OpenBSD|SunOS)\b")
NET_SNMP_PREFIX = "1.3.6.1.4.1.8072.3.2"
RADIO_INTERFACE = _rx(r"network interface (wifi\d|ath\d|wlan\d-\d|ra\d|rai\d)\b")
PRINTER_SERVICES = frozenset({"_ipp._tcp", "_ipps._tcp", "_printer._tcp", "_pdl-datastream._tcp"})
SCANNER_SERVICES = frozenset({"_uscan._tcp", "_uscans._tcp", "_scanner._tcp"})
SHARE_SERVICES = frozenset({"_smb._tcp", "_afpovertcp._tcp", "_nfs._tcp", "_adisk._tcp"})
MIRROR_SERVICES = frozenset({"_googlecast._tcp", "_airplay._tcp", "_raop._tcp"})
CAMERA_SERVICES = frozenset({"_axis-video._tcp", "_rtsp._tcp"})
COMPUTER_SERVICES = frozenset({"_workstation._tcp", "_companion-link._tcp", "_rdlink._tcp"})
MAC_MODEL = _rx(r"^(MacBook|iMac|Macmini|MacPro|Mac\d|MacStudio)")
NAS_MODEL = _rx(r"^(Xserve|RackMac)|@ECOLOR|MacSamba")  # Samba's fruit module, not a real Mac
PHONE_MODEL = _rx(r"^(iPhone|iPad|iPod)")
GENERIC_VENDORS = frozenset({"net-snmp", "UC Davis (net-snmp)"})


# A host that answers nothing but ARP: its MAC's maker is the only hint. Weak votes, and
# only for makers whose silent network devices are nearly always laptops or desktops
# (PC makers, laptop Wi-Fi chips) or tablets and phones. Infrastructure answers SNMP,
# mDNS or PJLink and never reaches these rules.
SILENT_COMPUTER_MAKERS = (
    "dell",
    "lenovo",
    "acer",
    "asustek",
    "microsoft",
    "intel corporate",
    "dynabook",
    "getac",
)
SILENT_MOBILE_MAKERS = (
    "apple",
    "samsung electronics",
    "huawei",
    "xiaomi",
    "oneplus",
    "motorola mobility",
)
