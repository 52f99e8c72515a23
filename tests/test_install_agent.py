"""scripts/install-agent into a scratch root: lays out the files, and an upgrade keeps
the operator's config and the agent's state."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def install(prefix: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(REPO / "scripts" / "install-agent"),
            "--prefix",
            str(prefix),
            "--no-user",
            "--no-systemctl",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=dict(os.environ),
    )


def test_install_then_upgrade_keeps_config_and_state(tmp_path: Path) -> None:
    first = install(tmp_path)
    assert first.returncode == 0, first.stderr
    assert "next steps" in first.stdout
    assert (tmp_path / "opt/socle-agent/venv/bin/socle-agent").exists()
    assert (tmp_path / "etc/systemd/system/socle-agent.service").exists()
    assert (tmp_path / "etc/socle-agent/agent.example.toml").exists()
    assert (tmp_path / "var/lib/socle-agent").stat().st_mode & 0o777 == 0o700
    config = tmp_path / "etc/socle-agent/agent.toml"
    config.write_text("# operator's file\n", encoding="utf-8")
    key = tmp_path / "var/lib/socle-agent/agent.key"
    key.write_bytes(b"secret key bytes")
    second = install(tmp_path)
    assert second.returncode == 0, second.stderr
    assert "kept existing" in second.stdout
    assert config.read_text(encoding="utf-8") == "# operator's file\n"
    assert key.read_bytes() == b"secret key bytes"
