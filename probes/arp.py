"""ARP: which addresses on the local subnets are alive, and with which MAC.

ARP is the only discovery that every device answers (firewalled PCs, sleeping
tablets, printers with SNMP off), so it runs first and feeds the other probes.

The sweep follows arp-scan's proven pacing: 256 kbit/s of frames, a per-host
timeout of 500 ms growing ×1.5 per try, 2 tries per host by default (arp-scan's
`--retry=2`), and only unanswered hosts are retried. Wi-Fi clients and dozing IoT devices miss single requests; spaced
retries matter more than raw speed. Frames are built and parsed with scapy, sent
on a packet socket that only receives ARP (no promiscuous mode); the blocking loop
runs in a worker thread so the event loop stays free.

Without CAP_NET_RAW the probe falls back to letting the kernel do the work: a UDP
datagram to each address makes it resolve the neighbour, then `/proc/net/arp` is
read. The kernel neighbour table is also read passively in both modes.

Facts: `arp.source` (`sweep`, `neighbour`, `proc`), `arp.locally_administered`,
`oui.vendor` (docs/observations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

import psutil

from probes.base import (
    Observation,
    ProbeContext,
    is_locally_administered,
    normalise_mac,
)
from probes.oui import vendor_for

log = logging.getLogger(__name__)

PROC_ARP = Path("/proc/net/arp")
ETH_P_ARP = 0x0806
_ATF_COM = 0x02  # /proc/net/arp flag: entry complete (resolved)
_NUDGE_PORT = 9  # UDP discard: nothing listens, the datagram only triggers ARP resolution
_ZERO_MAC = "00:00:00:00:00:00"
_BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
_POLL_S = 0.05  # s: longest sleep between checks of the stop flag
_PACKET_OUTGOING = 4  # sll_pkttype of frames this host sent


@dataclass(frozen=True)
class SweepTiming:
    """arp-scan's defaults, read from its manual rather than folklore.

    `attempts` is arp-scan's `--retry` (total tries per host, default 2, i.e. one
    retry); the interval is its 256 kbit/s bandwidth applied to our 42-byte frame
    (1.3125 ms; "~2 ms" holds for 64-byte frames). Timeout 500 ms, ×1.5 per try.
    """

    interval_s: float = 42 * 8 / 256_000
    attempts: int = 2
    timeout_s: float = 0.5
    backoff: float = 1.5

    def wait_after(self, attempt: int) -> float:
        """Time to wait for an answer after the `attempt`-th send (0-based)."""
        return self.timeout_s * self.backoff**attempt

    def worst_case_s(self, hosts: int) -> float:
        """Upper bound of a sweep: every frame sent, then the last timeout, plus slack."""
        frames = hosts * self.attempts
        waits = sum(self.wait_after(i) for i in range(self.attempts))
        return frames * self.interval_s + waits + 1.0


@dataclass(frozen=True)
class Interface:
    """The local end of a sweep: where frames leave and what they claim as sender."""

    name: str
    ip: IPv4Address
    mac: str


AddressesFn = Callable[[], Mapping[str, Sequence[Any]]]


def find_interface(
    subnet: IPv4Network, name: str | None = None, addresses: AddressesFn = psutil.net_if_addrs
) -> Interface | None:
    """The interface with an IPv4 address in `subnet` (restricted to `name` when given)."""
    for if_name, addrs in addresses().items():
        if name is not None and if_name != name:
            continue
        macs = [a.address for a in addrs if a.family == psutil.AF_LINK]
        for addr in addrs:
            if addr.family == socket.AF_INET and macs and _holds(addr, subnet):
                try:
                    return Interface(if_name, IPv4Address(addr.address), normalise_mac(macs[0]))
                except ValueError:
                    continue
    return None


def _holds(addr: Any, subnet: IPv4Network) -> bool:
    """Our address is in the subnet, or the subnet is part of the interface's network."""
    try:
        local = IPv4Interface(f"{addr.address}/{getattr(addr, 'netmask', None) or 32}")
    except ValueError:
        return False
    return local.ip in subnet or subnet.subnet_of(local.network)


def read_neighbours(
    path: Path = PROC_ARP, interface: str | None = None
) -> list[tuple[IPv4Address, str]]:
    """Complete entries of the kernel ARP table (`/proc/net/arp` format), bad lines skipped."""
    try:
        lines = path.read_text(encoding="ascii", errors="replace").splitlines()[1:]
    except OSError as exc:
        log.debug("cannot read %s: %s", path, exc)
        return []
    entries: list[tuple[IPv4Address, str]] = []
    for line in lines:
        parts = line.split()
        if len(parts) < 6 or (interface is not None and parts[5] != interface):
            continue
        try:
            ip, flags, mac = IPv4Address(parts[0]), int(parts[2], 16), normalise_mac(parts[3])
        except ValueError:
            continue
        if flags & _ATF_COM and mac not in (_ZERO_MAC, _BROADCAST_MAC):
            entries.append((ip, mac))
    return entries


def warm_up() -> None:
    """Load scapy (~0.5 s) and the OUI registry (~0.3 s) now, so a long-lived agent pays
    once at start-up rather than in its first sweep."""
    import scapy.layers.l2  # noqa: F401

    vendor_for("00:00:0c:00:00:00")


def _arp_frames(iface: Interface) -> tuple[Callable[[IPv4Address], bytes], Callable[[bytes], Any]]:
    """(build who-has frame, parse frame). scapy builds the template once; each target
    only patches the last four bytes (target IP), so pacing is not eaten by packet
    building."""
    from scapy.layers.l2 import ARP, Ether

    template = bytes(
        Ether(src=iface.mac, dst=_BROADCAST_MAC)
        / ARP(op=1, hwsrc=iface.mac, psrc=str(iface.ip), hwdst=_ZERO_MAC, pdst="0.0.0.0")
    )
    head = template[:-4]

    def build(target: IPv4Address) -> bytes:
        return head + target.packed

    return build, Ether


def sweep(
    iface: Interface,
    targets: Sequence[IPv4Address],
    timing: SweepTiming = SweepTiming(),
    stop: threading.Event | None = None,
) -> dict[IPv4Address, set[str]]:
    """Blocking arp-scan-style sweep; returns every MAC that answered for each target.

    Raises PermissionError without CAP_NET_RAW. Several MACs for one IP (a duplicate
    address) are all kept: the inventory reports the conflict.
    """
    wanted = set(targets)
    answers: dict[IPv4Address, set[str]] = {}
    if not wanted:
        return answers
    build, parse = _arp_frames(iface)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    try:
        sock.bind((iface.name, ETH_P_ARP))
        sock.setblocking(False)
        _run_schedule(sock, build, parse, wanted, answers, timing, stop or threading.Event())
    finally:
        sock.close()
    return answers


def _run_schedule(
    sock: socket.socket,
    build: Callable[[IPv4Address], bytes],
    parse: Callable[[bytes], Any],
    wanted: set[IPv4Address],
    answers: dict[IPv4Address, set[str]],
    timing: SweepTiming,
    stop: threading.Event,
) -> None:
    """Per-host deadlines in a heap, like arp-scan: retries interleave with first sends."""
    queue: list[tuple[float, int, IPv4Address, int]] = [
        (0.0, seq, ip, 0) for seq, ip in enumerate(sorted(wanted))
    ]
    seq = len(queue)
    next_send = time.monotonic()
    while queue and not stop.is_set():
        due, _, ip, attempt = queue[0]
        if ip in answers:
            heapq.heappop(queue)
            continue
        now = time.monotonic()
        at = max(due, next_send) if attempt < timing.attempts else due
        if at > now:
            _receive(sock, parse, wanted, answers, min(at - now, _POLL_S))
            continue
        heapq.heappop(queue)
        if attempt >= timing.attempts:
            continue  # last timeout expired unanswered
        with contextlib.suppress(BlockingIOError, InterruptedError):
            sock.send(build(ip))
        next_send = max(next_send + timing.interval_s, now + timing.interval_s / 2)
        seq += 1
        heapq.heappush(queue, (now + timing.wait_after(attempt), seq, ip, attempt + 1))
        _receive(sock, parse, wanted, answers, 0.0)


def _receive(
    sock: socket.socket,
    parse: Callable[[bytes], Any],
    wanted: set[IPv4Address],
    answers: dict[IPv4Address, set[str]],
    wait_s: float,
) -> None:
    """Drain ARP replies (op 2 'is-at') for wanted addresses, waiting at most `wait_s`."""
    readable, _, _ = select.select([sock], [], [], max(wait_s, 0.0))
    while readable:
        try:
            data, address = sock.recvfrom(2048)
        except (BlockingIOError, InterruptedError):
            return
        # Skip our own requests (PACKET_OUTGOING) and anything but op 2 before parsing.
        if address[2] != _PACKET_OUTGOING and data[20:22] == b"\x00\x02":
            _record_reply(parse, data, wanted, answers)


def _record_reply(
    parse: Callable[[bytes], Any],
    data: bytes,
    wanted: set[IPv4Address],
    answers: dict[IPv4Address, set[str]],
) -> None:
    try:
        arp = parse(data).payload
        if getattr(arp, "op", None) != 2:
            return
        ip, mac = IPv4Address(arp.psrc), normalise_mac(arp.hwsrc)
    except Exception:  # a malformed frame must never end a sweep
        return
    if ip in wanted and mac not in (_ZERO_MAC, _BROADCAST_MAC):
        answers.setdefault(ip, set()).add(mac)


def nudge(targets: Iterable[IPv4Address], interval_s: float = 0.001) -> None:
    """Make the kernel ARP-resolve each target by sending it one empty UDP datagram."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for ip in targets:
            with contextlib.suppress(OSError):
                sock.sendto(b"", (str(ip), _NUDGE_PORT))
            time.sleep(interval_s)


def has_raw_access(iface: str) -> bool:
    """True when a packet socket can be opened (root or CAP_NET_RAW)."""
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    except PermissionError:
        return False
    except OSError as exc:
        log.debug("packet socket unavailable on %s: %s", iface, exc)
        return False
    sock.close()
    return True


def scan_targets(
    subnet: IPv4Network, own: IPv4Address, exclude: Iterable[IPv4Address] = ()
) -> list[IPv4Address]:
    """Every usable host address of `subnet` except our own and the excluded ones."""
    skip = {own, *exclude}
    return [ip for ip in subnet.hosts() if ip not in skip]


class ArpProbe:
    """Sweeps `ctx.subnets` on `ctx.interface` (or the interface that holds each subnet)."""

    name = "arp"

    def __init__(
        self,
        timing: SweepTiming = SweepTiming(),
        exclude: Sequence[IPv4Address] = (),
        proc_arp: Path = PROC_ARP,
        raw: bool | None = None,
        fallback_wait_s: float = 2.0,
        addresses: AddressesFn = psutil.net_if_addrs,
    ) -> None:
        self.timing = timing
        self.exclude = tuple(exclude)
        self.proc_arp = proc_arp
        self.raw = raw
        self.fallback_wait_s = fallback_wait_s
        self.addresses = addresses

    async def run(self, ctx: ProbeContext) -> list[Observation]:
        found: dict[tuple[IPv4Address, str], str] = {}
        for subnet in ctx.subnets:
            iface = find_interface(subnet, ctx.interface, self.addresses)
            if iface is None:
                log.warning("arp: no local interface on %s; not swept", subnet)
                continue
            ctx.progress(f"arp: sweeping {subnet} on {iface.name}")
            for key, source in (await self._scan(subnet, iface)).items():
                found.setdefault(key, source)
        return [_observation(ip, mac, source) for (ip, mac), source in sorted(found.items())]

    async def _scan(
        self, subnet: IPv4Network, iface: Interface
    ) -> dict[tuple[IPv4Address, str], str]:
        targets = scan_targets(subnet, iface.ip, self.exclude)
        wanted = set(targets)
        result: dict[tuple[IPv4Address, str], str] = {}
        raw = self.raw if self.raw is not None else has_raw_access(iface.name)
        if raw:
            stop = threading.Event()
            try:
                answers = await asyncio.to_thread(sweep, iface, targets, self.timing, stop)
            except PermissionError:
                raw = False
            except asyncio.CancelledError:
                stop.set()
                raise
            else:
                result.update({(ip, mac): "sweep" for ip, macs in answers.items() for mac in macs})
        if not raw:
            await asyncio.to_thread(nudge, targets)
            await asyncio.sleep(self.fallback_wait_s)
            for ip, mac in read_neighbours(self.proc_arp, iface.name):
                if ip in wanted:
                    result.setdefault((ip, mac), "proc")
        for ip, mac in read_neighbours(self.proc_arp, iface.name):
            if ip in wanted:
                result.setdefault((ip, mac), "neighbour")
        return result


def _observation(ip: IPv4Address, mac: str, source: str) -> Observation:
    facts: dict[str, Any] = {
        "arp.source": source,
        "arp.locally_administered": is_locally_administered(mac),
    }
    vendor = vendor_for(mac)
    if vendor:
        facts["oui.vendor"] = vendor
    return Observation(probe="arp", ip=ip, mac=mac, facts=facts)
