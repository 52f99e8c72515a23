"""Wiring of a planned school: namespaces, bridge, veths, addresses, routes, shaping.

Why separate from the process side: this part is pure ``ip``/``tc`` and takes
~0.1-0.3 s; keeping it apart makes the safety property easy to audit: every
command is either ``ip netns add``, or carries ``-n <rig namespace>``, so the
machine's own namespace is never modified.
"""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

from .model import Host, SchoolPlan
from .netns import Runner, shape

LAN_IF = "eth0"
WAN_IF = "wan0"


def bridge_ns(plan: SchoolPlan) -> str:
    return f"{plan.prefix}-br"


def all_netns(plan: SchoolPlan) -> list[str]:
    """Every namespace of the rig, bridge first."""
    return [bridge_ns(plan), *(h.netns for h in plan.hosts)]


def _port_name(h: Host) -> str:
    """Bridge-side veth name: ``v-<short ns suffix>`` (<= 15 chars)."""
    return "v-" + h.netns.rsplit("-", 1)[1]


def _wan_mac(plan: SchoolPlan) -> str:
    r = plan.host("router").mac.split(":")
    return "02:" + ":".join(r[1:])  # locally administered twin of the router's LAN MAC


def _host_lines(plan: SchoolPlan, h: Host) -> list[str]:
    lan_len = ipaddress.ip_network(plan.lan_cidr).prefixlen
    wan_len = ipaddress.ip_network(plan.wan_cidr).prefixlen
    lines = ["link set lo up"]
    if h.role == "inet":
        lines += [
            f"addr add {h.ip}/{wan_len} dev {LAN_IF}",
            f"link set {LAN_IF} up",
            f"route add {plan.lan_cidr} via {plan.router_wan_ip}",
        ]
        return lines
    lines += [f"addr add {h.ip}/{lan_len} dev {LAN_IF}", f"link set {LAN_IF} up"]
    if h.role == "router":
        lines += [
            f"addr add {plan.router_wan_ip}/{wan_len} dev {WAN_IF}",
            f"link set {WAN_IF} up",
            f"route add default via {plan.inet_ip}",
        ]
    else:
        lines.append(f"route add default via {plan.router_lan_ip}")
    return lines


def build(runner: Runner, plan: SchoolPlan) -> None:
    """Create all namespaces and links of ``plan`` (raises on any ip error)."""
    br = bridge_ns(plan)
    runner.ip_batch([f"netns add {n}" for n in all_netns(plan)])
    lines = [
        "link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0",
        "link set br0 up",
    ]
    for h in plan.hosts:
        if h.role == "inet":
            continue
        port = _port_name(h)
        lines += [
            f"link add {port} type veth peer name {LAN_IF} netns {h.netns} address {h.mac}",
            f"link set {port} master br0 up",
        ]
    runner.ip_batch(lines, netns=br)
    rt, inet = plan.host("router"), plan.host("inet")
    runner.ip_batch(
        [
            f"link add {WAN_IF} address {_wan_mac(plan)} type veth "
            f"peer name {LAN_IF} netns {inet.netns} address {inet.mac}"
        ],
        netns=rt.netns,
    )
    procs = [
        subprocess.Popen(
            runner.argv(["ip", "-n", h.netns, "-batch", "-"]),
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        for h in plan.hosts
    ]
    errors = []
    for h, p in zip(plan.hosts, procs, strict=True):
        _, err = p.communicate("\n".join(_host_lines(plan, h)) + "\n")
        if p.returncode:
            errors.append(f"{h.netns}: {err.strip()}")
    if errors:
        raise RuntimeError("ip configuration failed: " + "; ".join(errors))
    runner.run(["ip", "netns", "exec", rt.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
    shape(runner, rt.netns, WAN_IF, plan.up_mbit)  # egress towards the internet = upload
    shape(runner, inet.netns, LAN_IF, plan.down_mbit)  # egress towards the school = download


def hosts_file(plan: SchoolPlan) -> str:
    """/etc/hosts for every namespace: rig names only, speedtest.net -> inet."""
    inet = plan.inet_ip
    lines = [
        "127.0.0.1 localhost",
        f"{inet} www.speedtest.net speedtest.net c.speedtest.net inet.rig speedtest.rig"
        " collector.rig",
        f"{plan.router_lan_ip} router.rig",
    ]
    lines += [f"{h.ip} {h.name}.rig" for h in plan.hosts if h.role not in ("router", "inet")]
    return "\n".join(lines) + "\n"


def write_etc(runner: Runner, plan: SchoolPlan) -> None:
    """Per-namespace resolv.conf (loopback only) and hosts, used by ``ip netns exec``."""
    if not runner.etc_netns.exists() and runner.rootless:
        return  # documented limitation of the non-root fallback
    hosts = hosts_file(plan)
    for ns in all_netns(plan):
        d: Path = runner.etc_netns / ns
        runner.write_file(d / "resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        runner.write_file(d / "hosts", hosts)
