"""`socle-collector`: bare output for scripts, exit codes, and `serve` on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from collector.cli import app, parse_duration
from collector.migrate import head_revision
from tests.collector.live import HOST, free_port, new_key, uai

runner = CliRunner()
SCHOOL = uai(750001)


@pytest.fixture
def db(db_url: str) -> list[str]:
    """--database for this backend (SQLite file or a fresh PostgreSQL database)."""
    return ["--database", db_url]


def test_token_create_prints_the_token_alone(db: list[str]) -> None:
    result = runner.invoke(app, ["token", "create", "--uai", SCHOOL, "--expires", "2h", *db])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert (
        len(lines) == 1
        and len(lines[0]) >= 32
        and lines[0].replace("-", "").replace("_", "").isalnum()
    )


def test_token_create_refuses_a_bad_uai_or_duration(db: list[str]) -> None:
    bad_uai = runner.invoke(app, ["token", "create", "--uai", "0751234A", *db])
    assert bad_uai.exit_code == 2 and "check letter" in bad_uai.output
    bad_ttl = runner.invoke(app, ["token", "create", "--uai", SCHOOL, "--expires", "soon", *db])
    assert bad_ttl.exit_code == 2 and "duration" in bad_ttl.output


def test_agent_add_list_revoke(db: list[str]) -> None:
    key = new_key()
    added = runner.invoke(
        app, ["agent", "add", "--uai", SCHOOL, "--public-key", key.public_key_text, *db]
    )
    assert added.exit_code == 0 and added.stdout.strip() == key.agent_id
    listed = runner.invoke(app, ["agent", "list", "--json", *db])
    rows = json.loads(listed.stdout)
    assert [(r["agent_id"], r["state"], r["uai"]) for r in rows] == [
        (key.agent_id, "active", SCHOOL)
    ]
    assert runner.invoke(app, ["agent", "revoke", key.agent_id, *db]).exit_code == 0
    again = runner.invoke(app, ["agent", "revoke", key.agent_id, *db])
    assert again.exit_code == 1
    readd = runner.invoke(
        app, ["agent", "add", "--uai", SCHOOL, "--public-key", key.public_key_text, *db]
    )
    assert readd.exit_code == 1 and "revoked" in readd.output
    bad = runner.invoke(app, ["agent", "add", "--uai", SCHOOL, "--public-key", "xx", *db])
    assert bad.exit_code == 2


def test_migrate_reports_the_revision(db: list[str]) -> None:
    result = runner.invoke(app, ["migrate", *db])
    assert result.exit_code == 0 and f"at revision {head_revision()}" in result.stdout


def test_bad_config_file_is_one_line_per_problem(tmp_path: Path) -> None:
    config = tmp_path / "collector.toml"
    config.write_text('[server]\nport = "high"\nbogus = 1\n')
    result = runner.invoke(app, ["migrate", "--config", str(config)])
    assert result.exit_code == 2
    assert "server.port" in result.output and "server.bogus: unknown key" in result.output


def test_example_config_is_valid() -> None:
    from collector.config import load_config

    example = Path(__file__).resolve().parents[2] / "config" / "collector.example.toml"
    assert load_config(example).server.port == 8443


def test_parse_duration() -> None:
    assert parse_duration("7d").total_seconds() == 7 * 86400
    assert parse_duration("90").total_seconds() == 90


def test_serve_listens_where_told(db: list[str]) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from collector.cli import main; main()",
            "serve",
            "--listen",
            f"{HOST}:{port}",
            *db,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"http://{HOST}:{port}/v1/schema", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        assert response.status_code == 200 and response.json()["title"] == "Snapshot"
    finally:
        process.terminate()
        process.wait(10)


def test_school_set_and_prune(db: list[str]) -> None:
    ok = runner.invoke(
        app, ["school", "set", "--uai", SCHOOL, "--commune", "Lyon", "--size", "small", *db]
    )
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(app, ["school", "set", "--uai", SCHOOL, "--size", "huge", *db])
    assert bad.exit_code == 2 and "size" in bad.output
    pruned = runner.invoke(app, ["prune", "--older-than", "30d", *db])
    assert pruned.exit_code == 0 and "pruned 0" in pruned.stdout


def test_serve_with_two_workers_balances_and_stops_cleanly(db: list[str]) -> None:
    """Each worker accepts on its own SO_REUSEPORT socket; SIGTERM stops them all, exit 0."""
    port = free_port()
    command = [sys.executable, "-c", "from collector.cli import main; main()", "serve"]
    process = subprocess.Popen(
        [*command, "--listen", f"{HOST}:{port}", "--workers", "2", *db],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # every fresh connection (new source port) lands on a ready worker
            try:
                codes = {httpx.get(f"http://{HOST}:{port}/healthz").status_code for _ in range(20)}
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        assert codes == {200}
        busy = subprocess.run(
            [*command, "serve", "--listen", f"{HOST}:{port}", "--workers", "2", *db],
            capture_output=True,
            text=True,
            timeout=30,
        )
        # SO_REUSEPORT joins only sockets that all set it: another collector is refused.
        assert busy.returncode != 0
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()[-2000:]
    assert stderr.decode().count("Application startup complete") == 2
