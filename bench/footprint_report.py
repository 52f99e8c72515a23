"""Analysis and table for bench.footprint: from samples and job runs to figures and verdicts.

Kept apart from the runner so the rules (what "steady", "growth" and "per cycle" mean)
can be read in one place, without the rig plumbing around them.
"""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STEADY_RSS_TARGET_MB = 80.0
GROWTH_TARGET_MB = 2.0  # median RSS: last third minus first third of the cycles
IDLE_CPU_TARGET_PCT = 0.5  # of one core
STOP_TARGET_S = 10.0  # issue 7: SIGTERM → exit 0 within 10 s
HEAVY = ("discovery", "throughput")
LIGHT = ("latency", "snapshot", "drain")
MB = 1024 * 1024
WORKER_LINE = re.compile(r"(\w+) worker: done in [0-9.]+ s, peak RSS ([0-9.]+) MB")


def worker_peaks(log: str) -> dict[str, list[float]]:
    """Peak RSS the worker itself reported (getrusage ru_maxrss at exit), by job."""
    peaks: dict[str, list[float]] = {}
    for job, mb in WORKER_LINE.findall(log):
        peaks.setdefault(job, []).append(float(mb))
    return peaks


@dataclass(frozen=True)
class Sample:
    t: float  # wall clock, epoch seconds (compared with job_runs times)
    rss_mb: float
    anon_mb: float  # RssAnon: the private heap, without shared library pages
    cpu_s: float  # user + system, the daemon and its reaped children
    fds: int
    threads: int
    snapshots: int  # finished snapshot runs so far
    worker_hwm_mb: float = 0.0  # VmHWM of the daemon's worker child, if one is running


def _spans(runs: list[dict[str, Any]], jobs: tuple[str, ...], after: float) -> list[list[float]]:
    out = []
    for r in runs:
        if r["job"] in jobs and r["finished_at"]:
            start = datetime.fromisoformat(r["started_at"]).timestamp()
            if start >= after:
                out.append([start, datetime.fromisoformat(r["finished_at"]).timestamp()])
    return out


def cpu_per_cycle(
    samples: list[Sample], runs: list[dict[str, Any]], after: float
) -> dict[str, Any]:
    """Sampling intervals touched by a heavy job vs the others. The others' CPU per second
    (light jobs, status page, loop) is the background the heavy intervals also carry;
    what is left over is the heavy jobs' own cost."""
    heavy = _spans(runs, HEAVY, after)
    light = [s for s in _spans(runs, ("snapshot",), after) if not any(a <= s[0] <= b for a, b in heavy)]  # fmt: skip
    cpu = {"heavy": 0.0, "light": 0.0}
    wall = {"heavy": 0.0, "light": 0.0}
    for a, b in itertools.pairwise(s for s in samples if s.t >= after):
        kind = "heavy" if any(s < b.t and e > a.t for s, e in heavy) else "light"
        cpu[kind] += b.cpu_s - a.cpu_s
        wall[kind] += b.t - a.t
    background = cpu["light"] / wall["light"] if wall["light"] else 0.0
    discoveries = _spans(runs, ("discovery",), after)
    n = len(discoveries)
    return {
        "discovery_runs_measured": n,
        "discovery_mean_s": round(statistics.fmean(e - s for s, e in discoveries), 2) if n else None,
        "cpu_s_per_discovery": round((cpu["heavy"] - background * wall["heavy"]) / n, 3) if n else None,
        "light_rounds_measured": len(light),
        "cpu_s_per_light_round": round(cpu["light"] / len(light), 4) if light else None,
        "background_cpu_pct": round(100 * background, 2),
    }  # fmt: skip


def summarise(samples: list[Sample], runs: list[dict[str, Any]], extra: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    warm_t = min((e for _, e in _spans(runs, ("discovery",), 0)), default=samples[0].t)
    warm = [s for s in samples if s.t >= warm_t] or samples  # after the first discovery
    third = max(1, len(warm) // 3)
    first, last = warm[:third], warm[-third:]

    def med(part: list[Sample], key: str) -> float:
        return float(statistics.median(getattr(s, key) for s in part))

    jobs: dict[str, Any] = {}
    for r in runs:
        row = jobs.setdefault(r["job"], {"runs": 0, "ok": 0, "failed": 0, "errors": []})
        row["runs"] += 1
        row["ok" if r["ok"] == 1 else "failed"] += 1
        if r["error"] and len(row["errors"]) < 3 and r["error"] not in row["errors"]:
            row["errors"].append(r["error"])
    rss = {
        "start": samples[0].rss_mb, "after_first_discovery": warm[0].rss_mb,
        "peak_vmhwm": extra["peak_vmhwm_mb"], "steady": med(last, "rss_mb"),
        "growth": med(last, "rss_mb") - med(first, "rss_mb"),
        "steady_anon": med(last, "anon_mb"), "growth_anon": med(last, "anon_mb") - med(first, "anon_mb"),
    }  # fmt: skip
    wall = samples[-1].t - samples[0].t
    idle = extra["idle"]
    fds = {"early_min": min(s.fds for s in first), "late_min": min(s.fds for s in last),
           "max": max(s.fds for s in samples), "idle": idle["fds"]}  # fmt: skip
    threads = {"early_max": max(s.threads for s in first), "late_max": max(s.threads for s in last),
               "idle": idle["threads"]}  # fmt: skip
    verdicts = {
        "steady_rss_ok": rss["steady"] <= STEADY_RSS_TARGET_MB,
        "no_growth_ok": rss["growth"] <= GROWTH_TARGET_MB,
        "fds_ok": fds["late_min"] <= fds["early_min"] and fds["idle"] <= fds["early_min"],
        "threads_ok": threads["late_max"] <= threads["early_max"],
        "idle_cpu_ok": idle["cpu_pct"] <= IDLE_CPU_TARGET_PCT,
        "exit_ok": extra["stop"]["exit_code"] == 0 and extra["stop"]["stop_s"] <= STOP_TARGET_S,
    }
    return {
        "cycles": {"snapshot": samples[-1].snapshots, "wall_s": round(wall, 1)},
        "jobs": jobs,
        "rss_mb": {k: round(v, 2) for k, v in rss.items()},
        "cpu": {
            "start_up_s": round(samples[0].cpu_s, 2),
            "total_s": round(samples[-1].cpu_s, 2),
            "mean_pct_while_cycling": round(100 * (samples[-1].cpu_s - samples[0].cpu_s) / wall, 2),
            **cpu_per_cycle(samples, runs, warm_t),
        },
        "fds": fds,
        "threads": threads,
        "idle": idle,
        "stop": extra["stop"],
        "worker": worker_summary(samples, extra["worker_logged_mb"]),
        "status_requests": extra["scrapes"],
        "verdicts": verdicts,
    }


def _worker_peaks(worker: dict[str, Any]) -> str:
    peaks = worker["peak_rss_mb"]
    return " / ".join(f"{peaks[j]:.1f}" if j in peaks else "-" for j in HEAVY)


def worker_summary(samples: list[Sample], logged: dict[str, list[float]]) -> dict[str, Any]:
    """The worker's own peak, so that moving work out of the daemon hides nothing:
    as the worker reported it at exit, and as sampled from outside once a second."""
    return {
        "runs_logged": {job: len(v) for job, v in logged.items()},
        "peak_rss_mb": {job: max(v) for job, v in logged.items()},
        "peak_rss_mb_sampled": round(max((s.worker_hwm_mb for s in samples), default=0.0), 1),
    }


def table(s: dict[str, Any]) -> str:
    def ok(flag: bool) -> str:
        return "ok" if flag else "MISSED"

    v, r, c, f, t = s["verdicts"], s["rss_mb"], s["cpu"], s["fds"], s["threads"]
    rows = [
        ("RSS at start / after first discovery (MB)", f"{r['start']:.1f} / {r['after_first_discovery']:.1f}", ""),
        ("RSS peak, VmHWM (MB)", f"{r['peak_vmhwm']:.1f}", ""),
        ("RSS steady, median of last third (MB)", f"{r['steady']:.1f}", f"≤ {STEADY_RSS_TARGET_MB:g}: {ok(v['steady_rss_ok'])}"),
        ("  of which private (RssAnon) (MB)", f"{r['steady_anon']:.1f}", ""),
        ("RSS growth, first → last third (MB)", f"{r['growth']:+.2f}", f"≤ {GROWTH_TARGET_MB:g}: {ok(v['no_growth_ok'])}"),
        ("  of which private (RssAnon) (MB)", f"{r['growth_anon']:+.2f}", ""),
        ("CPU s per discovery cycle", f"{c['cpu_s_per_discovery'] or 0:.3f}", f"{c['discovery_runs_measured']} cycles of {c['discovery_mean_s']} s"),
        ("CPU s per light round (latency+snapshot+drain)", f"{c['cpu_s_per_light_round'] or 0:.4f}", f"{c['light_rounds_measured']} rounds"),
        ("CPU % mean while cycling", f"{c['mean_pct_while_cycling']:.2f}", ""),
        ("fds min early / min late / idle (max)", f"{f['early_min']} / {f['late_min']} / {f['idle']} ({f['max']})", ok(v["fds_ok"])),
        ("threads max early / max late / idle", f"{t['early_max']} / {t['late_max']} / {t['idle']}", ok(v["threads_ok"])),
        ("idle CPU % (after SIGHUP, long intervals)", f"{s['idle']['cpu_pct']:.3f}", f"≤ {IDLE_CPU_TARGET_PCT:g}: {ok(v['idle_cpu_ok'])}"),
        ("worker peak RSS, discovery / throughput (MB)", _worker_peaks(s["worker"]), f"sampled {s['worker']['peak_rss_mb_sampled']:.1f}"),
        ("SIGTERM: exit code, seconds", f"{s['stop']['exit_code']}, {s['stop']['stop_s']:.2f}", ok(v["exit_ok"])),
        ("status page requests served", str(s["status_requests"]), ""),
    ]  # fmt: skip
    jobs = [f"  {job:11} {row['runs']:5} runs, {row['failed']:3} failed"
            + (f"  e.g. {row['errors'][0][:70]}" if row["errors"] else "")
            for job, row in sorted(s["jobs"].items())]  # fmt: skip
    head = f"{s['cycles']['snapshot']} snapshot cycles in {s['cycles']['wall_s']:.0f} s; job runs:"
    return "\n".join([head, *jobs, "", *(f"{a:48} {b:>16}  {c}" for a, b, c in rows)])
