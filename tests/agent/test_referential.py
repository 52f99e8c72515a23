"""The referential as data: the builtin file matches the source text; overrides are checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent.config import SchoolSettings
from agent.referential import (
    Referential,
    ReferentialError,
    builtin_path,
    load_referential,
    merge,
)
from tests.agent.test_assess_support import UAI

SOURCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "000_2256e85146489698.txt"
BUILTIN = load_referential()


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_builtin_thresholds_are_the_referentials() -> None:
    internet = BUILTIN.internet
    assert (
        internet.minimum_down_mbps.small,
        internet.minimum_down_mbps.medium,
        internet.minimum_down_mbps.large,
    ) == (8, 10, 15)
    desirable = internet.desirable
    assert (desirable.small.down_mbps, desirable.small.up_mbps) == (15, 15)
    assert (desirable.medium.down_mbps, desirable.medium.up_mbps) == (35, 20)
    assert (desirable.large.down_mbps, desirable.large.up_mbps) == (100, 45)
    assert (BUILTIN.sizes.small_max_classes, BUILTIN.sizes.large_min_classes) == (5, 12)
    assert BUILTIN.criteria.mobile_equipment.pack_min_devices == 10
    assert BUILTIN.criteria.mobile_equipment.classes_per_pack == 4
    assert BUILTIN.criteria.network_points.min_per_classroom == 2
    assert BUILTIN.maintenance.lamp_rated_hours == 4000


def _normalise(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


@pytest.mark.skipif(not SOURCE.is_file(), reason=f"source text not found at {SOURCE}")
def test_every_quote_comes_from_the_source_text() -> None:
    """A quote that is not in the text is a paraphrase, and paraphrases drift."""
    source = _normalise(SOURCE.read_text(encoding="utf-8"))
    quotes = [spec.quote for _, spec in BUILTIN.criteria.enabled()]
    quotes += [BUILTIN.internet.quote, BUILTIN.internet.desirable_quote, BUILTIN.maintenance.quote]
    for quote in quotes:
        for fragment in re.split(r"\s*\[…\]\s*|\s+;\s+", quote):
            if fragment.startswith("loi "):
                continue
            assert _normalise(fragment) in source, fragment


def test_every_criterion_has_titles_and_a_section() -> None:
    for name, spec in BUILTIN.criteria.enabled():
        assert spec.title.fr and spec.title.en, name
        assert spec.section.startswith("II."), name


@pytest.mark.parametrize(
    ("classes", "size"),
    [
        (1, "small"),
        (5, "small"),
        (6, "medium"),
        (8, "medium"),
        (11, "medium"),
        (12, "large"),
        (16, "large"),
    ],
)
def test_school_size_at_the_boundaries(classes: int, size: str) -> None:
    assert BUILTIN.school_size(SchoolSettings(uai=UAI, classes=classes)) == size


def test_school_size_set_outright_wins() -> None:
    assert BUILTIN.school_size(SchoolSettings(uai=UAI, classes=3, size="large")) == "large"


def test_school_boundaries_win_when_the_school_sets_them() -> None:
    school = SchoolSettings.model_validate(
        {"uai": UAI, "classes": 5, "size_boundaries": {"small_max_classes": 4}}
    )
    assert BUILTIN.school_size(school) == "medium"


def test_municipality_extends_builtin(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "commune.toml",
        """
extends = "builtin"
name = "Référentiel de Trifouillis"
[sizes]
small_max_classes = 3
[internet.minimum_down_mbps]
small = 12.0
[criteria.document_camera]
level = "required"
[criteria.storage]
enabled = false
""",
    )
    referential = load_referential(path)
    assert referential.name == "Référentiel de Trifouillis"
    assert referential.internet.minimum_down_mbps.small == 12.0
    assert referential.internet.minimum_down_mbps.medium == 10.0  # kept
    assert referential.criteria.document_camera.level == "required"
    assert referential.criteria.document_camera.quote == BUILTIN.criteria.document_camera.quote
    assert "storage" not in [name for name, _ in referential.criteria.enabled()]
    assert referential.school_size(SchoolSettings(uai=UAI, classes=4)) == "medium"


def test_extends_a_relative_path(tmp_path: Path) -> None:
    write(tmp_path, "dept.toml", 'extends = "builtin"\n[internet]\nmin_tests = 5\n')
    path = write(tmp_path, "commune.toml", 'extends = "dept.toml"\nname = "X"\n')
    referential = load_referential(path)
    assert (referential.internet.min_tests, referential.name) == (5, "X")


def test_a_full_replacement_needs_every_key(tmp_path: Path) -> None:
    path = write(tmp_path, "full.toml", 'version = 1\nname = "X"\n')
    with pytest.raises(ReferentialError) as caught:
        load_referential(path)
    assert "criteria: missing (required)" in caught.value.problems
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("[criteria.wifi_off]\nlevel = 'required'\n", "criteria.wifi_off: unknown key"),
        ("[internet.minimum_down_mbps]\nsmall = -1\n", "internet.minimum_down_mbps.small = -1"),
        ("[criteria.storage]\nlevel = 'mandatory'\n", "criteria.storage.level = 'mandatory'"),
        (
            "[internet.desirable.medium]\ndown_mbps = 5.0\n",
            "desirable.medium.down_mbps is below minimum_down_mbps.medium",
        ),
        ("[sizes]\nlarge_min_classes = 3\n", "large_min_classes must be greater"),
        ("[maintenance]\nlamp_warn_ratio = 1.5\n", "maintenance.lamp_warn_ratio = 1.5"),
    ],
)
def test_bad_overrides_name_the_key(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, "bad.toml", 'extends = "builtin"\n' + body)
    with pytest.raises(ReferentialError) as caught:
        load_referential(path)
    assert any(expected in line for line in caught.value.problems), caught.value.problems


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('extends = "loop.toml"\n', "extends: the chain comes back to this file"),
        ('extends = "nowhere.toml"\n', "file not found"),
        ("extends = 3\n", "expected 'builtin' or a path"),
        ("not toml = = \n", "not valid TOML"),
    ],
)
def test_broken_files(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path, "loop.toml", body)
    with pytest.raises(ReferentialError) as caught:
        load_referential(path)
    assert expected in str(caught.value)


def test_merge_replaces_lists_and_merges_tables() -> None:
    base: dict[str, object] = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert merge(base, {"a": {"c": [3]}}) == {"a": {"b": 1, "c": [3]}, "d": 1}


def test_referential_is_frozen() -> None:
    with pytest.raises(ValueError, match="frozen"):
        BUILTIN.name = "changed"  # type: ignore[misc]


def test_builtin_path_is_the_config_file() -> None:
    assert builtin_path().name == "socle.toml"
    assert isinstance(BUILTIN, Referential)
