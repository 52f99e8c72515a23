"""The README's demo: a simulated school, our collector on its "internet", our agent
inside it, one full cycle, then where to look and what was found.

    python -m tests.rig.demo [--hold] [--down-mbit 12 --up-mbit 6] [--classes 8]

Everything runs in network namespaces this script creates and removes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.rig import build_school
from tests.rig.stack import Stack, enroll, start_stack


def _section(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


def _show(stack: Stack, *args: str) -> str:
    result = stack.agent(*args)
    print(result.stdout.rstrip() or result.stderr.rstrip(), flush=True)
    return result.stdout


def _status_page(stack: Stack) -> subprocess.Popen[str]:
    """Start the daemon so its status page answers, and read it from the agent's side."""
    ip = stack.school.host("agent").ip
    daemon = stack.school.popen_in(
        "agent",
        [sys.executable, "-m", "agent", "--config", str(stack.config_path), "run"],
        stdout=(stack.work / "agent-daemon.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    code = (
        "import httpx,json,time\n"
        "for _ in range(100):\n"
        "    try:\n"
        f"        r = httpx.get('http://{ip}:8080/api/v1/status', timeout=1); break\n"
        "    except httpx.HTTPError: time.sleep(0.2)\n"
        "print(json.dumps(r.json(), ensure_ascii=False)[:600])\n"
    )
    shown = stack.school.run_in("agent", [sys.executable, "-c", code], timeout=60)
    print(shown.stdout.strip() or shown.stderr.strip())
    print(f"status page: http://{ip}:8080/ inside namespace {stack.school.netns_of('agent')}")
    print(
        f"  e.g. ip netns exec {stack.school.netns_of('agent')} curl -s http://{ip}:8080/api/v1/inventory"
    )
    return daemon


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--down-mbit", type=float, default=12.0)
    parser.add_argument("--up-mbit", type=float, default=6.0)
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--hold", action="store_true", help="keep everything running until Ctrl-C")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="socle-demo-"))
    started = time.monotonic()
    with build_school(down_mbit=args.down_mbit, up_mbit=args.up_mbit) as school:
        _section(
            f"simulated school up in {school.bringup_s:.1f} s: uplink {args.down_mbit:g}/{args.up_mbit:g} Mbit/s"
        )
        for host in school.hosts:
            if host.role in ("device", "router"):
                print(f"  {host.ip:12} {host.category or '':20} {host.vendor} {host.model}")
        clients = [h for h in school.hosts if h.role == "client"]
        print(
            f"  + {len(clients)} laptops and tablets ({sum(h.private_mac for h in clients)} with private MACs)"
        )
        stack = start_stack(school, work, classes=args.classes)
        daemon: subprocess.Popen[str] | None = None
        try:
            _section(f"collector at {stack.collector_url}; enrolling the agent")
            enroll(stack)
            print("enrolled")
            _section("one full cycle: socle-agent run --once")
            _show(stack, "run", "--once")
            _section("what was found: socle-agent snapshot --json (what the collector receives)")
            content = json.loads(stack.agent("snapshot", "--json").stdout or "{}")
            for device in content.get("inventory", {}).get("infrastructure", []):
                print(
                    f"  {device.get('ip', ''):12} {device['category']:20} {device.get('vendor', '')} {device.get('model', '')}"
                )
            print(
                f"  personal devices (counted only): {content.get('inventory', {}).get('personal')}"
            )
            _section("the socle checklist: socle-agent assess")
            _show(stack, "assess")
            _section("collector side: socle-collector agent list")
            print(stack.collector_cli("agent", "list").stdout.rstrip())
            _section("the agent as a service (status page)")
            daemon = _status_page(stack)
            print(f"\ndemo done in {time.monotonic() - started:.0f} s; files in {work}")
            if args.hold:
                print("holding: Ctrl-C to tear everything down")
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            if daemon is not None:
                daemon.terminate()
                daemon.wait(timeout=15)
            stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
