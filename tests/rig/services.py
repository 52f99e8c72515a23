"""Server processes of the rig and how we know they are ready.

Why: bring-up must be fast (< 3 s) and deterministic, so processes start in
parallel and readiness is *observed*, never slept for: a listening socket in
the process's own ``/proc/<pid>/net/{tcp,udp}`` (that file shows the socket
table of the process's network namespace, so no packet is needed), or a
``READY`` line in the helper's log.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .netns import NETNS_RUN_DIR, Runner
from .recordings import REPO_ROOT

TCP_LISTEN = "0A"


def _hex_ip(ip: str) -> str:
    return f"{struct.unpack('<I', socket.inet_aton(ip))[0]:08X}"


def socket_bound(pid: int, proto: str, ip: str, port: int) -> bool:
    """True if the namespace of ``pid`` has a (listening, for TCP) socket on ip:port."""
    want = {f"{_hex_ip(ip)}:{port:04X}", f"00000000:{port:04X}"}
    try:
        with open(f"/proc/{pid}/net/{proto}", encoding="ascii") as fh:
            next(fh)
            for line in fh:
                cols = line.split()
                if cols[1] in want and (proto != "tcp" or cols[3] == TCP_LISTEN):
                    return True
    except (FileNotFoundError, ProcessLookupError, StopIteration):
        return False
    return False


def log_says_ready(path: Path) -> bool:
    """True once a helper wrote its READY line."""
    try:
        with path.open("rb") as fh:
            return any(line.startswith(b"READY") for line in fh)
    except FileNotFoundError:
        return False


def log_tail(path: Path, lines: int = 8) -> str:
    """Last lines of a log, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@dataclass
class Proc:
    """One server process of the rig."""

    label: str
    netns: str
    pid: int
    log: Path
    ready: Callable[[], bool]
    popen: subprocess.Popen[bytes] | None = None
    is_ready: bool = field(default=False)

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        with open(f"/proc/{self.pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"


def helper_env() -> dict[str, str]:
    """Environment for our Python helpers: the repo importable, MIB loading off for snmpd."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def start_in_netns(
    runner: Runner,
    netns: str,
    argv: list[str],
    log: Path,
    label: str,
    ready: Callable[[int], bool],
) -> Proc:
    """Start ``argv`` with ``ip netns exec`` (own session, output to ``log``)."""
    with log.open("ab") as fh:
        p = subprocess.Popen(
            runner.argv(["ip", "netns", "exec", netns, *argv]),
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=helper_env(),
            cwd=str(log.parent),
        )
    return Proc(label, netns, p.pid, log, lambda: ready(p.pid), popen=p)


class ForkServer:
    """Client side of ``forkserver.py`` (see there for why it exists)."""

    def __init__(self, runner: Runner, log: Path) -> None:
        self.proc = subprocess.Popen(
            runner.argv([sys.executable, "-m", "tests.rig.forkserver"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("ab"),
            start_new_session=True,
            env=helper_env(),
            cwd=str(REPO_ROOT),
        )
        self.log = log
        self._warm = False

    def _reply(self) -> dict[str, object]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"fork server died:\n{log_tail(self.log)}")
        return dict(json.loads(line))

    def wait_ready(self) -> None:
        """Block until the server has imported and warmed everything."""
        if not self._warm:
            if not self._reply().get("ready"):
                raise RuntimeError("fork server did not start")
            self._warm = True

    def spawn(self, netns: str, kind: str, args: list[str], log: Path) -> int:
        """Fork a ``kind`` server inside ``netns``; return its PID."""
        self.wait_ready()
        assert self.proc.stdin is not None
        req = {"netns": str(NETNS_RUN_DIR / netns), "kind": kind, "args": args, "log": str(log)}
        self.proc.stdin.write((json.dumps(req) + "\n").encode())
        self.proc.stdin.flush()
        reply = self._reply()
        if "pid" not in reply:
            raise RuntimeError(f"fork server refused {kind}: {reply}")
        return int(str(reply["pid"]))

    def linger(self) -> None:
        """Tell the server to stay up after our stdin closes (detached rig)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b'{"kind": "linger"}\n')
        self.proc.stdin.flush()

    def close(self) -> None:
        """Stop the server (its children get SIGTERM through PDEATHSIG)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()


def snmpd_conf(ip: str, community: str, descr: str, state_dir: Path) -> str:
    """net-snmp config for the router: live IF-MIB counters, read-only community."""
    return (
        f"agentAddress udp:{ip}:161\n"
        f"rocommunity {community} default\n"
        f"sysDescr {descr}\n"
        "sysName socle-rig-router\nsysLocation Local technique\n"
        "sysContact rig@ecole.example\nsysServices 78\n"
        f"persistentDir {state_dir}\n"
        "dontLogTCPWrappersConnects yes\n"
    )
