"""Which SNMP credential answered each device, kept across sweeps and restarts.

Why remember it: the probe tries the credential that worked last time alone first, so a
known printer is not sent ten wrong communities every half hour (many devices log
them, some send authenticationFailure traps to the municipality's NMS). Discovery runs
in a short-lived worker process, so the memory cannot live in the probe: the daemon
keeps it in its state database and hands it to each sweep.

Credentials are remembered by their position in the configured list. A position only
means something for the list it came from, so the memory carries a fingerprint of the
list (versions and SNMPv3 user names, never a community or a key) and is dropped when
the list changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from ipaddress import IPv4Address
from typing import Any

from agent.config import SnmpSettings, SnmpV1V2Credential
from agent.state import StateStore
from probes.base import Observation

KEY = "snmp_credentials"
MAX_DEVICES = 4096  # a /20 of printers would be a strange school; bounds the kv row


def fingerprint(settings: SnmpSettings) -> list[str]:
    """The list's shape without its secrets: `["2c", "1", "3:direction"]`."""
    return [
        c.version if isinstance(c, SnmpV1V2Credential) else f"{c.version}:{c.user}"
        for c in settings.credentials
    ]


def remembered(store: StateStore, settings: SnmpSettings) -> dict[IPv4Address, int]:
    """The credential index per device, or nothing when the configured list has changed."""
    saved = store.get(KEY)
    if not isinstance(saved, dict) or saved.get("fingerprint") != fingerprint(settings):
        return {}
    by_ip = saved.get("by_ip")
    if not isinstance(by_ip, dict):
        return {}
    known: dict[IPv4Address, int] = {}
    count = len(settings.credentials)
    for ip, index in by_ip.items():
        try:
            address = IPv4Address(ip)
        except ValueError:
            continue
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < count:
            known[address] = index
    return known


def learned(observations: Iterable[Observation]) -> dict[IPv4Address, int]:
    """What this sweep found: the index each answering device accepted."""
    found: dict[IPv4Address, int] = {}
    for observation in observations:
        index = observation.facts.get("snmp.credential_index")
        if observation.probe == "snmp" and observation.ip is not None and isinstance(index, int):
            found[observation.ip] = index
    return found


def remember(store: StateStore, settings: SnmpSettings, found: Mapping[IPv4Address, int]) -> None:
    """Add this sweep's answers to what was known (a device silent today keeps its entry)."""
    known = remembered(store, settings)
    known.update(found)
    kept = dict(list(known.items())[-MAX_DEVICES:])
    value: dict[str, Any] = {
        "fingerprint": fingerprint(settings),
        "by_ip": {str(ip): index for ip, index in kept.items()},
    }
    store.put(KEY, value)


def to_wire(known: Mapping[IPv4Address, int]) -> dict[str, int]:
    return {str(ip): index for ip, index in known.items()}


def from_wire(data: object) -> dict[IPv4Address, int]:
    """The worker's side: a bad entry is skipped, never fatal (it is only a hint)."""
    if not isinstance(data, dict):
        return {}
    known: dict[IPv4Address, int] = {}
    for ip, index in data.items():
        try:
            address = IPv4Address(str(ip))
        except ValueError:
            continue
        if isinstance(index, int) and not isinstance(index, bool) and index >= 0:
            known[address] = index
    return known
