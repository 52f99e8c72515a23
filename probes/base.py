"""The contract between probes and the rest of the agent.

A probe knows one protocol. It turns what it hears into `Observation`s — small,
frozen, timestamped facts about one thing — and never decides what a device *is*
(that is `agent.inventory`), never stores, never formats.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Protocol, runtime_checkable

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

FactValue = str | int | float | bool | None | list[Any] | dict[str, Any]

MAX_FACT_STRING = 512  # chars: a lying device must not blow up memory, the DB or a page


def utc_now() -> datetime:
    return datetime.now(UTC)


def normalise_mac(raw: str) -> str:
    """`AA-BB-CC-DD-EE-FF`, `aabb.ccdd.eeff` and `AABBCCDDEEFF` all become `aa:bb:cc:dd:ee:ff`."""
    digits = "".join(ch for ch in raw.lower() if ch in "0123456789abcdef")
    if len(digits) != 12:
        raise ValueError(f"not a MAC address: {raw!r}")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def is_locally_administered(mac: str) -> bool:
    """Bit 1 of the first octet: phones and laptops use such random MACs for privacy."""
    return bool(int(normalise_mac(mac)[:2], 16) & 0x02)


def clean_text(value: bytes | str, limit: int = MAX_FACT_STRING) -> str:
    """Printable, length-capped text from whatever a device sent (bytes may not be UTF-8)."""
    text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text[:limit]


class Observation(BaseModel):
    """One fact from one probe about one host, at one time.

    `facts` keys are namespaced by probe (`snmp.sys_descr`, `mdns.services`, …); each
    probe module documents the keys it emits.
    """

    model_config = ConfigDict(frozen=True)

    probe: str
    observed_at: AwareDatetime = Field(default_factory=utc_now)
    ip: IPv4Address | None = None
    mac: str | None = None
    facts: dict[str, FactValue] = Field(default_factory=dict)

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str | None) -> str | None:
        return None if value is None else normalise_mac(value)


@dataclass(frozen=True)
class ProbeContext:
    """What a probe may know: where to look, with what, and how to report progress.

    `hosts` carries live addresses found by earlier phases (ARP), so that SNMP and
    PJLink only talk to hosts that exist.
    """

    subnets: Sequence[IPv4Network]
    interface: str | None = None
    hosts: Sequence[IPv4Address] = ()
    macs: Mapping[IPv4Address, str] = field(default_factory=dict)
    progress: Callable[[str], None] = lambda _message: None


@runtime_checkable
class Probe(Protocol):
    """A probe: a name and one async run that returns observations."""

    name: str

    async def run(self, ctx: ProbeContext) -> list[Observation]: ...
