"""Settings: every bad value is named with its key; good files load into frozen models."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.config import AgentSettings, ConfigError, load_settings, parse_settings
from agent.config_template import render_agent_config
from agent.uai import uai_check_letter, validate_uai

REPO = Path(__file__).resolve().parents[2]


def minimal(**school: object) -> dict[str, object]:
    return {"school": {"uai": "0751234J", "classes": 3, **school}}


@pytest.mark.parametrize(
    ("uai", "ok"),
    [
        ("0751234J", True),
        ("0751234j", True),
        ("0751234K", False),
        ("075123J", False),
        ("ABCDEFGJ", False),
    ],
)
def test_uai_check_letter(uai: str, ok: bool) -> None:
    if ok:
        assert validate_uai(uai) == uai.upper()
    else:
        with pytest.raises(ValueError):
            validate_uai(uai)


def test_check_letters_skip_i_o_q() -> None:
    letters = {uai_check_letter(f"{n:07d}") for n in range(23)}
    assert len(letters) == 23
    assert not letters & {"I", "O", "Q"}


@pytest.mark.parametrize(
    ("classes", "size"),
    [(1, "small"), (5, "small"), (6, "medium"), (11, "medium"), (12, "large"), (16, "large")],
)
def test_size_boundaries_from_design(classes: int, size: str) -> None:
    assert parse_settings(minimal(classes=classes)).school.effective_size == size


def test_size_set_outright_wins() -> None:
    assert parse_settings(minimal(classes=3, size="large")).school.effective_size == "large"


def test_settings_are_frozen() -> None:
    loaded = parse_settings(minimal())
    with pytest.raises(ValidationError):
        loaded.school.classes = 9  # type: ignore[misc]


def test_three_mistakes_give_three_lines(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(
        '[school]\nuai = "0751234K"\nclasses = 0\n[network]\nsubnets = ["10.0.0.0/33"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    problems = caught.value.problems
    assert len(problems) == 3, problems
    assert problems[0].startswith("school.uai = '0751234K'")
    assert "0751234 needs J" in problems[0]
    assert problems[1].startswith("school.classes = 0")
    assert problems[2].startswith("network.subnets[0] = '10.0.0.0/33'")


def test_unknown_key_and_missing_key_are_named() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"school": {"uai": "0751234J"}, "netwrok": {}})
    assert caught.value.problems == [
        "school.classes: missing (required)",
        "netwrok: unknown key (check the spelling)",
    ]


def test_subnet_larger_than_22_needs_override() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({**minimal(), "network": {"subnets": ["10.0.0.0/16"]}})
    assert "allow_large_subnets" in caught.value.problems[0]
    allowed = parse_settings(
        {**minimal(), "network": {"subnets": ["10.0.0.0/16"], "allow_large_subnets": True}}
    )
    assert allowed.network.subnets == [IPv4Network("10.0.0.0/16")]


def test_secret_values_never_appear_in_errors() -> None:
    raw = {
        **minimal(),
        "snmp": {
            "credentials": [
                {"version": "3", "user": "u", "auth_protocol": "sha", "auth_key": "hunter2"}
            ]
        },
        "pjlink": {"password": 12},
    }
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw)
    text = "\n".join(caught.value.problems)
    assert "hunter2" not in text
    assert "snmp.credentials[0]" in text


def test_bad_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text("[school\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert len(caught.value.problems) == 1
    assert "not valid TOML" in caught.value.problems[0]


def test_lesson_hours_are_parsed_and_checked() -> None:
    good = parse_settings({**minimal(), "schedule": {"lesson_hours": {"monday": ["08:00-12:00"]}}})
    assert good.schedule.lesson_hours["monday"][0].end.hour == 12
    with pytest.raises(ConfigError) as caught:
        parse_settings({**minimal(), "schedule": {"lesson_hours": {"monday": ["12:00-08:00"]}}})
    assert caught.value.problems[0].startswith("schedule.lesson_hours.monday[0]")


def test_template_renders_a_valid_file_and_example_matches(tmp_path: Path) -> None:
    text = render_agent_config(uai="0751234J", classes=8, subnets=[IPv4Network("10.77.1.0/24")])
    path = tmp_path / "agent.toml"
    path.write_text(text, encoding="utf-8")
    loaded = load_settings(path)
    assert isinstance(loaded, AgentSettings)
    assert loaded.network.subnets == [IPv4Network("10.77.1.0/24")]
    example = (REPO / "config" / "agent.example.toml").read_text(encoding="utf-8")
    assert example == render_agent_config(
        uai="0751234J", classes=8, name="École élémentaire Jules Ferry", commune="Paris"
    ), "config/agent.example.toml is stale: regenerate it with scripts/regen-examples"
