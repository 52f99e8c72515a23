"""The daemon's short-lived worker: real processes, crashing, hanging, killed mid-run.

Stand-in workers are small Python programs given as the runner's argv, so what is
under test is the real spawning, piping, time limit and process-group handling; the
real `python -m agent.worker` runs a real throughput test against a loopback target,
and (tests/test_end_to_end.py, through `run --once`) a real discovery sweep in the rig.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from agent.config import AgentSettings, parse_settings
from agent.daemon import Daemon
from agent.sdnotify import Notifier
from agent.service import AgentService
from agent.state import StateStore
from agent.worker_client import WorkerError, WorkerRunner
from agent.worker_wire import settings_from_wire, settings_to_wire
from tests.probes.throughput_servers import librespeed_target

SECRET = "s3cret-community"


def make_settings(tmp_path: Path, **measurement: object) -> AgentSettings:
    return parse_settings(
        {
            "school": {"uai": "0751234J", "classes": 3},
            "paths": {"state_dir": str(tmp_path)},
            "schedule": {"jitter_s": 0},
            "snmp": {
                "credentials": [
                    {"version": "2c", "community": SECRET},
                    {"version": "3", "user": "u", "auth_protocol": "sha", "auth_key": "k" * 8},
                ]
            },
            "pjlink": {"password": "pj-pass"},
            "measurement": measurement,
        }
    )


def fake(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purpose once reaped or <defunct>.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


async def gone(*pids: int, within_s: float = 3.0) -> bool:
    """All dead soon: a SIGKILL to the group is delivered asynchronously, and a grandchild
    reparented to init is not something we wait for."""
    deadline = time.monotonic() + within_s
    while any(alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def _complete(path: Path) -> str | None:
    text = path.read_text() if path.exists() else ""
    return text if text.endswith("\n") else None


async def wait_for_file(path: Path, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (text := _complete(path)) is not None:
            return text
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never written")


# A worker that starts a grandchild in its group, records both pids, then hangs.
HANG = """
import os, signal, subprocess, sys, time
if sys.argv[2] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(sys.argv[1], "w").write(f"{os.getpid()} {child.pid}\\n")
time.sleep(600)
"""


def test_settings_cross_the_pipe_with_their_secrets(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert settings_from_wire(settings_to_wire(settings)) == settings
    assert SECRET in str(settings_to_wire(settings))  # revealed for the worker…
    assert SECRET not in settings.model_dump_json()  # …which pydantic would have masked
    assert isinstance(settings.pjlink.password, SecretStr)


async def test_the_request_arrives_on_stdin_never_on_the_command_line(tmp_path: Path) -> None:
    echo = (
        "import json, sys; d = json.load(sys.stdin); "
        "print(json.dumps({'ok': True, 'peak_rss_kb': 1, 'result': {'argv': sys.argv, "
        "'community': d['settings']['snmp']['credentials'][0]['community'], "
        "'job': d['job'], 'limit': d['options']['time_limit_s']}}))"
    )
    got = await WorkerRunner(fake(echo)).run("discovery", make_settings(tmp_path), 30)
    assert got["community"] == SECRET and got["job"] == "discovery"
    assert SECRET not in " ".join(got["argv"])
    assert 0 < got["limit"] < 30  # the worker stops itself before the daemon would


async def test_a_crashing_worker_is_an_error_with_its_last_words(tmp_path: Path) -> None:
    crash = "import sys; sys.stderr.write('ERROR boom: disk on fire\\n'); raise SystemExit(3)"
    with pytest.raises(WorkerError, match=r"exit code 3\): ERROR boom: disk on fire"):
        await WorkerRunner(fake(crash)).run("discovery", make_settings(tmp_path), 30)
    with pytest.raises(WorkerError, match="killed by SIGSEGV"):
        await WorkerRunner(fake("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")).run(
            "discovery", make_settings(tmp_path), 30
        )
    with pytest.raises(WorkerError, match="no valid result"):
        await WorkerRunner(fake("print('not json')")).run("discovery", make_settings(tmp_path), 30)


async def test_the_real_worker_refuses_a_bad_request(tmp_path: Path) -> None:
    with pytest.raises(WorkerError, match=r"exit code 2\): ERROR socle-agent.worker: bad request"):
        await WorkerRunner().run("no-such-job", make_settings(tmp_path), 30)


@pytest.mark.parametrize("mode", ["polite", "stubborn"])
async def test_a_hanging_worker_is_stopped_at_its_time_limit(tmp_path: Path, mode: str) -> None:
    pids = tmp_path / "pids"
    runner = WorkerRunner([*fake(HANG), str(pids), mode], stop_grace_s=0.5)
    started = time.monotonic()
    with pytest.raises(WorkerError, match="no answer within 2 s"):
        await runner.run("discovery", make_settings(tmp_path), 2)
    assert time.monotonic() - started < 2 + 0.5 + 2  # limit + grace + slack
    worker, grandchild = (int(p) for p in pids.read_text().split())
    assert await gone(worker, grandchild)  # the whole group, not just the worker


async def test_cancelling_the_job_stops_the_worker_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    runner = WorkerRunner([*fake(HANG), str(pids), "polite"])
    task = asyncio.create_task(runner.run("discovery", make_settings(tmp_path), 60))
    worker, grandchild = (int(p) for p in (await wait_for_file(pids)).split())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await gone(worker, grandchild)


async def test_sigterm_to_the_daemon_during_a_worker_run(tmp_path: Path) -> None:
    """The real service and daemon; only the worker is a stand-in that hangs."""
    pids = tmp_path / "pids"
    settings = make_settings(tmp_path)
    store = StateStore(tmp_path / "state.sqlite3")
    service = AgentService(settings, store, worker=WorkerRunner([*fake(HANG), str(pids), "stubborn"]))  # fmt: skip
    daemon = Daemon(settings, store, service, notifier=Notifier(""))
    runner = asyncio.create_task(daemon.run(first_run_delay_s=0.1))
    worker, grandchild = (int(p) for p in (await wait_for_file(pids)).split())
    started = time.monotonic()
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(runner, timeout=10) == 0
    assert time.monotonic() - started < 10
    assert await gone(worker, grandchild)
    runs = [r for r in store.job_runs() if r.job == "discovery"]
    assert runs and runs[0].error == "cancelled (stopping)"


async def test_a_failed_worker_is_a_recorded_job_error_and_the_daemon_goes_on(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    store = StateStore(tmp_path / "state.sqlite3")
    crash = "import sys; sys.stderr.write('Traceback…\\nImportError: no scapy\\n'); sys.exit(1)"
    service = AgentService(settings, store, worker=WorkerRunner(fake(crash)))
    daemon = Daemon(settings, store, service, notifier=Notifier(""))
    await daemon.run_job("discovery", True)
    await daemon.run_job("snapshot", False)
    (failed,) = [r for r in store.job_runs() if r.job == "discovery"]
    assert not failed.ok and failed.error is not None
    assert (
        failed.error == "WorkerError: discovery worker failed (exit code 1): ImportError: no scapy"
    )
    assert store.last_run("snapshot") is not None and store.last_run("snapshot").ok  # type: ignore[union-attr]


def shape(value: object) -> object:
    """Keys and value types, recursively: what the store, page and snapshot rely on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value[:1]]
    return type(value).__name__


async def test_a_real_throughput_worker_result_is_recorded_as_in_process(tmp_path: Path) -> None:
    records = {}
    with librespeed_target() as url:
        for name, runner in (("worker", WorkerRunner()), ("in-process", None)):
            folder = tmp_path / name
            folder.mkdir()
            settings = make_settings(
                folder, http_target=url, max_duration_s=2, only_outside_lessons=False
            )
            store = StateStore(folder / "state.sqlite3")
            summary = await AgentService(settings, store, worker=runner).throughput()
            assert "Mbit/s" in summary, summary
            (records[name],) = store.measurements("throughput", datetime(2000, 1, 1, tzinfo=UTC))
    record = records["worker"]
    assert record["result"]["download"] and record["down_mbps"] > 10
    assert record["verdict"]["minimum_met"] and record["budget_used_bytes"] > 0
    assert shape(record) == shape(records["in-process"])


async def test_the_worker_reports_its_peak_rss(tmp_path: Path) -> None:
    """No probes: nothing is sent anywhere; the worker still starts, answers and exits."""
    runner = WorkerRunner()
    result = await runner.run("discovery", make_settings(tmp_path), 60, probes=[])
    assert result["observations"] == [] and "targets" in result
    assert runner.last_peak_rss_kb is not None and runner.last_peak_rss_kb > 10_000
