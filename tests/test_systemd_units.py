"""The shipped units parse, and their exposure stays within the targets (issue 7)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_EXPOSURE = {"socle-agent": 2.0, "socle-collector": 1.2}

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed"
)


def _unit_with_local_paths(name: str, tmp_path: Path) -> Path:
    """`verify` checks that ExecStart exists: point it at this checkout's venv."""
    text = (REPO / "systemd" / f"{name}.service").read_text(encoding="utf-8")
    text = text.replace("/opt/socle-agent/venv/bin/", f"{Path(sys.executable).parent}/")
    unit = tmp_path / f"{name}.service"
    unit.write_text(text, encoding="utf-8")
    return unit


@pytest.mark.parametrize("name", sorted(MAX_EXPOSURE))
def test_unit_verifies(name: str, tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(_unit_with_local_paths(name, tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    complaints = [line for line in result.stderr.splitlines() if name in line]
    assert result.returncode == 0 and not complaints, result.stderr


@pytest.mark.parametrize("name", sorted(MAX_EXPOSURE))
def test_unit_exposure(name: str) -> None:
    result = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=true",
            str(REPO / "systemd" / f"{name}.service"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout + result.stderr)
    assert match, result.stdout + result.stderr
    exposure = float(match.group(1))
    print(f"{name}: exposure {exposure} (target <= {MAX_EXPOSURE[name]})")
    assert exposure <= MAX_EXPOSURE[name]


def test_agent_unit_keeps_only_net_raw() -> None:
    text = (REPO / "systemd" / "socle-agent.service").read_text(encoding="utf-8")
    assert "CapabilityBoundingSet=CAP_NET_RAW\n" in text
    assert "AmbientCapabilities=CAP_NET_RAW\n" in text
    assert "AF_PACKET" in text and "AF_NETLINK" in text
    collector = (REPO / "systemd" / "socle-collector.service").read_text(encoding="utf-8")
    assert "CapabilityBoundingSet=\n" in collector
