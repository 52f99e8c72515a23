"""The CLI as an operator meets it: real processes, real files, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SUBCOMMANDS = [
    ["init"],
    ["run"],
    ["check-config"],
    ["discover"],
    ["identify"],
    ["probe", "throughput"],
    ["assess"],
    ["snapshot"],
    ["status"],
    ["keygen"],
    ["show-key"],
    ["enroll"],
    ["spool", "retry"],
]


def socle_agent(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(command: list[str]) -> None:
    result = socle_agent(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_check_config_with_three_mistakes(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text('[school]\nuai = "0751234A"\nclasses = -1\nsize = "huge"\n', encoding="utf-8")
    result = socle_agent("--config", str(path), "check-config")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    problems = [line for line in result.stderr.splitlines() if line.startswith("  ")]
    assert len(problems) == 3, result.stderr
    assert any("school.uai" in p and "needs J" in p for p in problems)
    assert any("school.classes = -1" in p for p in problems)
    assert any("school.size = 'huge'" in p for p in problems)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = socle_agent("--config", str(tmp_path / "nope.toml"), "check-config")
    assert result.returncode == 2
    assert "file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_env_var_names_the_config(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    assert (
        socle_agent("--config", str(path), "init", "--uai", "0751234J", "--classes", "3").returncode
        == 0
    )
    result = socle_agent("check-config", "--json", env={"SOCLE_AGENT_CONFIG": str(path)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["school"]["effective_size"] == "small"


def test_init_then_check_config_masks_secrets(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    result = socle_agent(
        "--config",
        str(path),
        "init",
        "--uai",
        "0751234J",
        "--classes",
        "8",
        "--subnet",
        "10.77.1.0/24",
        "--state-dir",
        str(tmp_path / "state"),
        "--collector",
        "http://10.78.1.2:8443",
    )
    assert result.returncode == 0, result.stderr
    text = path.read_text(encoding="utf-8").replace(
        'community = "public"', 'community = "s3cr3t-community"'
    )
    text = text.replace('# password = "…"', 'password = "pj-s3cr3t"')
    path.write_text(text, encoding="utf-8")
    shown = socle_agent("--config", str(path), "check-config")
    assert shown.returncode == 0, shown.stderr
    assert "s3cr3t" not in shown.stdout + shown.stderr
    assert "school.effective_size = 'medium'" in shown.stdout
    assert "network.subnets = ['10.77.1.0/24']" in shown.stdout
    as_json = json.loads(socle_agent("--config", str(path), "check-config", "--json").stdout)
    assert as_json["snmp"]["credentials"][0]["community"] == "***"
    assert as_json["pjlink"]["password"] == "***"


def test_init_refuses_a_bad_uai_and_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    bad = socle_agent("--config", str(path), "init", "--uai", "0751234K", "--classes", "3")
    assert bad.returncode == 2 and "needs J" in bad.stderr and not path.exists()
    assert (
        socle_agent("--config", str(path), "init", "--uai", "0751234J", "--classes", "3").returncode
        == 0
    )
    again = socle_agent("--config", str(path), "init", "--uai", "0751234J", "--classes", "3")
    assert again.returncode == 1 and "--force" in again.stderr
