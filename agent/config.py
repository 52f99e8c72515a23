"""Agent settings: TOML in, frozen pydantic models out, or one clear line per mistake.

Settings are validated once at start-up; everything downstream receives typed,
immutable values and never re-checks them.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date, time
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.uai import validate_uai

DEFAULT_CONFIG_PATH = Path("/etc/socle-agent/agent.toml")
CONFIG_ENV_VAR = "SOCLE_AGENT_CONFIG"

SchoolSize = Literal["small", "medium", "large"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)


class Frozen(BaseModel):
    """Base for every settings block: immutable, and unknown keys are mistakes (typos)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class SizeBoundaries(Frozen):
    """Classes → size. DESIGN.md: ≤ 5 small, 6–11 medium, ≥ 12 large."""

    small_max_classes: int = Field(5, ge=1)
    large_min_classes: int = Field(12, ge=2)

    @model_validator(mode="after")
    def _ordered(self) -> SizeBoundaries:
        if self.large_min_classes <= self.small_max_classes:
            raise ValueError("large_min_classes must be greater than small_max_classes")
        return self


class SchoolSettings(Frozen):
    uai: str
    name: str = ""
    commune: str = ""
    classes: int = Field(ge=1, le=200)
    size: SchoolSize | None = None
    size_boundaries: SizeBoundaries = SizeBoundaries()

    @field_validator("uai")
    @classmethod
    def _uai(cls, value: str) -> str:
        return validate_uai(value)

    @property
    def effective_size(self) -> SchoolSize:
        if self.size is not None:
            return self.size
        if self.classes <= self.size_boundaries.small_max_classes:
            return "small"
        if self.classes >= self.size_boundaries.large_min_classes:
            return "large"
        return "medium"


class NetworkSettings(Frozen):
    """What discovery may touch. Empty lists mean: the default-route interface's subnet only."""

    interfaces: list[str] = []
    subnets: list[IPv4Network] = []
    exclude: list[IPv4Address] = []
    allow_large_subnets: bool = False
    max_prefix_without_override: int = Field(22, ge=16, le=30)

    @model_validator(mode="after")
    def _cap(self) -> NetworkSettings:
        if not self.allow_large_subnets:
            for subnet in self.subnets:
                if subnet.prefixlen < self.max_prefix_without_override:
                    raise ValueError(
                        f"subnet {subnet} is larger than /{self.max_prefix_without_override}; "
                        "set allow_large_subnets = true to scan it"
                    )
        return self


class SnmpV1V2Credential(Frozen):
    version: Literal["1", "2c"]
    community: SecretStr


class SnmpV3Credential(Frozen):
    version: Literal["3"]
    user: str = Field(min_length=1)
    auth_protocol: Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"] | None = None
    auth_key: SecretStr | None = None
    priv_protocol: Literal["des", "3des", "aes", "aes192", "aes256"] | None = None
    priv_key: SecretStr | None = None

    @model_validator(mode="after")
    def _keys(self) -> SnmpV3Credential:
        if (self.auth_protocol is None) != (self.auth_key is None):
            raise ValueError("auth_protocol and auth_key go together")
        if (self.priv_protocol is None) != (self.priv_key is None):
            raise ValueError("priv_protocol and priv_key go together")
        if self.priv_protocol is not None and self.auth_protocol is None:
            raise ValueError("privacy (priv_protocol) needs authentication (auth_protocol)")
        for key in (self.auth_key, self.priv_key):
            if key is not None and len(key.get_secret_value()) < 8:
                raise ValueError("SNMPv3 keys must be at least 8 characters")
        return self


SnmpCredential = Annotated[SnmpV1V2Credential | SnmpV3Credential, Field(discriminator="version")]


class SnmpSettings(Frozen):
    """Credentials are tried in order; the one that worked is remembered per device."""

    credentials: list[SnmpCredential] = [
        SnmpV1V2Credential(version="2c", community=SecretStr("public"))
    ]
    port: int = Field(161, ge=1, le=65535)
    fast_timeout_s: float = Field(0.5, gt=0, le=10)
    slow_timeout_s: float = Field(2.0, gt=0, le=30)
    slow_retries: int = Field(1, ge=0, le=5)
    max_walk_rows: int = Field(500, ge=10, le=100_000)
    max_walk_s: float = Field(5.0, gt=0, le=120)
    concurrency: int = Field(32, ge=1, le=256)


class PjlinkSettings(Frozen):
    enabled: bool = True
    password: SecretStr | None = None
    search_wait_s: float = Field(2.0, ge=0, le=30)
    timeout_s: float = Field(2.0, gt=0, le=30)


class CollectorSettings(Frozen):
    url: str | None = None
    timeout_s: float = Field(20.0, gt=0, le=300)
    max_backoff_s: float = Field(3600.0, gt=0)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// for a test rig)")
        return value.rstrip("/")


class TimeRange(Frozen):
    """`08:30-11:30`, local time (Europe/Paris)."""

    start: time
    end: time

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                start, end = (part.strip() for part in value.split("-", 1))
                return {"start": time.fromisoformat(start), "end": time.fromisoformat(end)}
            except ValueError as exc:
                raise ValueError(f"expected HH:MM-HH:MM, got {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _order(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Holiday(Frozen):
    start: date
    end: date
    name: str = ""

    @model_validator(mode="after")
    def _order(self) -> Holiday:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


def _default_lessons() -> dict[Weekday, list[TimeRange]]:
    day = [TimeRange.model_validate("08:30-11:30"), TimeRange.model_validate("13:30-16:30")]
    return {
        "monday": day,
        "tuesday": day,
        "wednesday": [],
        "thursday": day,
        "friday": day,
        "saturday": [],
        "sunday": [],
    }


class ScheduleSettings(Frozen):
    timezone: str = "Europe/Paris"
    lesson_hours: dict[Weekday, list[TimeRange]] = Field(default_factory=_default_lessons)
    holidays: list[Holiday] = []
    discovery_interval_min: float = Field(30, gt=0)
    latency_interval_min: float = Field(5, gt=0)
    throughput_tests_per_day: int = Field(4, ge=0, le=48)
    snapshot_interval_min: float = Field(15, gt=0)
    drain_interval_min: float = Field(1, gt=0)  # spool delivery tick; failures back off longer
    jitter_s: float = Field(120, ge=0)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class MeasurementSettings(Frozen):
    backend: Literal["http", "speedtest", "iperf3"] = "http"
    http_target: str | None = None
    speedtest_server_id: int | None = None
    speedtest_mini_url: str | None = None
    iperf3_server: str | None = None
    max_duration_s: float = Field(10.0, gt=0, le=60)
    max_streams: int = Field(8, ge=1, le=16)
    monthly_budget_mb: int = Field(0, ge=0)
    window_days: int = Field(7, ge=1, le=90)
    only_outside_lessons: bool = True
    # Router whose WAN counters tell whether the link is busy (SNMP, first v1/v2c community);
    # default: the gateway of the default route.
    gateway: IPv4Address | None = None


class StatusPageSettings(Frozen):
    enabled: bool = True
    bind: IPv4Address | None = None
    port: int = Field(8080, ge=1, le=65535)
    password_hash: SecretStr | None = None
    language: Literal["fr", "en"] = "fr"


class PathSettings(Frozen):
    state_dir: Path = Path("/var/lib/socle-agent")
    # A municipality's own referential (may `extends = "builtin"`); default: the shipped one.
    referential: Path | None = None


DisplayKind = Literal["projector", "tni", "vpi", "eti", "screen"]


class DeclaredDisplay(Frozen):
    kind: DisplayKind = "projector"
    connection: Literal["network", "hdmi", "vga", "other"] = "hdmi"


RoomKind = Literal["classroom", "head_office", "other"]


class DeclaredClassroom(Frozen):
    """One room as staff declared it.

    `kind` lets a municipality list the head's office or a library in the same list
    without them counting as classes. `devices` names discovered devices (IP, MAC, id
    or name) that sit in this room: discovery alone cannot tell which classroom a
    networked projector is in. `wifi_access_points` does the same for access points.
    """

    name: str = Field(min_length=1)
    kind: RoomKind = "classroom"
    displays: list[DeclaredDisplay] = []
    workstations: int = Field(0, ge=0)
    network_points: int | None = Field(None, ge=0)
    document_camera: bool = False
    free_access_devices: int = Field(0, ge=0)
    devices: list[str] = []
    wifi_access_points: list[str] = []


class DeclaredMobilePack(Frozen):
    """A mobile pack (classe mobile) and the kit the referential expects with it.

    `None` means "not declared" (the assessment then looks at what discovery found);
    `mixed_os` says the pack's devices do not all run the same operating system.
    """

    devices: int = Field(ge=1, le=100)
    os: str = ""
    kind: Literal["tablets", "laptops"] = "tablets"
    name: str = ""
    mixed_os: bool = False
    wifi_access_point: str | None = None
    sharing_device: bool | None = None
    projection_device: bool | None = None
    control_software: bool | None = None


class DeclaredHeadOffice(Frozen):
    """`scanner` is true for a scanner or a copier that scans; `devices` as for a room."""

    computer: bool | None = None
    scanner: bool | None = None
    devices: list[str] = []


class DeclaredEquipment(Frozen):
    """What the network cannot see, as staff declared it."""

    classrooms: list[DeclaredClassroom] = []
    mobile_packs: list[DeclaredMobilePack] = []
    head_office: DeclaredHeadOffice = DeclaredHeadOffice()
    storage: list[Literal["ent", "cloud", "school_server", "nas"]] = []
    ent_name: str = ""
    wifi_switchable: bool | None = None

    @model_validator(mode="after")
    def _unique_rooms(self) -> DeclaredEquipment:
        seen: set[str] = set()
        placed: dict[str, str] = {}
        for room in self.classrooms:
            if room.name in seen:
                raise ValueError(f"room {room.name!r} is declared twice")
            seen.add(room.name)
            for device in room.devices:
                if device.lower() in placed:
                    raise ValueError(
                        f"device {device!r} is placed in both {placed[device.lower()]!r} "
                        f"and {room.name!r}"
                    )
                placed[device.lower()] = room.name
        return self


class AgentSettings(Frozen):
    school: SchoolSettings
    network: NetworkSettings = NetworkSettings()
    snmp: SnmpSettings = SnmpSettings()
    pjlink: PjlinkSettings = PjlinkSettings()
    collector: CollectorSettings = CollectorSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    measurement: MeasurementSettings = MeasurementSettings()
    status_page: StatusPageSettings = StatusPageSettings()
    paths: PathSettings = PathSettings()
    declared: DeclaredEquipment = DeclaredEquipment()


class ConfigError(Exception):
    """Raised with one human line per problem; the CLI prints them and exits 2."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems))


def resolve_config_path(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_CONFIG_PATH


def load_settings(path: Path) -> AgentSettings:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            path, [f"{path}: file not found (create it with `socle-agent init`)"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"{path}: cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"{path}: not valid TOML: {exc}"]) from None
    return parse_settings(raw, path)


def parse_settings(raw: dict[str, object], path: Path = Path("<config>")) -> AgentSettings:
    try:
        return AgentSettings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path, describe_validation_errors(exc, raw)) from None


def describe_validation_errors(exc: ValidationError, raw: object) -> list[str]:
    """One line per error: dotted key, offending value (never a secret), what is expected."""
    lines: list[str] = []
    for error in exc.errors():
        location = [part for part in error["loc"] if not _is_union_tag(part)]
        key = _dotted(location)
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "missing":
            lines.append(f"{key}: missing (required)")
            continue
        if error["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key (check the spelling)")
            continue
        value = _value_at(raw, location)
        shown = "***" if _looks_secret(key) else repr(redact(value))
        lines.append(f"{key} = {shown}: {message}")
    return lines


_SECRET_WORDS = ("community", "key", "password", "token", "secret")


def _looks_secret(key: str) -> bool:
    return any(word in key.lower() for word in _SECRET_WORDS)


def redact(value: object) -> object:
    """A copy of raw settings with every secret-looking key's value replaced by `***`."""
    if isinstance(value, dict):
        return {k: "***" if _looks_secret(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _is_union_tag(part: object) -> bool:
    return isinstance(part, str) and part in {"1", "2c", "3"}


def _dotted(location: list[int | str]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _value_at(raw: object, location: list[int | str]) -> object:
    current = raw
    for part in location:
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        else:
            return current
    return current
