"""Throughput accuracy benchmark in the simulated school (needs root).

For tbf rates 8, 10, 15, 35 and 100 mbit, down and up, in one run: iperf3 as the
reference (receiver-side goodput, 2 streams, 1 s omitted, 5 s), our HTTP method
against `collector/throughput_target.py` on the "inet" host, and speedtest-cli
`--mini` against the rig's nginx (www.speedtest.net resolves to the rig inside the
namespace, and the namespace has no route out). Then the unshaped case: the highest
rate our method measures, as a ratio to iperf3.

Prints a table and writes JSON (default `bench/results/throughput.json`).
Targets (issue 3): |error| ≤ 3 % against iperf3; ≤ 10 s per direction; bytes used
≤ 8 s at the link's rate; unshaped ≥ 1 Gbit/s.

Usage: `python -m bench.throughput [--rates 8,10] [--no-speedtest] [--json PATH]`
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from probes.http_throughput import HttpOptions, run_http_test
from tests.probes.test_throughput_rig import TARGET_PORT, set_rates, start_target
from tests.rig import School, build_school
from tests.rig.topology import LAN_IF, WAN_IF

RATES_MBIT = (8, 10, 15, 35, 100)
IPERF3_ARGS = ["--parallel", "2", "--omit", "1", "--time", "5", "--json"]
GOODPUT_SHARE = 1448 / 1514  # TCP payload per Ethernet frame at MTU 1500 with timestamps


def iperf3(school: School, direction: str) -> dict[str, Any]:
    argv = ["iperf3", "-c", school.plan.inet_ip, *IPERF3_ARGS]
    if direction == "down":
        argv.append("--reverse")
    start = time.monotonic()
    cp = school.run_in("agent", argv, timeout=30)
    data = json.loads(cp.stdout)
    end = data["end"]
    omitted = sum(i["sum"]["bytes"] for i in data.get("intervals", []) if i["sum"].get("omitted"))
    return {
        "goodput_mbps": end["sum_received"]["bits_per_second"] / 1e6,
        "duration_s": time.monotonic() - start,
        "bytes_used": int(end["sum_sent"]["bytes"] + omitted),
    }


def http(school: School) -> dict[str, dict[str, Any]]:
    url = f"http://{school.plan.inet_ip}:{TARGET_PORT}/"
    result = school.run_coro_in("agent", lambda: run_http_test(url, HttpOptions(ping_count=2)))
    if not result.ok:
        raise RuntimeError(f"HTTP method failed: {result.reason}")
    out: dict[str, dict[str, Any]] = {}
    for d in (result.download, result.upload):
        assert d is not None
        out[d.direction] = {
            "goodput_mbps": d.goodput_mbps,
            "duration_s": d.duration_s,
            "bytes_used": d.bytes_used,
            "streams": d.streams,
            "stop_reason": d.stop_reason,
        }
    return out


def speedtest_mini(school: School) -> dict[str, dict[str, Any]]:
    """The real speedtest-cli program, as a school technician would run it."""
    argv = [sys.executable, "-m", "speedtest", "--mini", f"http://{school.plan.inet_ip}/", "--json"]
    start = time.monotonic()
    cp = school.run_in("agent", argv, timeout=120)
    elapsed = time.monotonic() - start
    if cp.returncode != 0:
        return {"error": {"message": cp.stderr.strip()[-300:]}}
    data = json.loads(cp.stdout)
    return {
        "down": {"goodput_mbps": data["download"] / 1e6, "bytes_used": data["bytes_received"],
                 "duration_s": elapsed / 2},
        "up": {"goodput_mbps": data["upload"] / 1e6, "bytes_used": data["bytes_sent"],
               "duration_s": elapsed / 2},
    }  # fmt: skip


def error_pct(value: float, reference: float) -> float:
    return 100.0 * (value - reference) / reference


def unshape(school: School) -> None:
    assert school.runner is not None
    for host, dev in (("router", WAN_IF), ("inet", LAN_IF)):
        school.runner.run(["tc", "-n", school.host(host).netns, "qdisc", "del", "dev", dev, "root"])


def run(rates: list[float], with_speedtest: bool) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with build_school(classrooms=1, hosts=0, down_mbit=10, up_mbit=10) as school:
        target = start_target(school)
        try:
            for rate in rates:
                set_rates(school, rate, rate)
                ref = {d: iperf3(school, d) for d in ("down", "up")}
                ours = http(school)
                mini = speedtest_mini(school) if with_speedtest else {}
                for d in ("down", "up"):
                    row: dict[str, Any] = {
                        "rate_mbit": rate,
                        "direction": d,
                        "iperf3": ref[d],
                        "http": ours[d],
                    }
                    row["http"]["error_pct"] = error_pct(
                        ours[d]["goodput_mbps"], ref[d]["goodput_mbps"]
                    )
                    row["http"]["bytes_vs_8s"] = ours[d]["bytes_used"] / (8 * rate * 1e6 / 8)
                    if d in mini:
                        row["speedtest"] = dict(mini[d])
                        row["speedtest"]["error_pct"] = error_pct(
                            mini[d]["goodput_mbps"], ref[d]["goodput_mbps"]
                        )
                    rows.append(row)
            unshape(school)
            ref = {d: iperf3(school, d) for d in ("down", "up")}
            ours = http(school)
            unshaped = {
                d: {"iperf3_mbps": ref[d]["goodput_mbps"], "http_mbps": ours[d]["goodput_mbps"],
                    "ratio": ours[d]["goodput_mbps"] / ref[d]["goodput_mbps"]}
                for d in ("down", "up")
            }  # fmt: skip
        finally:
            target.terminate()
            target.wait(5)
    return {"rows": rows, "unshaped": unshaped, "goodput_share": GOODPUT_SHARE}


def table(report: dict[str, Any]) -> str:
    head = (
        f"{'tbf':>5} {'dir':>4} {'iperf3':>8} {'http':>8} {'err%':>6} {'t(s)':>5} "
        f"{'MB':>6} {'/8s':>5} {'mini':>8} {'err%':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in report["rows"]:
        h, s = r["http"], r.get("speedtest")
        mini = f"{s['goodput_mbps']:8.2f} {s['error_pct']:6.1f}" if s else f"{'-':>8} {'-':>6}"
        lines.append(
            f"{r['rate_mbit']:>5g} {r['direction']:>4} {r['iperf3']['goodput_mbps']:8.2f} "
            f"{h['goodput_mbps']:8.2f} {h['error_pct']:6.2f} {h['duration_s']:5.1f} "
            f"{h['bytes_used'] / 1e6:6.1f} {h['bytes_vs_8s']:5.2f} {mini}"
        )
    for d, u in report["unshaped"].items():
        lines.append(
            f"unshaped {d}: iperf3 {u['iperf3_mbps']:.0f} Mbit/s, http {u['http_mbps']:.0f} "
            f"Mbit/s, ratio {u['ratio']:.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default=",".join(str(r) for r in RATES_MBIT))
    parser.add_argument("--no-speedtest", action="store_true")
    parser.add_argument("--json", type=Path, default=Path("bench/results/throughput.json"))
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    report = run(rates, not args.no_speedtest)
    print(table(report))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=1))
    print(f"JSON: {args.json}")


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as exc:
        sys.exit(f"bench failed: {exc}")
