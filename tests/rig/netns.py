"""Running commands with the right privileges, and building namespaces with ``ip``.

Why: the rig must never touch the machine's real interfaces.  Everything is
created *inside* namespaces: the bridge lives in its own namespace and each
veth pair is created there with its peer placed straight into the host's
namespace, so no interface ever appears in the root namespace.

Privileges: as root, commands run directly.  Otherwise we try the documented
fallback: a holder process ``unshare -rm`` (user + mount namespace, tmpfs on
/run with /run/netns) and every command is run through ``nsenter`` into it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

NETNS_RUN_DIR = Path("/run/netns")
ETC_NETNS = Path("/etc/netns")


class RigUnavailable(RuntimeError):
    """The rig cannot be built here (no root, no user namespaces, missing tools)."""


def missing_tools(tools: Sequence[str] = ("ip", "tc")) -> list[str]:
    """Names of required executables that are not on PATH."""
    return [t for t in tools if shutil.which(t) is None]


class Runner:
    """Runs argv lists as (possibly namespaced) root.

    ``prefix`` is empty when we are root; in unshare mode it is the ``nsenter``
    invocation entering the holder's user and mount namespaces.
    """

    def __init__(self) -> None:
        self.prefix: list[str] = []
        self.holder: subprocess.Popen[bytes] | None = None
        self.etc_netns = ETC_NETNS
        if os.geteuid() != 0:
            self._start_holder()

    @property
    def rootless(self) -> bool:
        return self.holder is not None

    def _start_holder(self) -> None:
        """Create a user+mount namespace with a private /run/netns (non-root fallback)."""
        if shutil.which("unshare") is None or shutil.which("nsenter") is None:
            raise RigUnavailable("not root and unshare/nsenter are missing: run as root")
        script = (
            "mount -t tmpfs tmpfs /run && mkdir -p /run/netns && "
            "{ [ -d /etc/netns ] && mount -t tmpfs tmpfs /etc/netns || true; } && "
            "echo READY && exec sleep infinity"
        )
        proc = subprocess.Popen(
            ["unshare", "-r", "-n", "-m", "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        line = proc.stdout.readline() if proc.stdout else b""
        if b"READY" not in line:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            proc.kill()
            raise RigUnavailable(
                "not root, and the user-namespace fallback failed "
                f"(unshare -rm: {err.strip() or 'no output'}); run the rig tests as root"
            )
        self.holder = proc
        self.prefix = [
            "nsenter",
            "--preserve-credentials",
            "-t",
            str(proc.pid),
            "-U",
            "-n",
            "-m",
            "--",
        ]
        if not ETC_NETNS.is_dir():
            self.etc_netns = Path("/nonexistent-etc-netns")  # resolv/hosts cannot be placed

    def argv(self, argv: Sequence[str]) -> list[str]:
        """The full command line with the privilege prefix."""
        return [*self.prefix, *argv]

    def run(
        self, argv: Sequence[str], *, check: bool = True, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run to completion, capturing text output; raise with stderr on failure."""
        try:
            cp = subprocess.run(
                self.argv(argv), input=input, capture_output=True, text=True, check=False
            )
        except FileNotFoundError as e:
            raise RigUnavailable(f"{e.filename or argv[0]} not found (install iproute2)") from e
        if check and cp.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({cp.returncode}): {cp.stderr.strip()}")
        return cp

    def ip_batch(self, lines: Sequence[str], netns: str | None = None) -> None:
        """Run many ``ip`` commands in one process (optionally inside ``netns``)."""
        if not lines:
            return
        ns = ["-n", netns] if netns else []
        self.run(["ip", *ns, "-batch", "-"], input="\n".join(lines) + "\n")

    def write_file(self, path: Path, text: str) -> None:
        """Write a file where the (namespaced) root can see it."""
        if not self.rootless:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        self.run(
            ["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1"', "sh", str(path)], input=text
        )

    def close(self) -> None:
        """End the holder (its namespaces, and all netns bound there, go with it)."""
        if self.holder is not None:
            self.holder.kill()
            self.holder.wait()
            self.holder = None


def netns_list(runner: Runner) -> list[str]:
    """Names of the network namespaces visible to ``runner``."""
    cp = runner.run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in cp.stdout.splitlines() if line.strip()]


def netns_pids(runner: Runner, name: str) -> list[int]:
    """PIDs of processes living in namespace ``name``."""
    cp = runner.run(["ip", "netns", "pids", name], check=False)
    return [int(x) for x in cp.stdout.split() if x.isdigit()]


def kill_pids(pids: Sequence[int], grace_s: float = 1.0) -> None:
    """SIGTERM, wait up to ``grace_s``, then SIGKILL what is left."""
    alive = set(pids)
    for pid in list(alive):
        try:
            os.kill(pid, 15)
        except (ProcessLookupError, PermissionError):
            alive.discard(pid)
    deadline = time.monotonic() + grace_s
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            if not _pid_alive(pid):
                alive.discard(pid)
        time.sleep(0.02)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, 9)


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def delete_netns(runner: Runner, names: Sequence[str]) -> None:
    """Kill everything inside the namespaces, then delete them and their /etc files."""
    pids: list[int] = []
    for n in names:
        pids.extend(netns_pids(runner, n))
    kill_pids(pids)
    runner.run(["ip", "-batch", "-"], check=False, input="".join(f"netns del {n}\n" for n in names))
    for n in names:
        d = runner.etc_netns / n
        if runner.rootless:
            runner.run(["rm", "-rf", str(d)], check=False)
        else:
            shutil.rmtree(d, ignore_errors=True)


def shape(runner: Runner, netns: str, dev: str, rate_mbit: float) -> None:
    """tbf on the egress of ``dev``: counts whole Ethernet frames, as a line does."""
    rate_bps = int(rate_mbit * 1_000_000)
    burst = max(16 * 1514, rate_bps // 8 // 250)  # >= 4 ms of traffic, >= 16 frames
    runner.run(
        [
            "tc",
            "-n",
            netns,
            "qdisc",
            "replace",
            "dev",
            dev,
            "root",
            "tbf",
            "rate",
            f"{rate_bps}bit",
            "burst",
            str(burst),
            "latency",
            "50ms",
        ]
    )
