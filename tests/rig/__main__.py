"""CLI for the demo: ``python -m tests.rig up|down|status``.

Why: a human (or a demo script) needs to bring a school up, look at its ground
truth, run the agent against it and take it down, without writing Python.

- ``up [--classrooms N --hosts N --down-mbit X --up-mbit Y --prefix P --profiles]
  [--hold] [--json FILE]``: build a school and print it as a table.  With
  ``--hold`` it stays up until Ctrl-C/SIGTERM; without, it is left running
  (root only) until ``down``.
- ``down [--prefix P]``: remove rigs (all ``sa????`` rigs by default).
- ``status``: list rigs started on this machine, with their hosts.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from .netns import RigUnavailable
from .school import build_school, cleanup_stale, running_rigs


def table(plan: dict[str, Any]) -> str:
    """The school's hosts as a fixed-width text table."""
    cols = ("name", "role", "category", "ip", "mac", "snmp", "mdns", "pjlink")
    rows = []
    for h in plan["hosts"]:
        snmp = h["snmp"]["community"] + f" ({h['snmp']['source']})" if h["snmp"] else ""
        mdns = ",".join(sorted({s["type"].split(".")[0] for s in h["mdns"]}))
        pj = (
            "yes" + (" (pw)" if h["pjlink"] and h["pjlink"]["password"] else "")
            if h["pjlink"]
            else ""
        )
        mac = h["mac"] + (" *" if h["private_mac"] else "")
        rows.append((h["name"], h["role"], h["category"] or "", h["ip"], mac, snmp, mdns, pj))
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    up = plan["uplink"]
    out.append(
        f"\nLAN {plan['lan_cidr']}  WAN {plan['wan_cidr']}  uplink {up['down_mbit']}/"
        f"{up['up_mbit']} Mbit/s  (* = locally administered MAC)  prefix {plan['prefix']}"
    )
    return "\n".join(out)


def _up(args: argparse.Namespace) -> int:
    opts: dict[str, Any] = {
        "classrooms": args.classrooms,
        "hosts": args.hosts,
        "down_mbit": args.down_mbit,
        "up_mbit": args.up_mbit,
        "force_profiles": args.profiles,
    }
    if args.prefix:
        opts["prefix"] = args.prefix
    school = build_school(**opts)
    try:
        school.start()
    except RigUnavailable as e:
        print(f"rig unavailable: {e}", file=sys.stderr)
        return 2
    print(table(school.plan.to_dict()))
    print(
        f"up in {school.bringup_s:.2f} s; run things with: ip netns exec {school.host('agent').netns} ..."
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(school.to_json())
    sys.stdout.flush()
    if not args.hold:
        school.detach()
        print(f"left running; remove with: python -m tests.rig down --prefix {school.plan.prefix}")
        return 0
    try:
        print("holding; Ctrl-C to tear down", flush=True)
        signal.pause()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        school.stop()
    return 0


def _down(args: argparse.Namespace) -> int:
    removed = cleanup_stale(args.prefix or "sa", include_live=True)
    print(f"removed {len(removed)} namespaces" + (f": {' '.join(removed)}" if removed else ""))
    return 0


def _status(_: argparse.Namespace) -> int:
    rigs = running_rigs()
    if not rigs:
        print("no rig running")
    for prefix, state in rigs.items():
        print(f"== {prefix} (owner pid {state.get('owner_pid')}, logs {state.get('workdir')})")
        if "plan" in state:
            print(table(state["plan"]))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.rig", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="build a school")
    up.add_argument("--classrooms", type=int, default=4)
    up.add_argument("--hosts", type=int, default=None, help="LAN hosts besides router/agent")
    up.add_argument("--down-mbit", type=float, default=20.0)
    up.add_argument("--up-mbit", type=float, default=5.0)
    up.add_argument("--prefix", default=None, help="rig prefix like sa1234 (random by default)")
    up.add_argument("--profiles", action="store_true", help="use the rig's own SNMP profiles only")
    up.add_argument("--hold", action="store_true", help="stay in the foreground until Ctrl-C")
    up.add_argument("--json", default=None, help="write the ground truth JSON here")
    down = sub.add_parser("down", help="remove rigs")
    down.add_argument("--prefix", default=None)
    sub.add_parser("status", help="list running rigs")
    args = p.parse_args(argv)
    return {"up": _up, "down": _down, "status": _status}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
