"""The discovery probes, by name: an explicit map, checked at start-up.

Explicit rather than discovered through entry points, so that what the agent may
send on a school network is visible in one place. Asking for an unknown name or the
same name twice is a configuration mistake: it stops start-up instead of silently
scanning more, or less, than intended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from agent.config import AgentSettings
from probes.arp import ArpProbe
from probes.base import Probe
from probes.mdns import MdnsProbe
from probes.pjlink import PjlinkProbe
from probes.snmp import SnmpProbe

PROBE_CLASSES: Mapping[str, type] = MappingProxyType(
    {
        "arp": ArpProbe,
        "mdns": MdnsProbe,
        "snmp": SnmpProbe,
        "pjlink": PjlinkProbe,
    }
)
DEFAULT_PROBES = ("arp", "mdns", "snmp", "pjlink")


class ProbeRegistryError(ValueError):
    """An unknown or duplicated probe name (a start-up error)."""


def check_names(names: Iterable[str]) -> list[str]:
    """The names, in order, if each is known and appears once; else ProbeRegistryError."""
    ordered = list(names)
    unknown = [n for n in ordered if n not in PROBE_CLASSES]
    if unknown:
        known = ", ".join(PROBE_CLASSES)
        raise ProbeRegistryError(f"unknown probe {unknown[0]!r} (known: {known})")
    duplicates = sorted({n for n in ordered if ordered.count(n) > 1})
    if duplicates:
        raise ProbeRegistryError(f"probe {duplicates[0]!r} listed twice")
    return ordered


def build(settings: AgentSettings, names: Iterable[str] = DEFAULT_PROBES) -> dict[str, Probe]:
    """One configured probe per name (PJLink left out when disabled in settings)."""
    probes: dict[str, Probe] = {}
    for name in check_names(names):
        if name == "arp":
            probes[name] = ArpProbe(exclude=settings.network.exclude)
        elif name == "mdns":
            probes[name] = MdnsProbe()
        elif name == "snmp":
            probes[name] = SnmpProbe(settings.snmp)
        elif name == "pjlink" and settings.pjlink.enabled:
            password = settings.pjlink.password
            probes[name] = PjlinkProbe(
                password=password.get_secret_value() if password else None,
                search_wait_s=settings.pjlink.search_wait_s,
                timeout_s=settings.pjlink.timeout_s,
            )
    return probes
