"""Our own software in the rig: the collector on the "internet" host and a configured
agent in the agent namespace. Used by the demo and the end-to-end tests."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path

from agent.config_template import render_agent_config
from tests.rig.school import School

COLLECTOR_PORT = 8443
COLLECTOR_BIN = str(Path(sys.executable).parent / "socle-collector")
DEMO_UAI = "0751234J"


@dataclass
class Stack:
    school: School
    work: Path
    collector: subprocess.Popen[str]
    collector_url: str
    database_url: str
    config_path: Path

    def agent(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """`socle-agent --config … ARGS` inside the agent namespace."""
        return self.school.run_in(
            "agent",
            [sys.executable, "-m", "agent", "--config", str(self.config_path), *args],
            timeout=timeout,
        )

    def collector_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [COLLECTOR_BIN, *args, "--database", self.database_url],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def stop(self) -> None:
        if self.collector.poll() is None:
            self.collector.terminate()
            try:
                self.collector.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.collector.kill()


def _wait_http(school: School, url: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    code = f"import httpx; httpx.get({url!r}, timeout=1).raise_for_status()"
    while time.monotonic() < deadline:
        if school.run_in("agent", [sys.executable, "-c", code], timeout=10).returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"collector did not answer at {url}")


def agent_config_text(school: School, state_dir: Path, collector_url: str, classes: int) -> str:
    """The agent's config for this rig: its LAN, the collector as throughput target,
    lesson hours lifted so a test may run now. Devices answer SNMP as "public"."""
    plan = school.plan
    text = render_agent_config(
        uai=DEMO_UAI,
        classes=classes,
        name="École du banc d'essai",
        commune="Rigville",
        collector_url=collector_url,
        state_dir=state_dir,
        subnets=[IPv4Network(plan.lan_cidr)],
    )
    text = text.replace(
        "[measurement]\n",
        f'[measurement]\nhttp_target = "{collector_url}/backend/"\nonly_outside_lessons = false\ngateway = "{plan.router_lan_ip}"\n',
    )
    return text.replace(
        "[status_page]\nenabled = true\n",
        f'[status_page]\nenabled = true\nbind = "{school.host("agent").ip}"\n',
    )


def start_stack(school: School, work: Path, *, classes: int = 8) -> Stack:
    work.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{work / 'collector.sqlite3'}"
    inet = school.plan.inet_ip
    url = f"http://{inet}:{COLLECTOR_PORT}"
    log = (work / "collector.log").open("w")
    proc = school.popen_in(
        "inet",
        [
            COLLECTOR_BIN,
            "serve",
            "--database",
            database_url,
            "--listen",
            f"{inet}:{COLLECTOR_PORT}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    config = work / "agent.toml"
    config.write_text(
        agent_config_text(school, work / "agent-state", url, classes), encoding="utf-8"
    )
    stack = Stack(school, work, proc, url, database_url, config)
    try:
        _wait_http(school, f"{url}/v1/schema")
    except BaseException:
        stack.stop()
        raise
    return stack


def enroll(stack: Stack) -> None:
    token = stack.collector_cli("token", "create", "--uai", DEMO_UAI)
    if token.returncode != 0:
        raise RuntimeError(f"token create failed: {token.stderr}")
    result = stack.agent("enroll", "--token", token.stdout.strip())
    if result.returncode != 0:
        raise RuntimeError(f"enroll failed: {result.stderr}")
