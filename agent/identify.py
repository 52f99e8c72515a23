"""`socle-agent identify HOST`: every protocol against one host, then what it is.

Why a module apart from the daemon: an operator (or a test) asks about one device
now, without ARP sweeps or a spool. SNMP runs first; other protocols (PJLink,
mDNS…) plug in as extra async callables so this module never imports them. The
result is plain JSON-serialisable data; secrets never appear in it (the community
given on the command line is used, not echoed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Any

from pydantic import SecretStr

from agent.classify import Classification, classify
from agent.config import SnmpSettings, SnmpV1V2Credential
from probes.base import FactValue, Observation
from probes.snmp import identify_snmp
from probes.snmp_session import SnmpStacks

log = logging.getLogger(__name__)

ExtraProbe = Callable[[IPv4Address], Awaitable[Observation | None]]


@dataclass(frozen=True)
class IdentifyResult:
    """Facts merged from every protocol that answered, and the classification."""

    ip: str
    protocols: list[str]
    facts: dict[str, FactValue]
    classification: Classification
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ip": self.ip,
            "protocols": list(self.protocols),
            "facts": dict(self.facts),
            "classification": self.classification.to_dict(),
            "errors": list(self.errors),
        }


def with_community(settings: SnmpSettings, community: str | None) -> SnmpSettings:
    """Settings whose ladder tries `community` (v2c) first, then the configured ones."""
    if not community:
        return settings
    first = SnmpV1V2Credential(version="2c", community=SecretStr(community))
    return settings.model_copy(update={"credentials": [first, *settings.credentials]})


async def _run_extra(probe: ExtraProbe, ip: IPv4Address) -> Observation | BaseException | None:
    try:
        return await probe(ip)
    except Exception as exc:  # one protocol failing must not hide what the others found
        return exc


async def identify_host(
    ip: str | IPv4Address,
    *,
    snmp_port: int = 161,
    community: str | None = None,
    settings: SnmpSettings,
    extra: Sequence[ExtraProbe] = (),
    stacks: SnmpStacks | None = None,
) -> IdentifyResult:
    """Run SNMP and the `extra` probes concurrently against one host and classify it.

    `stacks` lets a caller identifying many hosts share one SnmpStacks.
    """
    address = IPv4Address(str(ip))
    snmp_settings = with_community(settings, community)
    tasks: list[Awaitable[Observation | BaseException | None]] = [
        _run_extra(
            lambda host: identify_snmp(host, snmp_port, snmp_settings, stacks=stacks), address
        ),
        *(_run_extra(probe, address) for probe in extra),
    ]
    outcomes = await asyncio.gather(*tasks)
    facts: dict[str, FactValue] = {}
    protocols: list[str] = []
    errors: list[str] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            errors.append(type(outcome).__name__)
            log.debug("identify %s: a probe failed: %s", address, type(outcome).__name__)
        elif outcome is not None:
            protocols.append(outcome.probe)
            facts.update(outcome.facts)
    return IdentifyResult(str(address), protocols, facts, classify(facts), errors)
