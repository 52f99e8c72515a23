"""The snapshot: what one agent tells the collector about one school, versioned.

A snapshot is the only thing that leaves the box, so this module is also the
privacy boundary: infrastructure devices (projectors, printers, NAS, access
points…) are listed one by one, personal devices (computers, tablets, phones) only
as counts by kind. There is deliberately no model for an individual personal
device, so none can be serialised by mistake.

The envelope (`Snapshot`) adds identity and ordering (agent id, UAI, sequence
number) to the content (`SnapshotContent`) that the rest of the agent builds;
the spool fills the envelope inside the transaction that allocates the sequence
number. The JSON Schema is published in docs/ and served by the collector.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from agent.uai import validate_uai

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "snapshot.schema.json"
AGENT_ID_PATTERN = r"^[0-9a-f]{32}$"  # first 128 bits of SHA-256(raw Ed25519 public key), hex
MAX_DEVICES = 2000  # far above any primary school; bounds the collector's work per snapshot

Text = Annotated[str, Field(max_length=256)]
ShortText = Annotated[str, Field(max_length=64)]
LongText = Annotated[str, Field(max_length=1024)]
# Finite: JSON's 1e400 parses as infinity, which no chart or median can use.
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Percent = Annotated[float, Field(ge=0, le=100)]
# Lower-cased by pydantic-core itself (no Python validator: the collector parses many).
MacAddress = Annotated[
    str, StringConstraints(to_lower=True, pattern=r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
]
IpAddress = Annotated[str, Field(max_length=45, pattern=r"^[0-9a-fA-F:.]+$")]

InfrastructureCategory = Literal[
    "projector",
    "interactive_display",
    "presentation_device",
    "printer",
    "mfp",
    "scanner",
    "nas",
    "access_point",
    "wlan_controller",
    "switch",
    "router",
    "other",
]
PersonalKind = Literal["computer", "tablet_or_phone", "unknown"]


class Section(BaseModel):
    """Every part of a snapshot: immutable, and unknown keys are refused (no smuggled data)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Supply(Section):
    description: Text
    percent: Percent | None = None


class DeviceHealth(Section):
    """Consumables and faults the collector turns into alerts (toner low, lamp near end)."""

    supplies: list[Supply] = Field(default_factory=list, max_length=64)
    lamp_hours: list[Annotated[int, Field(ge=0, le=1_000_000)]] = Field(
        default_factory=list, max_length=8
    )
    errors: dict[ShortText, ShortText] = Field(default_factory=dict, max_length=32)


class InfrastructureDevice(Section):
    """A shared school device. Its MAC is the inventory key; it is not personal data."""

    category: InfrastructureCategory
    vendor: Text = ""
    model: Text = ""
    name: Text = ""
    ip: IpAddress | None = None
    mac: MacAddress
    serial: Text = ""
    health: DeviceHealth = DeviceHealth()
    evidence: list[Text] = Field(default_factory=list, max_length=32)
    first_seen: AwareDatetime
    last_seen: AwareDatetime


class PersonalDeviceCounts(Section):
    """Personal devices are counted, never listed (DESIGN.md: identity and privacy)."""

    by_kind: dict[PersonalKind, Count] = Field(default_factory=dict)
    private_address: Count = 0  # MACs with the locally-administered bit (randomised)


class Inventory(Section):
    infrastructure: list[InfrastructureDevice] = Field(default_factory=list, max_length=MAX_DEVICES)
    personal: PersonalDeviceCounts = PersonalDeviceCounts()


class ThroughputResult(Section):
    """One bandwidth test; goodput is what TCP delivered, line rate an estimate from it."""

    backend: Literal["http", "speedtest", "iperf3"]
    target_host: Text
    started_at: AwareDatetime
    down_mbps: NonNegative | None = None
    up_mbps: NonNegative | None = None
    line_rate_down_mbps: NonNegative | None = None
    line_rate_up_mbps: NonNegative | None = None
    idle_latency_ms: NonNegative | None = None
    loaded_latency_ms: NonNegative | None = None
    jitter_ms: NonNegative | None = None
    bytes_used: Annotated[int, Field(ge=0, le=2**62)] = 0  # fits the collector's BIGINT
    duration_s: NonNegative = 0.0
    streams: Annotated[int, Field(ge=0, le=64)] = 0
    cut_short: Text | None = None  # why the test stopped early (budget, lesson started…)


class BandwidthVerdicts(Section):
    """The referential's thresholds applied to the median of the window."""

    minimum: Literal["pass", "fail", "unknown"]
    desirable: Literal["pass", "fail", "unknown"]
    window_days: Annotated[int, Field(ge=1, le=365)]
    window_median_down_mbps: NonNegative | None = None
    window_median_up_mbps: NonNegative | None = None
    tests: Count = 0


CriterionStatus = Literal["met", "partly_met", "not_met", "unknown"]


class Criterion(Section):
    id: ShortText
    title: Text
    status: CriterionStatus
    message: LongText = ""
    evidence: list[Text] = Field(default_factory=list, max_length=32)
    source: Literal["discovered", "declared", "measured", "mixed", "none"] = "none"


class AssessmentSummary(Section):
    met: Count
    judged: Count  # criteria whose status is not "unknown"


class Assessment(Section):
    criteria: list[Criterion] = Field(default_factory=list, max_length=100)
    summary: AssessmentSummary


class AgentHealth(Section):
    version: ShortText
    uptime_s: NonNegative = 0.0
    spool_depth: Count = 0
    dead_letters: Count = 0
    dropped_snapshots: Count = 0  # cumulative: survives the loss of any one snapshot
    clock_synchronised: bool | None = None
    clock_skew_s: Annotated[float, Field(allow_inf_nan=False)] | None = (
        None  # last difference the collector reported
    )
    last_errors: list[Text] = Field(default_factory=list, max_length=10)


class Period(Section):
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError("period end is before its start")
        return self


class SnapshotContent(Section):
    """What the agent observed; the spool wraps it into a `Snapshot`."""

    period: Period
    throughput: list[ThroughputResult] = Field(default_factory=list, max_length=200)
    verdicts: BandwidthVerdicts | None = None
    inventory: Inventory = Inventory()
    assessment: Assessment | None = None
    health: AgentHealth


class Snapshot(SnapshotContent):
    """Schema version 1. Add optional fields freely; anything else bumps the version."""

    schema_version: Literal[1] = 1  # SCHEMA_VERSION
    agent_id: Annotated[str, Field(pattern=AGENT_ID_PATTERN)]
    uai: str
    seq: Annotated[int, Field(ge=1, le=2**62)]
    created_at: AwareDatetime

    @field_validator("uai")
    @classmethod
    def _uai(cls, value: str) -> str:
        return validate_uai(value)


def make_snapshot(
    content: SnapshotContent, *, agent_id: str, uai: str, seq: int, created_at: datetime
) -> Snapshot:
    """Wrap content in its envelope (validated again: the content may come from anywhere)."""
    data: dict[str, Any] = content.model_dump()
    data.update(agent_id=agent_id, uai=uai, seq=seq, created_at=created_at)
    return Snapshot.model_validate(data)


def encode(snapshot: Snapshot) -> bytes:
    """Compact JSON, gzipped: the body exactly as stored in the spool and sent."""
    raw = snapshot.model_dump_json(exclude_none=True).encode()
    return gzip.compress(raw, compresslevel=6, mtime=0)


def decode(body: bytes) -> Snapshot:
    return Snapshot.model_validate_json(gzip.decompress(body))


def json_schema() -> dict[str, Any]:
    schema = Snapshot.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://socle-agent.invalid/schema/snapshot-v{SCHEMA_VERSION}.json"
    return schema


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Regenerate docs/snapshot.schema.json; a test fails when it is out of date."""
    path.write_text(schema_text(), encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover - `python -m agent.snapshot` regenerates the schema
    print(write_schema())
