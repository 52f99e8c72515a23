"""A tiny throw-away LAN of network namespaces for probe tests (ARP, mDNS, PJLink search).

Why not the full rig: probe tests need two or three hosts on one bridge and must be
fast and independent. Every packet stays inside namespaces this module creates; all
of them are deleted (and their processes killed) on exit, even after a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def netns_available() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    name = f"sa-chk-{uuid.uuid4().hex[:6]}"
    try:
        _ip("netns", "add", name)
    except subprocess.CalledProcessError:
        return False
    _ip("netns", "del", name)
    return True


needs_netns = pytest.mark.skipif(not netns_available(), reason="needs root and ip netns")


@dataclass
class Lab:
    """A bridge in its own namespace and hosts attached to it, on 10.77.0.0/24."""

    prefix: str
    subnet: str = "10.77.0.0/24"
    namespaces: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def switch(self) -> str:
        return f"{self.prefix}-sw"

    def add_host(self, name: str, ip: str, mac: str | None = None, prefix_len: int = 24) -> str:
        """New namespace `<prefix>-<name>` with `eth0` = `ip`, plugged into the bridge."""
        ns = f"{self.prefix}-{name}"
        _ip("netns", "add", ns)
        self.namespaces.append(ns)
        port = f"p{len(self.namespaces)}{self.prefix[-6:]}"
        _ip("link", "add", "tmpa" + port[-9:], "type", "veth", "peer", "name", port)
        _ip("link", "set", "tmpa" + port[-9:], "netns", ns)
        _ip("link", "set", port, "netns", self.switch)
        _ip("-n", ns, "link", "set", "tmpa" + port[-9:], "name", "eth0")
        if mac:
            _ip("-n", ns, "link", "set", "eth0", "address", mac)
        _ip("-n", ns, "addr", "add", f"{ip}/{prefix_len}", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        return ns

    def spawn(self, ns: str, code: str) -> subprocess.Popen[str]:
        """Start `python -c code` inside `ns`; killed at teardown."""
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, PYTHON, "-c", code],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.processes.append(proc)
        return proc

    def run_json(self, ns: str, code: str, timeout_s: float = 60) -> object:
        """Run `code` in `ns`; its last stdout line is JSON."""
        done = subprocess.run(
            ["ip", "netns", "exec", ns, PYTHON, "-c", code],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
        if done.returncode != 0:
            raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def teardown(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=10)
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@contextmanager
def lab() -> Iterator[Lab]:
    """A Lab with its bridge up; always torn down."""
    net = Lab(prefix=f"sa{uuid.uuid4().hex[:6]}")
    try:
        _ip("netns", "add", net.switch)
        net.namespaces.append(net.switch)
        _ip("-n", net.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", net.switch, "link", "set", "br0", "up")
        yield net
    finally:
        net.teardown()
