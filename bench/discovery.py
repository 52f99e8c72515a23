"""Discovery speed and accuracy in the simulated school (issue 4's benchmark).

Builds a rig school with N live hosts of every kind on a /24, then, inside the agent's
namespace only: times our ARP sweep next to `arp-scan` (on the agent's LAN interface,
never `--localnet` on the real host) and `nmap -sn -PR` when installed, runs one full
discovery cycle (ARP + mDNS ‖ SNMP ‖ PJLink), and compares what was found and how it
was classified with the rig's ground truth. Prints a table, then JSON; exits 1 when a
target is missed.

Targets: ARP sweep ≤ 1.2 × arp-scan and finding everything it finds; full cycle ≤ 15 s;
peak RSS of the agent process ≤ 120 MB.

    sudo .venv/bin/python -m bench.discovery [--hosts 60] [--runs 3] [--json-only]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.rig import School, build_school

ARP_RATIO_TARGET = 1.2
CYCLE_TARGET_S = 15.0
RSS_TARGET_MB = 120.0

# Runs inside the agent namespace: a fresh interpreter, as the daemon would be.
INNER = r"""
import asyncio, json, resource, sys, time
from ipaddress import IPv4Network
cfg = json.loads(sys.argv[1])
t = time.monotonic()
from probes.arp import ArpProbe, SweepTiming, warm_up
warm_up()
import_s = time.monotonic() - t
from agent.config import AgentSettings
from agent.discovery import discover
from agent.inventory_view import records
from probes.base import ProbeContext

def sweep(attempts):
    ctx = ProbeContext(subnets=[IPv4Network(cfg["lan"])], interface="eth0")
    t = time.monotonic()
    obs = asyncio.run(ArpProbe(timing=SweepTiming(attempts=attempts)).run(ctx))
    return [time.monotonic() - t, sorted([str(o.ip), o.mac] for o in obs)]

arp = {str(n): [sweep(n) for _ in range(cfg["runs"])] for n in (2, 3)}
settings = AgentSettings.model_validate(cfg["settings"])
events = []
result = asyncio.run(discover(settings, lambda e: events.append([round(e.elapsed_s, 3), e.phase, e.state, e.message])))
print(json.dumps({
    "import_s": import_s, "arp": arp, "cycle": result.to_json(), "events": events,
    "devices": [r.model_dump(mode="json") for r in records(result.inventory)],
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def timed(school: School, argv: list[str]) -> tuple[float, str]:
    start = time.monotonic()
    done = school.run_in("agent", argv, timeout=120)
    return time.monotonic() - start, done.stdout


def arp_scan(school: School, lan: str, attempts: int, runs: int) -> list[tuple[float, set[str]]]:
    out = []
    for _ in range(runs):
        elapsed, text = timed(
            school, ["arp-scan", "-I", "eth0", "-q", "-x", f"--retry={attempts}", lan]
        )
        out.append((elapsed, {line.split()[0] for line in text.splitlines() if line.strip()}))
    return out


def nmap(school: School, lan: str, own_ip: str, runs: int) -> list[tuple[float, set[str]]]:
    out = []
    for _ in range(runs):
        elapsed, text = timed(school, ["nmap", "-sn", "-PR", "-n", "-oG", "-", lan])
        found = set(re.findall(r"Host: (\S+) .*Status: Up", text)) - {own_ip}
        out.append((elapsed, found))
    return out


def accuracy(school: School, devices: list[dict[str, Any]]) -> dict[str, Any]:
    by_mac = {d["mac"]: d for d in devices if d.get("mac")}
    expected = [h for h in school.hosts if h.role not in ("agent", "inet")]
    wrong = []
    for host in expected:
        got = by_mac.get(host.mac, {}).get("category", "missing")
        if got != host.category:
            wrong.append({"host": host.name, "expected": host.category, "got": got})
    return {"expected": len(expected), "found": sum(h.mac in by_mac for h in expected),
            "correct": len(expected) - len(wrong), "wrong": wrong}  # fmt: skip


def run(hosts: int, classrooms: int, runs: int, all_communities: bool) -> dict[str, Any]:
    with build_school(classrooms=classrooms, hosts=hosts) as school:
        plan = school.plan
        agent_ip = school.host("agent").ip
        communities = ["public"]
        if all_communities:  # the rig gives each recording its own community
            communities += [h.snmp.community for h in plan.hosts if h.snmp is not None]
        communities = list(dict.fromkeys(communities))
        settings = {
            "school": {"uai": "0751234J", "classes": classrooms},
            "network": {"subnets": [plan.lan_cidr], "interfaces": ["eth0"]},
            "snmp": {"credentials": [{"version": "2c", "community": c} for c in communities]},
        }
        expected_ips = {h.ip for h in plan.hosts if h.role not in ("agent", "inet")}
        report: dict[str, Any] = {
            "hosts": hosts,
            "lan": plan.lan_cidr,
            "bringup_s": school.bringup_s,
        }
        report["arp_scan"] = {str(n): arp_scan(school, plan.lan_cidr, n, runs) for n in (2, 3)}
        if shutil.which("nmap"):
            report["nmap"] = nmap(school, plan.lan_cidr, agent_ip, runs)
        cfg = {"lan": plan.lan_cidr, "runs": runs, "settings": settings}
        done = school.run_in("agent", [sys.executable, "-c", INNER, json.dumps(cfg)], timeout=300)
        if done.returncode != 0:
            raise SystemExit(f"agent run failed:\n{done.stderr[-3000:]}")
        inner = json.loads(done.stdout.strip().splitlines()[-1])
        report.update(inner)
        report["expected_ips"] = sorted(expected_ips)
        report["accuracy"] = accuracy(school, inner["devices"])
    return report


def summarise(report: dict[str, Any]) -> dict[str, Any]:
    """Medians, found-vs-expected and verdicts from the raw runs."""
    expected = set(report["expected_ips"])
    rows: dict[str, Any] = {}

    def add(name: str, runs: list[Any], key: Any) -> None:
        times = [r[0] for r in runs]
        found = [key(r[1]) for r in runs]
        rows[name] = {"median_s": statistics.median(times), "times_s": times,
                      "found": min(len(f & expected) for f in found),
                      "found_sets": found}  # fmt: skip

    ours_ips = lambda pairs: {ip for ip, _mac in pairs}  # noqa: E731
    for n in ("2", "3"):
        add(f"socle-agent ARP (tries={n})", report["arp"][n], ours_ips)
        add(f"arp-scan --retry={n}", report["arp_scan"][n], lambda s: set(s))
    if "nmap" in report:
        add("nmap -sn -PR", report["nmap"], lambda s: set(s))
    ours, theirs = rows["socle-agent ARP (tries=2)"], rows["arp-scan --retry=2"]
    misses = set.union(*theirs["found_sets"]) - set.intersection(*ours["found_sets"])
    timings = report["cycle"]["timings_s"]
    verdicts = {
        "arp_ratio": round(ours["median_s"] / theirs["median_s"], 3),
        "arp_ratio_ok": ours["median_s"] <= ARP_RATIO_TARGET * theirs["median_s"],
        "arp_finds_all_arp_scan_finds": not misses,
        "cycle_s": timings["cycle"],
        "cycle_ok": timings["cycle"] <= CYCLE_TARGET_S,
        "rss_mb": round(report["rss_mb"], 1),
        "rss_ok": report["rss_mb"] <= RSS_TARGET_MB,
    }
    for row in rows.values():
        del row["found_sets"]
    return {"sweeps": rows, "phases_s": timings, "verdicts": verdicts,
            "expected": len(expected), "accuracy": report["accuracy"],
            "observations": report["cycle"]["observations"], "errors": report["cycle"]["errors"],
            "import_s": round(report["import_s"], 3)}  # fmt: skip


def table(summary: dict[str, Any]) -> str:
    lines = [f"{'sweep':32} {'median s':>9} {'found':>9}"]
    for name, row in summary["sweeps"].items():
        lines.append(f"{name:32} {row['median_s']:9.3f} {row['found']:>4}/{summary['expected']:<4}")
    lines.append("")
    lines.append(f"{'phase':32} {'s':>9}")
    lines += [f"{phase:32} {s:9.3f}" for phase, s in summary["phases_s"].items()]
    acc = summary["accuracy"]
    lines.append("")
    lines.append(
        f"found {acc['found']}/{acc['expected']}, classified right {acc['correct']}/{acc['expected']}"
    )
    lines += [f"  {w['host']}: expected {w['expected']}, got {w['got']}" for w in acc["wrong"]]
    v = summary["verdicts"]
    lines.append("")
    lines.append(
        f"ARP / arp-scan = {v['arp_ratio']} (≤ {ARP_RATIO_TARGET}): {'ok' if v['arp_ratio_ok'] else 'MISSED'}; finds all arp-scan finds: {v['arp_finds_all_arp_scan_finds']}"
    )
    lines.append(
        f"cycle {v['cycle_s']:.2f} s (≤ {CYCLE_TARGET_S}): {'ok' if v['cycle_ok'] else 'MISSED'}"
    )
    lines.append(
        f"peak RSS {v['rss_mb']} MB (≤ {RSS_TARGET_MB}): {'ok' if v['rss_ok'] else 'MISSED'}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--hosts", type=int, default=60)
    parser.add_argument("--classrooms", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json-only", action="store_true")
    parser.add_argument(
        "--public-only",
        action="store_true",
        help="configure only community 'public' (a real school) instead of every rig community",
    )
    args = parser.parse_args(argv)
    summary = summarise(run(args.hosts, args.classrooms, args.runs, not args.public_only))
    if not args.json_only:
        print(table(summary))
        print()
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    v = summary["verdicts"]
    met = v["arp_ratio_ok"] and v["arp_finds_all_arp_scan_finds"] and v["cycle_ok"] and v["rss_ok"]
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
