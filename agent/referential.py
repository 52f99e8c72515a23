"""The socle numérique de base as data: `config/socle.toml` in, a frozen `Referential` out.

The referential says of itself that it is "a reference, not a prescription" that a
municipality may adapt. So the thresholds, the criteria's levels and their source
quotes live in TOML, not in code: a municipality's file either replaces the builtin
one or starts with `extends = "builtin"` (or a path) and overrides only what differs.
The code keeps one evaluator per criterion id; an unknown id is a typo and is refused
with the key named, like the agent's own settings.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from agent.categories import DeviceCategory
from agent.config import Frozen, SchoolSettings, SchoolSize, SizeBoundaries
from agent.config import describe_validation_errors as _describe

Language = Literal["fr", "en"]
Level = Literal["required", "desirable", "optional"]
KitItem = Literal["wifi_access_point", "sharing_device", "projection_device", "control_software"]

_MAX_EXTENDS_DEPTH = 5  # a chain longer than this is a mistake, not a design
_PACKAGED = Path(__file__).parent / "data" / "socle.toml"  # installed wheel
_SOURCE_TREE = Path(__file__).resolve().parent.parent / "config" / "socle.toml"


class LocalText(Frozen):
    """A sentence in French (the default: schools and municipalities read French) and English."""

    fr: str
    en: str

    def get(self, language: Language) -> str:
        return self.fr if language == "fr" else self.en


class CriterionSpec(Frozen):
    """What every criterion carries: where it comes from and how much it weighs."""

    title: LocalText
    section: str = Field(min_length=1)
    quote: str = Field(min_length=1)
    level: Level
    enabled: bool = True


class DisplaySpec(CriterionSpec):
    categories: list[DeviceCategory] = Field(min_length=1)


class MobileSpec(CriterionSpec):
    pack_min_devices: int = Field(ge=1, le=100)
    classes_per_pack: int = Field(ge=1, le=50)
    free_access_min_per_room: int = Field(ge=1, le=50)


class MobileKitSpec(CriterionSpec):
    tablets: list[KitItem]
    laptops: list[KitItem]


class HeadOfficeSpec(CriterionSpec):
    scanner_categories: list[DeviceCategory] = Field(min_length=1)


class NetworkPointsSpec(CriterionSpec):
    min_per_classroom: int = Field(ge=1, le=20)


class WifiSpec(CriterionSpec):
    window_days: int = Field(ge=1, le=90)
    max_gap_min: float = Field(gt=0, le=24 * 60)
    min_observed_outside_h: float = Field(ge=0)
    max_on_outside_ratio: float = Field(ge=0, le=1)


class StorageSpec(CriterionSpec):
    discovered_categories: list[DeviceCategory] = []


class Criteria(Frozen):
    """One field per criterion the code can evaluate; the order is the checklist's order."""

    classroom_display: DisplaySpec
    classroom_workstation: CriterionSpec
    document_camera: CriterionSpec
    mobile_equipment: MobileSpec
    mobile_kit: MobileKitSpec
    head_office: HeadOfficeSpec
    network_points: NetworkPointsSpec
    wifi_switch_off: WifiSpec
    storage: StorageSpec
    internet_minimum: CriterionSpec
    internet_desirable: CriterionSpec

    def enabled(self) -> list[tuple[str, CriterionSpec]]:
        return [
            (name, spec)
            for name in type(self).model_fields
            if (spec := getattr(self, name)).enabled
        ]


class SizeThresholds(Frozen):
    small: float = Field(gt=0)
    medium: float = Field(gt=0)
    large: float = Field(gt=0)

    def for_size(self, size: SchoolSize) -> float:
        value: float = getattr(self, size)
        return value


class DesirableLevel(Frozen):
    down_mbps: float = Field(gt=0)
    up_mbps: float = Field(gt=0)


class DesirableThresholds(Frozen):
    small: DesirableLevel
    medium: DesirableLevel
    large: DesirableLevel

    def for_size(self, size: SchoolSize) -> DesirableLevel:
        value: DesirableLevel = getattr(self, size)
        return value


class InternetSpec(Frozen):
    section: str
    quote: str
    desirable_quote: str = ""
    min_tests: int = Field(ge=1, le=1000)
    minimum_down_mbps: SizeThresholds
    desirable: DesirableThresholds

    @model_validator(mode="after")
    def _desirable_above_minimum(self) -> InternetSpec:
        for size in ("small", "medium", "large"):
            if self.desirable.for_size(size).down_mbps < self.minimum_down_mbps.for_size(size):
                raise ValueError(f"desirable.{size}.down_mbps is below minimum_down_mbps.{size}")
        return self


class MaintenanceSpec(Frozen):
    section: str
    quote: str
    toner_low_percent: float = Field(ge=0, le=100)
    lamp_rated_hours: int = Field(gt=0, le=100_000)
    lamp_warn_ratio: float = Field(gt=0, le=1)
    not_seen_days: int = Field(ge=1, le=365)
    lamp_rated_hours_by_model: dict[str, int] = {}

    def rated_lamp_hours(self, model: str) -> int:
        """Rated life for this model if the municipality listed it (case-insensitive)."""
        wanted = model.strip().lower()
        for known, hours in self.lamp_rated_hours_by_model.items():
            if known.strip().lower() == wanted:
                return hours
        return self.lamp_rated_hours


class Referential(Frozen):
    version: Literal[1]
    name: str = Field(min_length=1)
    source: str = ""
    sizes: SizeBoundaries
    internet: InternetSpec
    criteria: Criteria
    maintenance: MaintenanceSpec

    def school_size(self, school: SchoolSettings) -> SchoolSize:
        """The school's size: set outright, else by the school's own boundaries if it
        chose them, else by the referential's (a municipality may move them)."""
        if school.size is not None:
            return school.size
        bounds = (
            school.size_boundaries if "size_boundaries" in school.model_fields_set else self.sizes
        )
        if school.classes <= bounds.small_max_classes:
            return "small"
        if school.classes >= bounds.large_min_classes:
            return "large"
        return "medium"


class ReferentialError(Exception):
    """One human line per problem, naming the file and the key; the CLI exits 2 on it."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {line}" for line in problems))


def builtin_path() -> Path:
    """The referential shipped with the agent (package data, else the source tree)."""
    return _PACKAGED if _PACKAGED.is_file() else _SOURCE_TREE


def load_referential(path: Path | None = None) -> Referential:
    """Load `path` (default: the builtin referential), following `extends`."""
    path = path or builtin_path()
    raw = _load_raw(path, depth=0, chain=())
    return parse_referential(raw, path)


def parse_referential(raw: dict[str, object], path: Path = Path("<socle>")) -> Referential:
    try:
        return Referential.model_validate(raw)
    except ValidationError as exc:
        raise ReferentialError(path, _describe(exc, raw)) from None


def merge(base: dict[str, object], override: dict[str, object]) -> dict[str, object]:
    """Tables merge key by key; any other value (numbers, strings, lists) replaces."""
    merged = dict(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = merge(current, value)
        else:
            merged[key] = value
    return merged


def _load_raw(path: Path, depth: int, chain: tuple[Path, ...]) -> dict[str, object]:
    if depth > _MAX_EXTENDS_DEPTH:
        raise ReferentialError(path, [f"extends: more than {_MAX_EXTENDS_DEPTH} levels"])
    resolved = path.resolve()
    if resolved in chain:
        raise ReferentialError(path, ["extends: the chain comes back to this file"])
    raw = _read_toml(path)
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if not isinstance(parent, str) or not parent:
        raise ReferentialError(path, [f"extends = {parent!r}: expected 'builtin' or a path"])
    parent_path = builtin_path() if parent == "builtin" else path.parent / parent
    base = _load_raw(parent_path, depth + 1, (*chain, resolved))
    return merge(base, raw)


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReferentialError(path, ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferentialError(path, [f"cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ReferentialError(path, [f"not valid TOML: {exc}"]) from None
