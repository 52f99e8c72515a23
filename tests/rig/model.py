"""Ground-truth data model of a simulated school.

Why a separate module: the plan of a school (who is where, with which MAC and
which SNMP/mDNS/PJLink identity) is pure data.  Tests of the agent compare what
it discovered against these records, so they must be serialisable to JSON and
independent of the machinery that brings the network up.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from agent.categories import DeviceCategory

Category = DeviceCategory  # the agent's own categories: the ground truth speaks its language

Role = Literal["agent", "router", "inet", "device", "client"]

SCHEMA_VERSION = 1  # bump when the JSON layout below changes


@dataclass(frozen=True)
class MdnsService:
    """One DNS-SD service a host publishes (type like ``_ipp._tcp``)."""

    type: str
    instance: str
    port: int
    txt: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PjlinkSpec:
    """Behaviour of the PJLink projector simulator on one host.

    ``mode`` selects misbehaviour for tests: ``normal``; ``silent`` (accepts TCP
    and never answers); ``no_udp`` (no class 2 search answer).
    """

    name: str = "Salle 1"
    manufacturer: str = "EPSON"
    model: str = "EB-4770W"
    password: str | None = None
    lamp_hours: int = 1234
    lamp_on: bool = True
    error_status: str = "000000"
    power: str = "1"
    input: str = "31"
    serial: str = "X4HK7300123"
    software: str = "1.02"
    filter_hours: int = 560
    other_info: str = "socle-rig simulated projector"
    pjlink_class: int = 2
    mode: Literal["normal", "silent", "no_udp"] = "normal"


@dataclass(frozen=True)
class SnmpSpec:
    """How a host answers SNMP: which data file, which community, what identity."""

    community: str
    server: Literal["snmpsim", "snmpd"]
    source: Literal["recording", "profile", "live"]
    data_file: str | None
    sys_descr: str
    sys_object_id: str


@dataclass
class Host:
    """One host of the rig and the truth a discovery agent should find about it."""

    name: str
    role: Role
    category: Category | None
    vendor: str
    model: str
    ip: str = ""
    mac: str = ""
    netns: str = ""
    classroom: int | None = None
    private_mac: bool = False
    snmp: SnmpSpec | None = None
    mdns: list[MdnsService] = field(default_factory=list)
    pjlink: PjlinkSpec | None = None
    oui: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (dataclasses flattened)."""
        return asdict(self)


@dataclass
class SchoolPlan:
    """Everything needed to build a school; produced by ``catalog.plan_school``."""

    prefix: str
    lan_cidr: str
    wan_cidr: str
    router_lan_ip: str
    router_wan_ip: str
    inet_ip: str
    down_mbit: float
    up_mbit: float
    classrooms: int
    hosts: list[Host]

    def host(self, name: str) -> Host:
        """Host by name (``agent``, ``router``, ``inet`` or a device/client name)."""
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(f"no host named {name!r} in this school")

    def by_role(self, role: Role) -> list[Host]:
        """Hosts of one role, in plan order."""
        return [h for h in self.hosts if h.role == role]

    def to_dict(self) -> dict[str, Any]:
        """Ground truth as JSON-ready dict; see README in tests/rig for the layout."""
        return {
            "schema_version": SCHEMA_VERSION,
            "prefix": self.prefix,
            "lan_cidr": self.lan_cidr,
            "wan_cidr": self.wan_cidr,
            "router_lan_ip": self.router_lan_ip,
            "router_wan_ip": self.router_wan_ip,
            "inet_ip": self.inet_ip,
            "uplink": {"down_mbit": self.down_mbit, "up_mbit": self.up_mbit},
            "classrooms": self.classrooms,
            "hosts": [h.to_dict() for h in self.hosts],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """Ground truth as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
