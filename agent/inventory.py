"""Devices from observations: one record per physical device, whatever its addresses do.

Devices are keyed by MAC because IPs change (DHCP). Observations that carry only an
IP (SNMP, mDNS) are attached through this cycle's ARP answers; when two MACs claim
one IP (a duplicate address) the device's own interface MACs decide, else the facts
are left unattached rather than given to the wrong device. A serial number, a Cast
id or an interface MAC reported over SNMP joins records that turn out to be one
device. Each cycle replaces a probe's facts as a whole (no stale mix of old and new
SNMP data), keeps other probes' facts, marks presence for every known device, and
classifies what was seen. The shareable and stored views live in `inventory_view`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import IPv4Address
from typing import Any, Protocol

from agent.inventory_facts import (
    first_text,
    identity_keys,
    interface_macs,
    namespace,
    sanitise_facts,
)
from agent.inventory_health import health
from probes.base import FactValue, Observation, is_locally_administered, utc_now
from probes.oui import vendor_for

log = logging.getLogger(__name__)

PERSONAL = frozenset({"computer", "tablet_or_phone", "unknown"})  # counted, never listed
PRESENCE_HISTORY = 96  # presence marks kept per device: two days at one cycle per 30 min
MAX_PREVIOUS_IPS = 8


class Classified(Protocol):
    """What `agent.classify.classify` returns (read-only view)."""

    @property
    def category(self) -> str: ...
    @property
    def confidence(self) -> float: ...
    @property
    def evidence(self) -> Sequence[object]: ...
    @property
    def vendor(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...


Classifier = Callable[[Mapping[str, FactValue]], Classified]


def default_classifier(facts: Mapping[str, FactValue]) -> Classified:
    from agent.classify import classify

    result: Classified = classify(dict(facts))
    return result


@dataclass
class Device:
    """One physical device as merged so far. Mutable: only `Inventory` changes it."""

    id: str
    first_seen: datetime
    last_seen: datetime
    macs: list[str] = field(default_factory=list)
    ip: IPv4Address | None = None
    facts: dict[str, FactValue] = field(default_factory=dict)
    probes: set[str] = field(default_factory=set)
    flags: set[str] = field(default_factory=set)  # this cycle: duplicate_ip, ip_changed…
    cycle_ips: list[IPv4Address] = field(default_factory=list)
    previous_ips: list[IPv4Address] = field(default_factory=list)
    presence: deque[tuple[datetime, bool]] = field(
        default_factory=lambda: deque(maxlen=PRESENCE_HISTORY)
    )
    category: str = "unknown"
    confidence: float = 0.0
    evidence: list[str] = field(default_factory=list)
    vendor: str = ""
    model: str = ""

    @property
    def mac(self) -> str | None:
        return self.macs[0] if self.macs else None

    @property
    def personal(self) -> bool:
        return self.category in PERSONAL

    @property
    def private_address(self) -> bool:
        return self.mac is not None and is_locally_administered(self.mac)

    @property
    def name(self) -> str:
        return first_text(self.facts, "pjlink.name", "snmp.sys_name", "mdns.hostname")[:128]

    @property
    def serial(self) -> str:
        return first_text(self.facts, "snmp.serial", "pjlink.serial")[:128]

    @property
    def health(self) -> dict[str, Any]:
        return health(self.facts)


@dataclass(frozen=True)
class CycleSummary:
    at: datetime
    seen: int
    new: int
    unattached: int
    duplicate_ips: list[IPv4Address]


class Inventory:
    """All devices ever seen (until pruned), merged cycle after cycle."""

    def __init__(self, classifier: Classifier | None = None) -> None:
        self.classifier = classifier or default_classifier
        self._devices: dict[str, Device] = {}
        self._alias: dict[str, str] = {}  # MAC or identity key → device id
        self.last_cycle: datetime | None = None

    @property
    def devices(self) -> list[Device]:
        return sorted(self._devices.values(), key=lambda d: (d.category, d.ip or 0, d.id))

    def get(self, key: str) -> Device | None:
        """Device by id, MAC or identity key."""
        return self._devices.get(self._alias.get(key, key))

    def ingest(
        self, observations: Iterable[Observation], at: datetime | None = None
    ) -> CycleSummary:
        """Merge one discovery cycle; every known device gets a presence mark."""
        at = at or utc_now()
        batch = list(observations)
        for device in self._devices.values():
            device.flags.clear()
            device.cycle_ips = []
        claims: dict[IPv4Address, set[str]] = {}
        for obs in batch:
            if obs.mac and obs.ip:
                claims.setdefault(obs.ip, set()).add(obs.mac)
        groups: dict[str, list[Observation]] = {}
        unattached = 0
        for obs in batch:
            key = obs.mac or self._key_for_ip(obs, claims)
            if key is None:
                unattached += 1
                continue
            groups.setdefault(key, []).append(obs)
        before = len(self._devices)
        seen = {self._absorb(key, group, at).id for key, group in groups.items()}
        duplicates = sorted(ip for ip, macs in claims.items() if len(macs) > 1)
        for ip in duplicates:
            for mac in claims[ip]:
                if claimant := self.get(mac):
                    claimant.flags.add("duplicate_ip")
        for device in self._devices.values():
            device.presence.append((at, device.id in seen))
            if device.id in seen:
                self._classify(device)
        self.last_cycle = at
        if unattached:
            log.info("inventory: %d observations with an ambiguous address left out", unattached)
        return CycleSummary(at, len(seen), len(self._devices) - before, unattached, duplicates)

    def _key_for_ip(self, obs: Observation, claims: Mapping[IPv4Address, set[str]]) -> str | None:
        if obs.ip is None:
            return None
        macs = claims.get(obs.ip, set())
        if len(macs) == 1:
            return next(iter(macs))
        if len(macs) > 1:  # duplicate IP: only the device's own interface MACs can tell
            own = macs & interface_macs(sanitise_facts(obs.facts))
            return next(iter(own)) if len(own) == 1 else None
        holders = [d for d in self._devices.values() if d.ip == obs.ip]
        if len(holders) == 1:
            return holders[0].mac or holders[0].id
        return f"ip:{obs.ip}" if not holders else None

    def _absorb(self, key: str, group: list[Observation], at: datetime) -> Device:
        incoming: dict[str, dict[str, FactValue]] = {}
        for obs in group:
            for fact, value in sanitise_facts(obs.facts).items():
                incoming.setdefault(namespace(fact), {})[fact] = value
        flat = {k: v for part in incoming.values() for k, v in part.items()}
        ips = [obs.ip for obs in group if obs.ip is not None]
        device = self._find_or_create(key, flat, ips, at)
        for space, facts in incoming.items():
            for old in [k for k in device.facts if namespace(k) == space]:
                del device.facts[old]
            device.facts.update(facts)
        device.probes.update(obs.probe for obs in group)
        self._place(device, ips, group)
        if "oui.vendor" not in device.facts and device.mac and (oui := vendor_for(device.mac)):
            device.facts["oui.vendor"] = oui
        device.last_seen = max(device.last_seen, at)
        return device

    def _find_or_create(
        self, key: str, facts: Mapping[str, FactValue], ips: Sequence[IPv4Address], at: datetime
    ) -> Device:
        links = {key}
        if not key.startswith("ip:"):  # a MAC for a device so far known only by its IP
            links |= {f"ip:{ip}" for ip in ips}
        ids = {self._alias[k] for k in links if k in self._alias}
        soft = identity_keys(facts) | interface_macs(facts)
        for link in soft:
            owner = self._alias.get(link)
            if owner is not None and not self._distinct(owner, ips):
                ids.add(owner)
                links.add(link)
        if not ids:
            links |= {link for link in soft if link not in self._alias}
        if not ids:
            self._devices[key] = Device(id=key, first_seen=at, last_seen=at)
            ids = {key}
        survivor = min((self._devices[i] for i in ids), key=lambda d: (d.first_seen, d.id))
        for other in ids:
            if other != survivor.id:
                self._merge(survivor, self._devices.pop(other))
        if ":" in key and not key.startswith("ip:") and key not in survivor.macs:
            survivor.macs.append(key)
        for link in links:
            if not link.startswith("ip:") or link in self._alias:
                self._alias[link] = survivor.id
        self._alias[survivor.id] = survivor.id
        return survivor

    def _distinct(self, device_id: str, ips: Sequence[IPv4Address]) -> bool:
        """Already seen this cycle at other addresses: a shared serial, Cast id or interface
        MAC is then a firmware default or a cloned image, not one device."""
        device = self._devices.get(device_id)
        return (
            device is not None and bool(device.cycle_ips) and not set(ips) & set(device.cycle_ips)
        )

    def _merge(self, survivor: Device, other: Device) -> None:
        """Two records were one device all along (same serial, Cast id or interface MAC)."""
        log.info("inventory: %s and %s are one device", survivor.id, other.id)
        survivor.macs += [m for m in other.macs if m not in survivor.macs]
        survivor.facts = {**other.facts, **survivor.facts}
        survivor.probes |= other.probes
        survivor.first_seen = min(survivor.first_seen, other.first_seen)
        survivor.last_seen = max(survivor.last_seen, other.last_seen)
        survivor.flags |= other.flags | {"joined"}
        survivor.cycle_ips += other.cycle_ips
        survivor.ip = survivor.ip or other.ip
        for alias, target in list(self._alias.items()):
            if target == other.id:
                self._alias[alias] = survivor.id

    def _place(self, device: Device, ips: list[IPv4Address], group: list[Observation]) -> None:
        """Update the device's address; a MAC seen at a new IP is the same device."""
        arp_ips = [obs.ip for obs in group if obs.probe == "arp" and obs.ip is not None]
        device.cycle_ips += [ip for ip in ips if ip not in device.cycle_ips]
        if len(device.cycle_ips) > 1:
            device.flags.add("multiple_ips")
        candidates = arp_ips or ips
        if not candidates or candidates[0] == device.ip:
            return
        current = candidates[0]
        if device.ip is not None and device.ip not in device.cycle_ips:
            device.flags.add("ip_changed")
            device.previous_ips = [device.ip, *device.previous_ips][:MAX_PREVIOUS_IPS]
        if device.ip is None or device.ip not in device.cycle_ips:
            device.ip = current

    def _classify(self, device: Device) -> None:
        try:
            result = self.classifier(device.facts)
            device.category = str(result.category)
            device.confidence = float(result.confidence)
            device.evidence = [str(item)[:256] for item in result.evidence][:32]
            device.vendor = str(result.vendor or "")[:128]
            device.model = str(result.model or "")[:128]
        except Exception:  # a classifier bug must not lose the cycle
            log.exception("inventory: cannot classify %s", device.id)
            device.category, device.confidence = "unknown", 0.0
            device.evidence = ["classifier error"]

    def prune(self, before: datetime) -> int:
        """Forget devices not seen since `before`; returns how many."""
        stale = [d.id for d in self._devices.values() if d.last_seen < before]
        for device_id in stale:
            del self._devices[device_id]
        self._alias = {k: v for k, v in self._alias.items() if v in self._devices}
        return len(stale)

    def presence(self, categories: Iterable[str]) -> list[tuple[datetime, str, bool]]:
        """(cycle time, device id, present) for devices of these categories, oldest first."""
        wanted = set(categories)
        marks = [
            (at, d.id, present)
            for d in self._devices.values()
            if d.category in wanted
            for at, present in d.presence
        ]
        return sorted(marks, key=lambda m: (m[0], m[1]))
