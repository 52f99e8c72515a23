"""The daemon's footprint over many compressed cycles in the simulated school (issue 7).

Builds a rig school, starts our collector on its "internet" host, enrols the agent,
then runs `socle-agent run` in the agent's namespace with the schedule compressed
(latency, snapshot and drain every ~1 s, discovery every 15 s, jitter 0, a short
throughput test) while a scraper reads the status page as Prometheus and a browser
would. The daemon is sampled every second with psutil (RSS, CPU times, fds, threads);
cycles are counted from the agent's state DB (`job_runs`). After N snapshot cycles the
configuration is reloaded (SIGHUP) with hour-long intervals, idle CPU is measured, and
SIGTERM must end the daemon with exit code 0.

The discovery sweep and the throughput test run in a short-lived worker process
(`agent.worker`). Its peak RSS is reported too, as the worker measured itself at exit
(from the daemon's log) and as sampled from outside, so that nothing moved out of the
daemon is hidden; its CPU counts in the daemon's (reaped children).

Targets: steady RSS (median of the last third) ≤ 80 MB; no RSS growth between the
first and the last third of the cycles (≤ 2 MB); no more fds or threads at the end
than early on; idle CPU ≈ 0 (≤ 0.5 % of a core). Prints a table and writes JSON
(default `bench/results/footprint.json`); exits 1 when a target is missed.

    sudo .venv/bin/python -m bench.footprint [--cycles 300] [--hosts 12] [--tracemalloc]

pysmi (a test extra here, absent on a school's box) is hidden from the daemon and its
worker, as in production. Everything runs inside the rig's namespaces.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

from agent.service import STATE_FILE
from bench.footprint_report import LIGHT, MB, Sample, summarise, table, worker_peaks
from tests.rig import build_school
from tests.rig.stack import Stack, enroll, start_stack

SAMPLE_S = 1.0
TEST_ONLY_PACKAGES = "pysmi"  # pysnmp loads its MIB compiler (+ requests, lark) if present

# Hides test-only packages in every Python process started with it on PYTHONPATH: the
# daemon and the worker it spawns (which inherits the environment).
HIDE = """\
import os, sys
for name in filter(None, os.environ.get('SOCLE_FOOTPRINT_HIDE', '').split(',')):
    sys.modules[name] = None
"""

# The daemon as `socle-agent --config … run`; with SOCLE_FOOTPRINT_TRACE set, SIGUSR1
# dumps a tracemalloc snapshot (after a full GC).
LAUNCH = """\
import gc, itertools, os, signal, sys, tracemalloc
if trace := os.environ.get('SOCLE_FOOTPRINT_TRACE'):
    tracemalloc.start(16)
    dumps = itertools.count()
    def dump(*_):
        gc.collect()
        path = f'{trace}.{next(dumps)}'
        tracemalloc.take_snapshot().dump(path + '.part')
        os.rename(path + '.part', path)
    signal.signal(signal.SIGUSR1, dump)
sys.argv[0] = 'socle-agent'
from agent.cli import main
main()
"""

# Polls the status page from the agent's namespace (keep-alive, like Prometheus).
SCRAPER = """\
import sys, time, httpx
base, every, n = sys.argv[1], float(sys.argv[2]), 0
with httpx.Client(timeout=5) as client:
    while True:
        for path in ('/metrics', '/api/v1/status', '/', '/api/v1/inventory'):
            try:
                client.get(base + path); n += 1
            except httpx.HTTPError:
                pass
        print(n, flush=True)
        time.sleep(every)
"""


def _set(text: str, key: str, value: float, section: str = "[schedule]\n") -> str:
    """Set `key = value` in the rendered TOML: replace its line, else add it to `section`."""
    text, n = re.subn(rf"^{key} = .*$", f"{key} = {value:g}", text, flags=re.M)
    if n == 0:
        if section not in text:
            raise SystemExit(f"agent config has no {section.strip()} section")
        text = text.replace(section, f"{section}{key} = {value:g}\n", 1)
    return text


def compressed_config(base: str, discovery_s: float, light_s: float, max_test_s: float) -> str:
    """Minutes become seconds. 48 tests a day is the config's maximum: one test at start."""
    text = _set(base, "max_duration_s", max_test_s, "[measurement]\n")
    values = {"discovery_interval_min": discovery_s / 60, "latency_interval_min": light_s / 60,
              "snapshot_interval_min": light_s / 60, "drain_interval_min": light_s / 60,
              "throughput_tests_per_day": 48, "jitter_s": 0}  # fmt: skip
    for key, value in values.items():
        text = _set(text, key, value)
    return text


def idle_config(text: str) -> str:
    for key in ("discovery", "latency", "snapshot", "drain"):
        text = _set(text, f"{key}_interval_min", 600)
    return _set(text, "throughput_tests_per_day", 0)


# -- observing the daemon ----------------------------------------------------------------


class JobRuns:
    """Read-only view of the agent's `job_runs` table (WAL: readable while it writes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def _query(self, sql: str, *params: str) -> list[tuple[Any, ...]]:
        if self._db is None and self.path.exists():
            self._db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=2)
        try:
            return self._db.execute(sql, params).fetchall() if self._db else []
        except sqlite3.OperationalError:  # table not created yet
            return []

    def finished(self, job: str, after: str = "") -> int:
        sql = "SELECT COUNT(*) FROM job_runs WHERE job = ? AND finished_at IS NOT NULL AND started_at > ?"
        return int(next(iter(self._query(sql, job, after)), (0,))[0])

    def running(self) -> int:
        sql = "SELECT COUNT(*) FROM job_runs WHERE finished_at IS NULL"
        return int(next(iter(self._query(sql)), (0,))[0])

    def all(self) -> list[dict[str, Any]]:
        keys = ("job", "started_at", "finished_at", "ok", "error")
        rows = self._query(f"SELECT {', '.join(keys)} FROM job_runs ORDER BY id")
        return [dict(zip(keys, row, strict=True)) for row in rows]


def proc_status(pid: int, key: str) -> int:
    """A kB field of /proc/PID/status (VmHWM is the kernel's own RSS high-water mark)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return 0


def worker_hwm_mb(proc: psutil.Process) -> float:
    """The highest VmHWM among the daemon's children now (its discovery/throughput worker)."""
    peak = 0.0
    for child in proc.children(recursive=True):
        with contextlib.suppress(OSError):  # it may have exited in between
            peak = max(peak, proc_status(child.pid, "VmHWM") / 1024)
    return peak


def sample(proc: psutil.Process, runs: JobRuns) -> Sample:
    worker_mb = worker_hwm_mb(proc)
    with proc.oneshot():
        cpu = proc.cpu_times()
        return Sample(
            t=time.time(),
            rss_mb=proc.memory_info().rss / MB,
            anon_mb=proc_status(proc.pid, "RssAnon") / 1024,
            cpu_s=cpu.user + cpu.system + cpu.children_user + cpu.children_system,
            fds=proc.num_fds(),
            threads=proc.num_threads(),
            snapshots=runs.finished("snapshot"),
            worker_hwm_mb=worker_mb,
        )


def thread_cpu(proc: psutil.Process) -> dict[str, float]:
    """CPU seconds per thread, keyed "tid name", to tell who wakes up when idle."""
    out = {}
    for t in proc.threads():
        comm = Path(f"/proc/{proc.pid}/task/{t.id}/comm")
        name = comm.read_text().strip() if comm.exists() else "?"
        out[f"{t.id} {name}"] = t.user_time + t.system_time
    return out


def run_cycles(
    proc: psutil.Process, daemon: subprocess.Popen[Any], runs: JobRuns, args: argparse.Namespace
) -> list[Sample]:
    """Sample until N snapshot cycles; with --tracemalloc, heap dumps at 1/3 and at the end."""
    samples: list[Sample] = []
    marks = [args.cycles // 3] if args.tracemalloc else []
    deadline = time.monotonic() + args.time_limit_s
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise SystemExit(f"daemon exited early with {daemon.returncode}")
        samples.append(sample(proc, runs))
        if marks and samples[-1].snapshots >= marks[0]:
            proc.send_signal(signal.SIGUSR1)
            marks.pop()
        if samples[-1].snapshots >= args.cycles:
            break
        time.sleep(SAMPLE_S)
    if args.tracemalloc:
        proc.send_signal(signal.SIGUSR1)
    return samples


def heap_growth(trace: Path, top: int = 12) -> list[str]:
    """Python allocations still alive after a full GC that grew between the two dumps."""
    deadline = time.monotonic() + 120
    while not Path(f"{trace}.1").exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    old, new = (tracemalloc.Snapshot.load(f"{trace}.{i}") for i in (0, 1))
    lines = []
    for stat in new.compare_to(old, "traceback")[:top]:
        ours = [f for f in stat.traceback if "/.venv/" not in f.filename]
        where = ours[-1] if ours else stat.traceback[-1]
        at = stat.traceback[-1]
        lines.append(
            f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  "
            f"{at.filename.split('site-packages/')[-1]}:{at.lineno}  via {where.filename}:{where.lineno}"
        )
    return lines


def measure_idle(
    proc: psutil.Process, stack: Stack, runs: JobRuns, compressed: str, idle_s: float
) -> dict[str, Any]:
    """SIGHUP with long intervals; wait for the reload's first runs; then watch it idle."""
    stack.config_path.write_text(idle_config(compressed), encoding="utf-8")
    marker = datetime.now(UTC).isoformat()  # job_runs holds UTC isoformat: compared as text
    proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        time.sleep(1)
        if runs.running() == 0 and all(runs.finished(j, marker) for j in ("discovery", *LIGHT)):
            break
    time.sleep(2)  # in-flight replies, log lines
    before, threads = sample(proc, runs), thread_cpu(proc)
    time.sleep(idle_s)
    after = sample(proc, runs)
    busy = {k: round(v - threads.get(k, 0.0), 3) for k, v in thread_cpu(proc).items()}
    cpu, wall = after.cpu_s - before.cpu_s, after.t - before.t
    return {"seconds": round(wall, 1), "cpu_s": round(cpu, 3),
            "cpu_pct": round(100 * cpu / wall, 3), "rss_mb": round(after.rss_mb, 1),
            "fds": after.fds, "threads": after.threads,
            "thread_cpu_s": {k: v for k, v in busy.items() if v > 0}}  # fmt: skip


def stop(daemon: subprocess.Popen[Any]) -> dict[str, Any]:
    started = time.monotonic()
    daemon.send_signal(signal.SIGTERM)
    try:
        code = daemon.wait(timeout=30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        code = daemon.wait()
    return {"exit_code": code, "stop_s": round(time.monotonic() - started, 2)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="socle-footprint-"))
    options: dict[str, Any] = {"classrooms": args.classrooms}
    if args.hosts is not None:
        options["hosts"] = args.hosts
    with build_school(**options) as school:
        stack = start_stack(school, work, classes=8)
        children: list[subprocess.Popen[Any]] = []
        try:
            enroll(stack)
            text = stack.config_path.read_text(encoding="utf-8")
            compressed = compressed_config(text, args.discovery_s, args.light_s, args.max_test_s)
            stack.config_path.write_text(compressed, encoding="utf-8")
            trace = work / "heap" if args.tracemalloc else None
            env = {**os.environ, **dict(item.split("=", 1) for item in args.daemon_env)}
            if trace:
                env["SOCLE_FOOTPRINT_TRACE"] = str(trace)
            (work / "hide").mkdir()
            (work / "hide" / "sitecustomize.py").write_text(HIDE, encoding="utf-8")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(work / "hide"), env.get("PYTHONPATH")]))  # fmt: skip
            env["SOCLE_FOOTPRINT_HIDE"] = "" if args.with_test_deps else TEST_ONLY_PACKAGES
            argv = [sys.executable, "-c", LAUNCH, "--config", str(stack.config_path), "run"]
            log = (work / "agent-daemon.log").open("w")
            daemon = school.popen_in("agent", argv, stdout=log, stderr=subprocess.STDOUT, env=env)
            children.append(daemon)
            proc = psutil.Process(daemon.pid)  # `ip netns exec` execs: same pid
            base = f"http://{school.host('agent').ip}:8080"  # the config's default port
            scraper = school.popen_in(
                "agent", [sys.executable, "-c", SCRAPER, base, str(args.scrape_s)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            children.append(scraper)
            print(f"daemon pid {proc.pid}; files in {work}", file=sys.stderr, flush=True)
            runs = JobRuns(work / "agent-state" / STATE_FILE)
            samples = run_cycles(proc, daemon, runs, args)
            growth = heap_growth(trace) if trace else []
            scraper.terminate()
            scraped = int((scraper.communicate(timeout=10)[0].split() or ["0"])[-1])
            idle = measure_idle(proc, stack, runs, compressed, args.idle_s)
            peak = proc_status(proc.pid, "VmHWM") / 1024
            stopped = stop(daemon)
            job_runs = runs.all()
        finally:
            for child in children:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            stack.stop()
    logged = worker_peaks((work / "agent-daemon.log").read_text(errors="replace"))
    extra = {"idle": idle, "stop": stopped, "peak_vmhwm_mb": peak, "scrapes": scraped,
             "worker_logged_mb": logged}  # fmt: skip
    summary = summarise(samples, job_runs, extra)
    summary["heap_growth"] = growth
    summary["settings"] = {k: str(v) for k, v in vars(args).items()}
    summary["work_dir"] = str(work)
    summary["samples"] = [asdict(s) for s in samples]
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--cycles", type=int, default=300, help="snapshot cycles to run")
    add("--time-limit-s", type=float, default=480.0, help="stop cycling after this long")
    add("--classrooms", type=int, default=4)
    add("--hosts", type=int, default=None, help="LAN hosts (default: the full school)")
    add("--light-s", type=float, default=1.2, help="latency, snapshot and drain interval")
    add("--discovery-s", type=float, default=15.0, help="discovery interval")
    add("--max-test-s", type=float, default=2.0, help="throughput test length")
    add("--scrape-s", type=float, default=5.0, help="status page poll interval")
    add("--idle-s", type=float, default=30.0)
    add("--with-test-deps", action="store_true", help="let the daemon import pysmi")
    add("--daemon-env", action="append", default=[], metavar="KEY=VALUE",
        help="daemon environment, as a unit's Environment= (e.g. MALLOC_ARENA_MAX=2)")  # fmt: skip
    add("--tracemalloc", action="store_true", help="find what grows (slows the daemon)")
    add("--json", type=Path, default=Path("bench/results/footprint.json"))
    args = parser.parse_args()
    summary = run(args)
    print(table(summary))
    if summary["heap_growth"]:
        print("\nPython heap growth after a full GC, a third of the way → end (tracemalloc):")
        print("\n".join(summary["heap_growth"]))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(f"JSON: {args.json}")
    return 0 if all(summary["verdicts"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
