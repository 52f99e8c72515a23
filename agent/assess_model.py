"""What the assessment reads and what it produces, as small frozen models.

The inputs are defined here, not borrowed from inventory or bandwidth code, so that the
assessment can be tested (and reasoned about) on its own: whoever builds an
`AssessmentInput` adapts their data to it. The output is JSON-serialisable because it
travels in snapshots and is shown on the status page and the collector.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from agent.categories import DeviceCategory
from agent.config import DeclaredEquipment, Frozen, ScheduleSettings, SchoolSettings, SchoolSize
from agent.referential import Level, LocalText

Status = Literal["met", "partly_met", "not_met", "unknown", "not_applicable"]
Source = Literal["discovered", "declared", "both"]
Severity = Literal["warning", "critical"]
ActionKind = Literal[
    "toner_low", "toner_empty", "lamp_near_end", "lamp_past_end", "error", "not_seen"
]


class Supply(Frozen):
    """A printer consumable (Printer-MIB prtMarkerSupplies); `percent` None = unknown."""

    description: str = ""
    percent: float | None = Field(None, ge=0, le=100)
    level: int | None = None
    max: int | None = None


class AssessedDevice(Frozen):
    """An infrastructure device as discovery classified it (personal devices are counts)."""

    id: str = Field(min_length=1)
    category: DeviceCategory
    vendor: str = ""
    model: str = ""
    name: str = ""
    ip: str = ""
    mac: str = ""
    evidence: list[str] = []
    room: str | None = None
    # health, when a probe reported it
    supplies: list[Supply] = []
    lamp_hours: list[int] = []
    errors: dict[str, str] = {}
    last_seen: AwareDatetime | None = None

    @property
    def label(self) -> str:
        """How a technician recognises the device: vendor model, then name or address."""
        what = " ".join(part for part in (self.vendor, self.model) if part) or self.category
        where = self.name or self.ip or self.id
        return f"{what} ({where})"

    def known_as(self, identifier: str) -> bool:
        wanted = identifier.strip().lower()
        return wanted != "" and wanted in {
            value.lower() for value in (self.id, self.ip, self.mac, self.name) if value
        }


class BandwidthSummary(Frozen):
    """Medians over the measurement window; plain numbers so any measurer can fill it."""

    median_down_mbps: float | None = Field(None, ge=0)
    median_up_mbps: float | None = Field(None, ge=0)
    tests: int = Field(0, ge=0)
    window_days: int = Field(7, ge=1)


class PresenceRecord(Frozen):
    """One discovery cycle's answer to "was this access point on the network?"."""

    device_id: str = Field(min_length=1)
    at: AwareDatetime
    present: bool


class AssessmentInput(Frozen):
    school: SchoolSettings
    declared: DeclaredEquipment = DeclaredEquipment()
    schedule: ScheduleSettings = ScheduleSettings()
    devices: list[AssessedDevice] = []
    personal_counts: dict[str, int] = {}
    bandwidth: BandwidthSummary | None = None
    ap_presence: list[PresenceRecord] = []
    now: AwareDatetime

    def of_category(
        self, categories: list[DeviceCategory] | frozenset[str]
    ) -> list[AssessedDevice]:
        return [device for device in self.devices if device.category in categories]

    def personal(self, category: str) -> int:
        """Counted personal devices; max with listed ones so neither path double counts."""
        listed = sum(1 for device in self.devices if device.category == category)
        return max(self.personal_counts.get(category, 0), listed)


class Item(Frozen):
    """One thing a criterion looked at, and whether it was discovered, declared or both."""

    label: str
    room: str | None = None
    source: Source
    evidence: list[str] = []


class CriterionResult(Frozen):
    id: str
    title: LocalText
    level: Level
    status: Status
    message: LocalText
    section: str
    quote: str
    evidence: list[str] = []
    items: list[Item] = []
    figures: dict[str, float] = {}


class Gap(Frozen):
    id: str
    title: LocalText
    status: Status
    message: LocalText


class Summary(Frozen):
    """Counts only required criteria; desirable and optional ones are recommendations."""

    met: int
    judged: int
    unknown: int
    gaps: list[Gap] = []
    recommendations: list[Gap] = []


class MaintenanceAction(Frozen):
    device_id: str
    device: str
    kind: ActionKind
    severity: Severity
    message: LocalText


class ApOnTime(Frozen):
    device_id: str
    label: str
    room: str | None = None
    observed_outside_h: float
    on_outside_h: float
    on_lessons_h: float
    ever_off: bool
    last_off: datetime | None = None


class WifiOnTime(Frozen):
    window_start: datetime
    window_end: datetime
    access_points: list[ApOnTime] = []
    school_observed_outside_h: float = 0.0
    school_on_outside_h: float = 0.0


class Assessment(Frozen):
    uai: str
    school_name: str = ""
    classes: int
    size: SchoolSize
    assessed_at: datetime
    referential: str
    criteria: list[CriterionResult]
    summary: Summary
    maintenance: list[MaintenanceAction] = []
    wifi: WifiOnTime | None = None

    def criterion(self, criterion_id: str) -> CriterionResult:
        for result in self.criteria:
            if result.id == criterion_id:
                return result
        raise KeyError(criterion_id)


def text(fr: str, en: str) -> LocalText:
    return LocalText(fr=fr, en=en)


def fr_number(value: float, digits: int = 1) -> str:
    """`7,1` — French decimal comma; integers stay integers (`8`, not `8,0`)."""
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.{digits}f}".replace(".", ",")


def en_number(value: float, digits: int = 1) -> str:
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.{digits}f}"


def plural_fr(count: int, singular: str, many: str) -> str:
    """French uses the singular for 0 and 1 (« 0 classe », « 1 classe »)."""
    return singular if count <= 1 else many


def plural_en(count: int, singular: str, many: str) -> str:
    return singular if count == 1 else many


class Outcome(Frozen):
    """What an evaluator decides; `assess` adds the criterion's title, level and source."""

    status: Status
    message: LocalText
    evidence: list[str] = []
    items: list[Item] = []
    figures: dict[str, float] = {}
