"""CPU spent during a benchmark's load phase, by kind of process.

Why: on a 2-vCPU machine the collector's workers, PostgreSQL and the load generator
share the CPUs, so a rate alone says neither which of them to make cheaper nor
whether a CPU sat idle. Milliseconds of CPU per snapshot also vary less between
runs than the rate does, and add up: 2 vCPUs at 1,000 snapshots/s leave 2 ms for all.

"database" counts every process named `postgres` on the machine (the benchmark's
throwaway cluster; a busy system PostgreSQL would be counted too).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class CpuSplit:
    server_ms: float  # the server under test, all its processes, per answered request
    database_ms: float
    load_generator_ms: float
    idle_pct: float  # of all CPUs over the load phase


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


class CpuMeter:
    """`start()` before the load, `stop(answered)` after it."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self._before: dict[int, tuple[str, float]] = {}
        self._system_before = psutil.cpu_times()

    def _kinds(self) -> dict[int, tuple[str, float]]:
        """pid → (kind, CPU seconds so far), for the processes that count."""
        found: dict[int, tuple[str, float]] = {}
        try:
            server = psutil.Process(self.server_pid)
            for process in [server, *server.children(recursive=True)]:
                found[process.pid] = ("server", _cpu_seconds(process))
        except psutil.Error:
            pass
        for process in psutil.process_iter(["name"]):
            if process.pid not in found and (process.info["name"] or "").startswith("postgres"):
                try:
                    found[process.pid] = ("database", _cpu_seconds(process))
                except psutil.Error:
                    continue
        found[os.getpid()] = ("load_generator", _cpu_seconds(psutil.Process()))
        return found

    def start(self) -> None:
        self._before = self._kinds()
        self._system_before = psutil.cpu_times()

    def stop(self, answered: int) -> CpuSplit:
        after = self._kinds()
        system_after = psutil.cpu_times()
        spent = {"server": 0.0, "database": 0.0, "load_generator": 0.0}
        for pid, (kind, seconds) in after.items():
            _, before = self._before.get(pid, (kind, 0.0))  # started during the run: all of it
            spent[kind] += seconds - before
        total = sum(system_after) - sum(self._system_before)
        idle = (system_after.idle + getattr(system_after, "iowait", 0.0)) - (
            self._system_before.idle + getattr(self._system_before, "iowait", 0.0)
        )
        per = 1000.0 / answered if answered else 0.0
        return CpuSplit(
            server_ms=round(spent["server"] * per, 3),
            database_ms=round(spent["database"] * per, 3),
            load_generator_ms=round(spent["load_generator"] * per, 3),
            idle_pct=round(100.0 * idle / total, 1) if total > 0 else 0.0,
        )
