"""The daemon's own rules: heavy jobs never overlap, failures are recorded and survived,
sd_notify speaks to a real AF_UNIX socket, SIGTERM stops it cleanly and SIGHUP keeps a
good configuration when the new one is bad.

The jobs here are instrumented stand-ins: what is under test is the scheduler and the
lifecycle, not the probes (those have their own tests against real peers).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import pytest

from agent.config import AgentSettings, ConfigError, parse_settings
from agent.daemon import Daemon, job_specs
from agent.sdnotify import Notifier
from agent.state import StateStore


def make_settings(tmp_path: Path, **schedule: object) -> AgentSettings:
    return parse_settings(
        {
            "school": {"uai": "0751234J", "classes": 3},
            "paths": {"state_dir": str(tmp_path)},
            "schedule": {"jitter_s": 0, **schedule},
        }
    )


class RecordingJobs:
    def __init__(self) -> None:
        self.active_heavy = 0
        self.max_heavy = 0
        self.calls: list[str] = []
        self.fail_latency = True
        self.hang = False

    async def _heavy(self, name: str) -> str:
        self.calls.append(name)
        self.active_heavy += 1
        self.max_heavy = max(self.max_heavy, self.active_heavy)
        try:
            await asyncio.sleep(3600 if self.hang else 0.05)
        finally:
            self.active_heavy -= 1
        return f"{name} ok"

    async def discovery(self) -> str:
        return await self._heavy("discovery")

    async def throughput(self) -> str:
        return await self._heavy("throughput")

    async def latency(self) -> str:
        self.calls.append("latency")
        if self.fail_latency:
            raise RuntimeError("target unreachable")
        return "12 ms"

    async def snapshot(self) -> str:
        self.calls.append("snapshot")
        return "seq 1 spooled"

    async def drain(self) -> str:
        return "spool empty"


def test_job_specs_follow_the_settings(tmp_path: Path) -> None:
    specs = {s.name: s for s in job_specs(make_settings(tmp_path, throughput_tests_per_day=4))}
    assert specs["throughput"].interval.total_seconds() == 6 * 3600
    assert specs["throughput"].heavy and specs["discovery"].heavy and not specs["snapshot"].heavy
    assert "throughput" not in {
        s.name for s in job_specs(make_settings(tmp_path, throughput_tests_per_day=0))
    }


async def test_heavy_jobs_never_overlap_and_failures_are_recorded(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    jobs = RecordingJobs()
    daemon = Daemon(make_settings(tmp_path), store, jobs, notifier=Notifier(""))
    await asyncio.gather(*(daemon.run_job(name, True) for name in ["discovery", "throughput"] * 5))
    await daemon.run_job("latency", False)
    await daemon.run_job("latency", False)
    assert jobs.max_heavy == 1
    errors = store.job_runs(errors_only=True)
    assert [e.job for e in errors] == ["latency", "latency"]
    assert errors[0].error == "RuntimeError: target unreachable"
    assert store.last_run("discovery") is not None and store.last_run("discovery").ok  # type: ignore[union-attr]


def _notify_socket(tmp_path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.setblocking(False)
    return sock


def _messages(sock: socket.socket) -> list[str]:
    found = []
    while True:
        try:
            found.append(sock.recv(4096).decode())
        except BlockingIOError:
            return found


async def test_sigterm_cancels_a_hung_job_and_exits_zero(tmp_path: Path) -> None:
    sock = _notify_socket(tmp_path)
    jobs = RecordingJobs()
    jobs.hang = True
    store = StateStore(tmp_path / "state.sqlite3")
    daemon = Daemon(
        make_settings(tmp_path), store, jobs, notifier=Notifier(str(tmp_path / "notify.sock"))
    )
    runner = asyncio.create_task(daemon.run(first_run_delay_s=0.1))
    for _ in range(100):
        if "discovery" in jobs.calls:
            break
        await asyncio.sleep(0.05)
    assert "discovery" in jobs.calls
    loop = asyncio.get_running_loop()
    started = loop.time()
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(runner, timeout=10) == 0
    assert loop.time() - started < 10
    sent = "\n".join(_messages(sock))
    assert "READY=1" in sent and "STOPPING=1" in sent
    cancelled = [r for r in store.job_runs() if r.job == "discovery"]
    assert cancelled and cancelled[0].error == "cancelled (stopping)"


async def test_sighup_keeps_the_old_settings_when_the_new_file_is_bad(tmp_path: Path) -> None:
    good = make_settings(tmp_path)
    attempts: list[str] = []

    def bad_reload() -> AgentSettings:
        attempts.append("reload")
        raise ConfigError(tmp_path / "agent.toml", ["school.uai = 'x': expected a UAI"])

    daemon = Daemon(
        good,
        StateStore(tmp_path / "s.sqlite3"),
        RecordingJobs(),
        reload_settings=bad_reload,
        notifier=Notifier(""),
    )
    await daemon.reload()
    assert attempts == ["reload"] and daemon.settings is good


@pytest.mark.parametrize("per_day", [1, 4, 12])
def test_throughput_tests_per_day(tmp_path: Path, per_day: int) -> None:
    spec = {
        s.name: s for s in job_specs(make_settings(tmp_path, throughput_tests_per_day=per_day))
    }["throughput"]
    assert spec.interval.total_seconds() * per_day == 86400
