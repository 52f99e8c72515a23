"""Start every server of a planned school, in parallel, and wait for readiness.

Why: the per-host work (SNMP agents, mDNS announcers, PJLink, the router's
snmpd, the internet host's nginx and iperf3) is what dominates bring-up time;
everything is launched first and only then awaited, by polling sockets and
READY lines, never by sleeping a guessed amount.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path

from .model import Host, SchoolPlan
from .netns import RigUnavailable, Runner
from .recordings import REPO_ROOT
from .services import (
    ForkServer,
    Proc,
    log_says_ready,
    log_tail,
    snmpd_conf,
    socket_bound,
    start_in_netns,
)
from .speedtest_site import build_site

__all__ = ["REPO_ROOT", "start_all", "wait_ready"]

IPERF3_PORT = 5201
POLL_S = 0.01  # readiness poll period


def _need(tool: str) -> str:
    path = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if path is None:
        raise RigUnavailable(f"{tool} not installed (apt install {_APT.get(tool, tool)})")
    return path


_APT = {"snmpd": "snmpd", "nginx": "nginx-light", "iperf3": "iperf3"}


def _router(runner: Runner, plan: SchoolPlan, work: Path) -> Proc:
    rt = plan.host("router")
    assert rt.snmp is not None
    state = work / "snmpd-state"
    state.mkdir(exist_ok=True)
    conf = work / "snmpd.conf"
    conf.write_text(snmpd_conf(rt.ip, rt.snmp.community, rt.snmp.sys_descr, state))
    argv = [
        "env",
        "MIBS=",
        f"SNMP_PERSISTENT_DIR={state}",
        _need("snmpd"),
        "-f",
        "-C",
        "-c",
        str(conf),
        "-Lf",
        str(work / "snmpd.out"),
        "-p",
        str(work / "snmpd.pid"),
    ]
    check = partial(_bound, "udp", rt.ip, 161)
    return start_in_netns(runner, rt.netns, argv, work / "snmpd.log", "snmpd:router", check)


def _bound(proto: str, ip: str, port: int, pid: int) -> bool:
    return socket_bound(pid, proto, ip, port)


def _inet(runner: Runner, plan: SchoolPlan, work: Path) -> list[Proc]:
    inet = plan.host("inet")
    conf = build_site(work / "www", work / "nginx", inet.ip, plan.host("agent").ip)
    nginx = [
        _need("nginx"),
        "-c",
        str(conf),
        "-p",
        str(work / "nginx"),
        "-e",
        str(work / "nginx" / "nginx-error.log"),
    ]
    iperf = [_need("iperf3"), "-s", "-B", inet.ip, "-p", str(IPERF3_PORT)]
    return [
        start_in_netns(
            runner,
            inet.netns,
            nginx,
            work / "nginx.log",
            "nginx:inet",
            partial(_bound, "tcp", inet.ip, 80),
        ),
        start_in_netns(
            runner,
            inet.netns,
            iperf,
            work / "iperf3.log",
            "iperf3:inet",
            partial(_bound, "tcp", inet.ip, IPERF3_PORT),
        ),
    ]


PUBLIC_COMMUNITY = "public"


def _snmpsim(fs: ForkServer, h: Host, work: Path) -> Proc:
    assert h.snmp is not None and h.snmp.data_file is not None
    data = work / "snmp" / h.name / "data"
    cache = work / "snmp" / h.name / "cache"
    novar = work / "snmp" / "no-variation"
    for d in (data, cache, novar):
        d.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(h.snmp.data_file, data / f"{h.snmp.community}.snmprec")
    # Also under "public", as a real school's devices answer: agents need one community.
    # A copy, not a symlink: snmpsim serves a file reached by two names under one of them.
    shutil.copyfile(h.snmp.data_file, data / f"{PUBLIC_COMMUNITY}.snmprec")
    args = [
        f"--data-dir={data}",
        f"--agent-udpv4-endpoint={h.ip}:161",
        "--process-user=root",
        "--process-group=root",
        f"--cache-dir={cache}",
        f"--variation-modules-dir={novar}",
        "--log-level=error",
    ]
    log = work / f"snmpsim-{h.name}.log"
    pid = fs.spawn(h.netns, "snmpsim", args, log)
    return Proc(
        f"snmpsim:{h.name}", h.netns, pid, log, partial(socket_bound, pid, "udp", h.ip, 161)
    )


def _mdns(fs: ForkServer, h: Host, work: Path) -> Proc:
    spec = {"ip": h.ip, "hostname": f"{h.name}.local.", "services": [asdict(s) for s in h.mdns]}
    log = work / f"mdns-{h.name}.log"
    pid = fs.spawn(h.netns, "mdns", ["--spec", json.dumps(spec)], log)
    return Proc(f"mdns:{h.name}", h.netns, pid, log, partial(log_says_ready, log))


def _pjlink(fs: ForkServer, h: Host, work: Path) -> Proc:
    assert h.pjlink is not None
    log = work / f"pjlink-{h.name}.log"
    args = ["--ip", h.ip, "--mac", h.mac, "--spec", json.dumps(asdict(h.pjlink))]
    pid = fs.spawn(h.netns, "pjlink", args, log)
    return Proc(f"pjlink:{h.name}", h.netns, pid, log, partial(log_says_ready, log))


def start_all(runner: Runner, fs: ForkServer, plan: SchoolPlan, work: Path) -> list[Proc]:
    """Launch all servers of the school; returns them unready."""
    procs = [_router(runner, plan, work), *_inet(runner, plan, work)]
    # mDNS first: its probing (~1 s of waiting, little CPU) overlaps snmpsim's CPU work.
    for h in plan.hosts:
        if h.mdns:
            procs.append(_mdns(fs, h, work))
    for h in plan.hosts:
        if h.pjlink is not None:
            procs.append(_pjlink(fs, h, work))
        if h.snmp is not None and h.snmp.server == "snmpsim":
            procs.append(_snmpsim(fs, h, work))
    return procs


def wait_ready(procs: list[Proc], timeout_s: float) -> None:
    """Poll until every process is ready; raise with log tails on death or timeout."""
    deadline = time.monotonic() + timeout_s
    pending = list(procs)
    while pending:
        still = []
        for p in pending:
            if p.ready():
                p.is_ready = True
            elif not p.alive():
                raise RuntimeError(f"{p.label} in {p.netns} exited:\n{log_tail(p.log)}")
            else:
                still.append(p)
        pending = still
        if pending and time.monotonic() > deadline:
            names = ", ".join(p.label for p in pending)
            raise TimeoutError(
                f"not ready after {timeout_s} s: {names}\n{log_tail(pending[0].log)}"
            )
        if pending:
            time.sleep(POLL_S)
