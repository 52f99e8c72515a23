"""The default school: which devices exist, their vendor OUIs, SNMP data, mDNS services.

Why here: the rig must look like a real French primary school to the agent
(projectors or interactive displays per classroom, printers and an MFP, a
scanner, NAS, Wi-Fi APs, a presentation box, a switch, teachers' laptops,
tablets with randomised MACs).  Planning is pure (no root, no network), so the
ground truth can be computed and unit-tested without building anything.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
from dataclasses import dataclass, field, replace

from . import recordings
from .mdns_catalog import cast_services, nas_services, printer_services, scanner_service
from .model import Category, Host, MdnsService, PjlinkSpec, Role, SchoolPlan, SnmpSpec

MAX_LAN_HOSTS = 252  # a /24 minus network, broadcast, router and agent


@dataclass(frozen=True)
class Template:
    """A kind of device before it gets a name, IP and MAC."""

    category: Category
    vendor: str
    model: str
    ouis: tuple[str, ...]
    recording: str | None = None  # "<category>/<name>" in the LibreNMS set
    profile: str | None = None  # stem in tests/rig/profiles (used without recordings)
    mdns: tuple[MdnsService, ...] = ()
    pjlink: bool = False
    private_mac_ratio: float = 0.0  # share of hosts of this kind using a random MAC


PROJECTOR = Template(
    "projector",
    "Epson",
    "EB-4770W",
    ("64:eb:8c", "00:26:ab"),
    recording="projector/epson-projector_eb-4770w",
    profile="rig_projector",
    pjlink=True,
)
TNI = Template(
    "interactive_display",
    "Promethean",
    "ActivPanel Nickel",
    ("6c:dc:6a",),
    mdns=cast_services("ActivPanel Nickel", "Promethean", "{room} ActivPanel", airplay=False),
)

INFRA: tuple[tuple[str, Template], ...] = (
    (
        "switch-baie",
        Template(
            "switch",
            "Cisco",
            "SG350-10",
            ("00:1b:54", "00:25:b5"),
            recording="switch/ciscosb_sg350-10",
        ),
    ),
    (
        "ap-preau",
        Template(
            "access_point",
            "Ubiquiti",
            "UAP-nanoHD",
            ("24:5a:4c", "fc:ec:da"),
            recording="access_point/unifi_nanohd",
            profile="rig_ap",
        ),
    ),
    (
        "ap-bcd",
        Template(
            "access_point",
            "HPE Aruba",
            "IAP-225",
            ("24:de:c6", "00:0b:86"),
            recording="access_point/aruba-instant",
            profile="rig_ap",
        ),
    ),
    (
        "nas-synology",
        Template(
            "nas",
            "Synology",
            "DS916+",
            ("00:11:32",),
            recording="nas/dsm_ds916",
            profile="rig_nas",
            mdns=nas_services("DS916+", "Synology", "Xserve"),
        ),
    ),
    (
        "nas-qnap",
        Template(
            "nas",
            "QNAP",
            "TVS-871U-RP",
            ("24:5e:be",),
            recording="nas/qnap",
            mdns=nas_services("TVS-871U-RP", "QNAP", "Xserve"),
        ),
    ),
    (
        "printer-hp",
        Template(
            "printer",
            "HP",
            "Color LaserJet Pro M252dw",
            ("40:b0:34", "f8:0d:ac"),
            recording="printer/jetdirect_m252dw",
            profile="rig_printer",
            mdns=printer_services("Color LaserJet Pro M252dw", "HP", "Bureau direction", False),
        ),
    ),
    (
        "mfp-ricoh",
        Template(
            "mfp",
            "Ricoh",
            "Aficio MP C3002",
            ("00:26:73",),
            recording="printer/ricoh_mpc3002",
            mdns=printer_services("Aficio MP C3002", "RICOH", "Salle des maitres", True),
        ),
    ),
    (
        "printer-brother",
        Template(
            "printer",
            "Brother",
            "HL-5370DW",
            ("00:80:77", "00:1b:a9"),
            recording="printer/brother_hl5370dw",
            mdns=printer_services("HL-5370DW series", "Brother", "Classe CP", False),
        ),
    ),
    (
        "mfp-kyocera",
        Template(
            "mfp",
            "Kyocera",
            "FS-1028MFP",
            ("d4:f0:c9",),
            recording="printer/kyocera",
            mdns=printer_services("FS-1028MFP", "Kyocera", "Couloir", True),
        ),
    ),
    (
        "scanner-epson",
        Template(
            "scanner",
            "Epson",
            "DS-860",
            ("64:eb:8c",),
            recording="printer/epson-scanner_ds-860",
            mdns=(scanner_service("DS-860", "EPSON", "Direction"),),
        ),
    ),
    (
        "clickshare",
        Template(
            "presentation_device",
            "Barco",
            "ClickShare CSE-200",
            ("00:04:a5",),
            recording="display/clickshare_main",
            mdns=cast_services("ClickShare CSE-200", "Barco", "ClickShare-BCD", airplay=True),
        ),
    ),
)

LAPTOP = Template(
    "computer", "Dell", "Latitude 3440", ("8c:ec:4b", "00:26:b9"), private_mac_ratio=0.2
)
TABLET = Template(
    "tablet_or_phone", "Apple", "iPad", ("f0:18:98", "3c:22:fb"), private_mac_ratio=0.6
)
AGENT_OUI = "dc:a6:32"  # Raspberry Pi Trading
ROUTER_OUI = "00:24:d4"  # Freebox SAS: a typical French school "box"


def _mac(rng: random.Random, oui: str | None) -> str:
    """A MAC under ``oui``, or a locally-administered unicast one when ``oui`` is None."""
    tail = [rng.randrange(256) for _ in range(3)]
    if oui is None:
        first = (rng.randrange(256) & 0xFC) | 0x02
        head = [first, rng.randrange(256), rng.randrange(256)]
        return ":".join(f"{b:02x}" for b in head + tail)
    return oui + ":" + ":".join(f"{b:02x}" for b in tail)


def _classroom_display(i: int) -> Template:
    """Every third classroom has an interactive panel, the others a projector."""
    return TNI if i % 3 == 0 else PROJECTOR


def device_list(classrooms: int) -> list[tuple[str, Template, int | None]]:
    """(name, template, classroom) for the default school's infrastructure devices."""
    out: list[tuple[str, Template, int | None]] = []
    for i in range(1, classrooms + 1):
        t = _classroom_display(i)
        kind = "vp" if t is PROJECTOR else "tni"
        out.append((f"{kind}-classe{i}", t, i))
    out.extend((name, t, None) for name, t in INFRA)
    return out


def client_list(classrooms: int, count: int) -> list[tuple[str, Template, int | None]]:
    """Teachers' laptops (one per classroom first), then the head's PC, then tablets."""
    out: list[tuple[str, Template, int | None]] = []
    for i in range(1, classrooms + 1):
        out.append((f"portable-classe{i}", LAPTOP, i))
    out.append(("pc-direction", LAPTOP, None))
    t = 1
    while len(out) < count:
        out.append((f"tablette-{t:02d}", TABLET, None))
        t += 1
    return out[:count]


def _fill(value: str, host: Host, room: str) -> str:
    mac_hex = host.mac.replace(":", "")
    uuidhex = hashlib.md5(f"{host.name}/{host.mac}".encode()).hexdigest()[:12]
    uuid = f"564e4333-4a31-{mac_hex[:4]}-8000-{mac_hex}"
    return value.format(
        ip=host.ip,
        mac=host.mac.upper(),
        mac6=mac_hex[-6:].upper(),
        host=host.name,
        uuid=uuid,
        uuidhex=uuidhex + mac_hex[:4],
        serial=f"RIG{mac_hex[-6:].upper()}",
        room=room,
    )


def _services(t: Template, host: Host) -> list[MdnsService]:
    room = f"Classe {host.classroom}" if host.classroom else "Ecole"
    return [
        MdnsService(
            s.type,
            _fill(s.instance, host, room),
            s.port,
            {k: _fill(v, host, room) for k, v in s.txt.items()},
        )
        for s in t.mdns
    ]


def _snmp(t: Template, force_profiles: bool) -> SnmpSpec | None:
    df = recordings.resolve(t.recording, t.profile, force_profiles)
    if df is None:
        return None
    descr, oid = recordings.identity(df.path)
    return SnmpSpec(df.community, "snmpsim", df.source, str(df.path), descr, oid)  # type: ignore[arg-type]


@dataclass
class PlanOptions:
    """Knobs of ``plan_school``; defaults make the standard demo school."""

    prefix: str = "sa0000"
    classrooms: int = 4
    hosts: int | None = None  # LAN hosts besides router and agent; None = devices + clients
    down_mbit: float = 20.0
    up_mbit: float = 5.0
    lan_cidr: str = "10.77.1.0/24"
    wan_cidr: str = "10.78.1.0/24"
    force_profiles: bool = False
    seed: int = 0
    pjlink_overrides: dict[str, PjlinkSpec] = field(default_factory=dict)


def plan_school(opts: PlanOptions) -> SchoolPlan:
    """Compute the full ground truth (names, IPs, MACs, identities) of a school."""
    rng = random.Random(opts.seed)
    lan = ipaddress.ip_network(opts.lan_cidr)
    wan = ipaddress.ip_network(opts.wan_cidr)
    if lan.prefixlen != 24 or wan.prefixlen != 24:
        raise ValueError("lan_cidr and wan_cidr must be /24 networks")
    devices = device_list(opts.classrooms)
    n_hosts = opts.hosts if opts.hosts is not None else len(devices) + opts.classrooms + 5
    if not 0 <= n_hosts <= MAX_LAN_HOSTS:
        raise ValueError(f"hosts must be between 0 and {MAX_LAN_HOSTS}, got {n_hosts}")
    devices = devices[:n_hosts]
    entries = devices + client_list(opts.classrooms, n_hosts - len(devices))
    addrs = list(lan.hosts())
    first = 9 if n_hosts <= len(addrs) - 9 else 2  # leave .3-.9 free when there is room
    router = Host(
        "router",
        "router",
        "router",
        "Free",
        "Freebox (rig router)",
        ip=str(addrs[0]),
        mac=_mac(rng, ROUTER_OUI),
        netns=f"{opts.prefix}-rt",
        oui=ROUTER_OUI,
    )
    agent = Host(
        "agent",
        "agent",
        "computer",
        "Raspberry Pi",
        "socle-agent box",
        ip=str(addrs[1]),
        mac=_mac(rng, AGENT_OUI),
        netns=f"{opts.prefix}-ag",
        oui=AGENT_OUI,
    )
    hosts = [router, agent]
    for idx, (name, t, room) in enumerate(entries):
        private = rng.random() < t.private_mac_ratio
        oui = None if private else t.ouis[idx % len(t.ouis)]
        role: Role = "client" if t in (LAPTOP, TABLET) else "device"
        h = Host(
            name,
            role,
            t.category,
            t.vendor,
            t.model,
            ip=str(addrs[first + idx]),
            mac=_mac(rng, oui),
            netns=f"{opts.prefix}-h{idx + 1}",
            classroom=room,
            private_mac=private,
            oui=oui or "",
        )
        h.snmp = _snmp(t, opts.force_profiles)
        h.mdns = _services(t, h)
        if t.pjlink:
            base = PjlinkSpec(name=f"Classe {room}" if room else name)
            h.pjlink = opts.pjlink_overrides.get(name, base)
        hosts.append(h)
    wan_addrs = list(wan.hosts())
    inet = Host(
        "inet",
        "inet",
        None,
        "Internet",
        "rig internet host",
        ip=str(wan_addrs[0]),
        mac=_mac(rng, None),
        netns=f"{opts.prefix}-in",
    )
    hosts.append(inet)
    router.snmp = SnmpSpec(
        "public", "snmpd", "live", None, _ROUTER_DESCR, "1.3.6.1.4.1.8072.3.2.10"
    )
    return SchoolPlan(
        prefix=opts.prefix,
        lan_cidr=str(lan),
        wan_cidr=str(wan),
        router_lan_ip=router.ip,
        router_wan_ip=str(wan_addrs[1]),
        inet_ip=inet.ip,
        down_mbit=opts.down_mbit,
        up_mbit=opts.up_mbit,
        classrooms=opts.classrooms,
        hosts=hosts,
    )


_ROUTER_DESCR = "Linux socle-rig-router (net-snmp) school internet box"


def with_pjlink(plan: SchoolPlan, name: str, **changes: object) -> None:
    """Change a projector's PJLink behaviour in a plan before building it."""
    h = plan.host(name)
    if h.pjlink is None:
        raise ValueError(f"{name} has no PJLink")
    h.pjlink = replace(h.pjlink, **changes)  # type: ignore[arg-type]
