"""``School``: a running simulated school network, and its guaranteed teardown.

Why: tests, benchmarks and the demo all need the same thing: bring a planned
school up quickly, run things inside its namespaces, and be sure nothing is
left behind: context manager, ``atexit``, SIGTERM/SIGHUP turned into
``SystemExit`` so ``finally`` blocks run, and ``cleanup_stale`` for rigs whose
owner was SIGKILLed.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, TypeVar

from . import launch, topology
from .catalog import PlanOptions, plan_school
from .forkserver import setns_net
from .model import Host, SchoolPlan
from .netns import (
    NETNS_RUN_DIR,
    RigUnavailable,
    Runner,
    delete_netns,
    kill_pids,
    missing_tools,
    netns_list,
)
from .services import ForkServer, Proc, helper_env

STATE_DIR = Path(tempfile.gettempdir()) / f"socle-rig-{os.getuid()}"
_RIG_PREFIX = re.compile(r"^sa[0-9a-f]{4}$")
READY_TIMEOUT_S = 30.0
T = TypeVar("T")
_LIVE: set[School] = set()
_LOCK = threading.Lock()


class School:
    """A planned school; ``start()`` builds it, ``stop()`` removes every trace."""

    def __init__(self, plan: SchoolPlan, keep_logs: bool = False) -> None:
        self.plan = plan
        self.keep_logs = keep_logs
        self.runner: Runner | None = None
        self.forkserver: ForkServer | None = None
        self.procs: list[Proc] = []
        self.workdir = Path(tempfile.mkdtemp(prefix=f"socle-rig-{plan.prefix}-"))
        self.bringup_s: float | None = None
        self._started = False

    # ground truth -----------------------------------------------------------
    @property
    def hosts(self) -> list[Host]:
        return self.plan.hosts

    def host(self, name: str) -> Host:
        """Host by name (``agent``, ``router``, ``inet``, device or client name)."""
        return self.plan.host(name)

    @property
    def devices(self) -> list[Host]:
        return self.plan.by_role("device")

    def to_dict(self) -> dict[str, Any]:
        """Ground truth plus runtime facts (bring-up time)."""
        d = self.plan.to_dict()
        d["bringup_s"] = self.bringup_s
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    # lifecycle --------------------------------------------------------------
    def start(self) -> School:
        """Build namespaces and start all servers; wait until each is ready."""
        t0 = time.monotonic()
        missing = missing_tools()
        if missing:
            raise RigUnavailable(f"missing tools: {', '.join(missing)} (apt install iproute2)")
        with _LOCK:
            _LIVE.add(self)
            _install_signal_handlers()
        try:
            self.runner = Runner()
            self._write_state()
            self.forkserver = ForkServer(self.runner, self.workdir / "forkserver.log")
            self._write_state()
            topology.build(self.runner, self.plan)
            topology.write_etc(self.runner, self.plan)
            self.procs = launch.start_all(self.runner, self.forkserver, self.plan, self.workdir)
            launch.wait_ready(self.procs, READY_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        self._started = True
        self.bringup_s = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Kill every process, delete every namespace and file of this rig (idempotent)."""
        with _LOCK:
            _LIVE.discard(self)
        if self.forkserver is not None:
            self.forkserver.close()
            self.forkserver = None
        for p in self.procs:
            if p.popen is not None and p.popen.poll() is None:
                p.popen.terminate()
        if self.runner is not None:
            present = set(netns_list(self.runner))
            delete_netns(self.runner, [n for n in topology.all_netns(self.plan) if n in present])
            for p in self.procs:
                if p.popen is not None:
                    try:
                        p.popen.wait(timeout=2)
                    except subprocess.TimeoutExpired:
                        p.popen.kill()
                        p.popen.wait()
            self.runner.close()
            self.runner = None
        self.procs = []
        (STATE_DIR / f"{self.plan.prefix}.json").unlink(missing_ok=True)
        if not self.keep_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self._started = False

    def __enter__(self) -> School:
        return self if self._started else self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _write_state(self) -> None:
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        fs = self.forkserver.proc.pid if self.forkserver else None
        state = {
            "owner_pid": os.getpid(),
            "workdir": str(self.workdir),
            "forkserver_pid": fs,
            "netns": topology.all_netns(self.plan),
            "plan": self.plan.to_dict(),
        }
        (STATE_DIR / f"{self.plan.prefix}.json").write_text(json.dumps(state))

    # running things inside ----------------------------------------------------
    def netns_of(self, host: str) -> str:
        """Namespace name for a host name (or a namespace name given as is)."""
        if host == "bridge":
            return topology.bridge_ns(self.plan)
        if host.startswith(self.plan.prefix + "-"):
            return host
        return self.plan.host(host).netns

    def _argv(self, host: str, argv: Sequence[str]) -> list[str]:
        if self.runner is None:
            raise RuntimeError("school is not running")
        return self.runner.argv(["ip", "netns", "exec", self.netns_of(host), *argv])

    def run_in(
        self,
        host: str,
        argv: Sequence[str],
        *,
        timeout: float | None = 60,
        check: bool = False,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside a host's namespace; text output captured."""
        return subprocess.run(
            self._argv(host, argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            input=input,
            env=env,
            cwd=str(launch.REPO_ROOT),
        )

    def popen_in(self, host: str, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start a command inside a host's namespace (caller owns the process)."""
        kwargs.setdefault("cwd", str(launch.REPO_ROOT))
        return subprocess.Popen(self._argv(host, argv), **kwargs)

    def python_in(
        self, host: str, code: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run a Python snippet (this interpreter, repo importable) inside a host's namespace."""
        return self.run_in(host, [sys.executable, "-c", code], timeout=timeout, env=helper_env())

    def check(
        self, kind: str, args: dict[str, Any], host: str = "agent", timeout: float = 60
    ) -> Any:
        """Run one of ``checks.py``'s clients inside ``host``'s namespace; parsed JSON result."""
        argv = [sys.executable, "-m", "tests.rig.checks", kind, json.dumps(args)]
        cp = self.run_in(host, argv, timeout=timeout, env=helper_env())
        if cp.returncode != 0:
            raise RuntimeError(f"check {kind} failed in {host}: {cp.stderr.strip()[-2000:]}")
        return json.loads(cp.stdout)

    def detach(self) -> None:
        """Leave the rig running after this process exits (CLI ``up`` without ``--hold``)."""
        if self.forkserver is not None:
            self.forkserver.linger()
        with _LOCK:
            _LIVE.discard(self)

    def run_coro_in(self, host: str, factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``asyncio.run(factory())`` in a thread moved into the host's namespace.

        Only the worker thread changes namespace (network namespaces are per
        thread on Linux), so this process keeps its own view.  Needs real root.
        """
        if self.runner is None or self.runner.rootless:
            raise RigUnavailable("run_coro_in needs root; use python_in() instead")
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                setns_net(str(NETNS_RUN_DIR / self.netns_of(host)))
                box["result"] = asyncio.run(factory())
            except BaseException as e:
                box["error"] = e

        t = threading.Thread(target=work, name=f"rig-{host}", daemon=True)
        t.start()
        t.join()
        if "error" in box:
            raise box["error"]
        return box["result"]  # type: ignore[no-any-return]


def new_prefix(base: str = "sa") -> str:
    """``sa`` + 4 random hex digits, so several rigs can run side by side."""
    return f"{base}{secrets.token_hex(2)}"


def build_school(**options: Any) -> School:
    """Plan a school from ``PlanOptions`` keywords (prefix random by default); not started.

    Use as ``with build_school(classrooms=3) as school: ...``.
    """
    keep_logs = bool(options.pop("keep_logs", False))
    options.setdefault("prefix", new_prefix())
    return School(plan_school(PlanOptions(**options)), keep_logs=keep_logs)


def cleanup_stale(prefix: str = "sa", include_live: bool = False) -> list[str]:
    """Delete namespaces of rigs whose owner process is gone; return removed names.

    A rig's namespaces are named ``<rig prefix>-<x>``; rig prefixes are ``sa<4 hex>``
    (or any prefix with a state file in ``STATE_DIR``) starting with ``prefix``.  With ``include_live``
    rigs whose owner still runs are removed too (use from the CLI ``down``).
    """
    runner = Runner()
    try:
        groups: dict[str, list[str]] = {}
        for name in netns_list(runner):
            rig = name.split("-", 1)[0]
            ours = _RIG_PREFIX.match(rig) or (STATE_DIR / f"{rig}.json").exists()
            if "-" in name and rig.startswith(prefix) and ours:
                groups.setdefault(rig, []).append(name)
        removed: list[str] = []
        for rig, names in groups.items():
            state_file = STATE_DIR / f"{rig}.json"
            if not include_live and _owner_alive(state_file):
                continue
            state = _read_state(state_file)
            if state.get("forkserver_pid"):
                kill_pids([int(state["forkserver_pid"])], grace_s=0.2)
            delete_netns(runner, names)
            if state.get("workdir"):
                shutil.rmtree(state["workdir"], ignore_errors=True)
            state_file.unlink(missing_ok=True)
            removed.extend(names)
        return removed
    finally:
        runner.close()


def _read_state(state_file: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(state_file.read_text()))
    except (FileNotFoundError, ValueError):
        return {}


def running_rigs() -> dict[str, dict[str, Any]]:
    """State (owner pid, plan, ...) of rigs started on this machine, by prefix."""
    if not STATE_DIR.is_dir():
        return {}
    return {p.stem: _read_state(p) for p in sorted(STATE_DIR.glob("*.json"))}


def _owner_alive(state_file: Path) -> bool:
    try:
        pid = int(_read_state(state_file)["owner_pid"])
    except (ValueError, KeyError, TypeError):
        return False
    if pid == os.getpid():
        return True
    return Path(f"/proc/{pid}").exists()


def _stop_all() -> None:
    for school in list(_LIVE):
        school.stop()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


_handlers_installed = False


def _install_signal_handlers() -> None:
    """SIGTERM/SIGHUP -> SystemExit so context managers and atexit tear down."""
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, _on_signal)
    _handlers_installed = True


atexit.register(_stop_all)
