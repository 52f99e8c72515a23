"""Ingest benchmark: signed snapshots per second the collector verifies and stores.

    .venv/bin/python -m bench.ingest [--agents 50] [--per-agent 100] [--devices 20]
                                     [--backends sqlite,postgres] [--sqlite-workers 1]
                                     [--postgres-workers 2] [--database URL]
                                     [--rounds 3] [--no-reference] [--static-devices]
                                     [--json]

With `--database URL` the rounds run against that database (`--workers`; new agents
each round); otherwise per backend: SQLite in a new temporary file each round, and
PostgreSQL in a new database each round on a throwaway durable cluster (fsync on,
Unix socket only; Debian's postgresql package) or on the server named by
`--postgres-url`. Medians over the rounds are reported. Every stored snapshot also fills the derived tables
(measurements, devices, assessment, school summary) in the same transaction.

Starts `socle-collector serve` in a subprocess on loopback, enrols N agents with
distinct Ed25519 keys, pre-signs their snapshots (a backlog, one per 15 minutes,
whose device list changes every other snapshot as a discovery run moves the
devices' last-seen time; `--static-devices`: never) with the agent's own signer
(so the load generator spends its CPU on sending, not signing), then runs N
concurrent agents, each on one keep-alive connection sending its snapshots in
order, as a real agent does. A deliberately thin HTTP/1.1 client keeps the load
generator cheap: on a 2-core machine it shares the CPU with the collector.

Reports throughput (stored snapshots per second of wall time, and the same while
every agent is still sending, before the run's tail leaves a CPU idle), the CPU each
kind of process spent per snapshot (`bench/cpu_meter.py`), p50/p99 latency, and
checks the database holds exactly what was acknowledged. The same requests
then go, with the same number of workers, to two reference servers
(`bench.ingest_reference`): the bare HTTP stack, and verification + validation
without storage. The collector's rate is also given as a ratio to each, which
varies far less between machines than the rate itself. Prints a table, then one
JSON line. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from agent.keys import AgentKey
from agent.signing import signed_post
from agent.snapshot import SnapshotContent, encode, make_snapshot
from bench.cpu_meter import CpuMeter, CpuSplit
from bench.ingest_reference import MODES as REFERENCE_MODES
from bench.ingest_reference import write_keys
from collector.db import make_engine, snapshots
from collector.migrate import upgrade
from collector.store import Store
from tests.collector.live import HOST, free_port, uai
from tests.collector.samples import sample_content

if TYPE_CHECKING:
    from tests.collector.postgres import Cluster

_READY = "Application startup complete"  # uvicorn's line, once per worker


@dataclass
class Result:
    server: str  # "collector", or the reference's mode ("http", "verify")
    database: str
    workers: int
    agents: int
    snapshots: int
    devices_per_snapshot: int
    body_bytes_gzip: int
    seconds: float
    snapshots_per_s: float
    steady_per_s: float  # while all agents were still sending (see _steady_rate)
    cpu_ms_per_snapshot: dict[str, float]  # bench.cpu_meter.CpuSplit, and idle_pct
    p50_ms: float
    p99_ms: float
    max_ms: float
    status_counts: dict[str, int]
    stored_in_db: int
    cpu_count: int
    load_avg_1min: float
    ratio_to_http: float | None = None  # collector runs only: its rate / the reference's
    ratio_to_verify: float | None = None
    steady_ratio_to_verify: float | None = None
    rounds: int = 1
    steady_per_round: list[float] = field(default_factory=list)
    device_lists_change: bool = True  # every other snapshot (see _backlog), or never


def _raw(request: httpx.Request) -> bytes:
    """The request as bytes on the wire (HTTP/1.1, keep-alive)."""
    url = urlsplit(str(request.url))
    lines = [f"POST {url.path} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.content


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _agent(
    port: int,
    requests: list[bytes],
    latencies: list[float],
    statuses: list[int],
    answered_at: list[float],
) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        for payload in requests:
            started = time.perf_counter()
            writer.write(payload)
            status = await _read_response(reader)
            answered_at.append(time.perf_counter())
            latencies.append(answered_at[-1] - started)
            statuses.append(status)
    finally:
        writer.close()


Plan = list[list[bytes]]  # per agent, its requests in order
Keys = dict[str, tuple[str, str]]  # agent id → (public key text, UAI)


SNAPSHOT_EVERY = timedelta(minutes=15)  # the agent's defaults (config/agent.example.toml)
DISCOVERY_EVERY = timedelta(minutes=30)


def _backlog(
    content: SnapshotContent, per_agent: int, now: datetime, discovery: bool
) -> list[tuple[datetime, SnapshotContent]]:
    """An agent's backlog, oldest first, one snapshot per 15 minutes up to `now`. With
    `discovery`, a discovery run every 30 minutes moves the devices' last-seen time,
    so every other snapshot reports another device list, as a school's agent does;
    without, every snapshot reports the same list (the collector then writes it once)."""
    infra = content.inventory.infrastructure
    backlog = []
    listed = content
    for seq in range(1, per_agent + 1):
        created = now - (per_agent - seq) * SNAPSHOT_EVERY
        if discovery and (seq == 1 or (seq - 1) * SNAPSHOT_EVERY % DISCOVERY_EVERY == timedelta(0)):
            moved = [d.model_copy(update={"last_seen": created}) for d in infra]
            inventory = content.inventory.model_copy(update={"infrastructure": moved})
            listed = content.model_copy(update={"inventory": inventory})
        backlog.append((created, listed))
    return backlog


def _prepare(
    url: str, store: Store, agents: int, per_agent: int, devices: int, discovery: bool = True
) -> tuple[Plan, Keys]:
    content = sample_content(devices)
    now = datetime.now(UTC)
    backlog = _backlog(content, per_agent, now, discovery)
    plan = []
    keys: Keys = {}
    for index in range(agents):
        key = AgentKey(Ed25519PrivateKey.generate())
        school = uai(750000 + index)
        store.add_agent(school, key.public_key_text)
        keys[key.agent_id] = (key.public_key_text, school)
        bodies = [
            encode(make_snapshot(listed, agent_id=key.agent_id, uai=school, seq=seq, created_at=at))
            for seq, (at, listed) in enumerate(backlog, start=1)
        ]
        plan.append([_raw(signed_post(url + "/v1/snapshots", body, key)) for body in bodies])
    return plan, keys


def _collector_command(database: str, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-c",
        "from collector.cli import main; main()",
        "serve",
        "--database",
        database,
        "--listen",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
    ]


def _reference_command(mode: str, keys_path: Path, port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.ingest_reference",
        "--mode",
        mode,
        "--keys",
        str(keys_path),
        "--listen",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
    ]


def _start_server(
    command: list[str], port: int, workers: int, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start `command` and wait until each of its uvicorn workers is ready."""
    # The access log goes to a file: an unread pipe would fill up and stall the server.
    log_file = log_path.open("wb")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log_file)
    log_file.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://{HOST}:{port}/v1/schema", timeout=1)  # any answer will do
            answered = True
        except httpx.TransportError:
            answered = False
        # Every worker ready, not just the first: the agents connect all at once and
        # keep their connections, so a late worker would get none and sit idle.
        if answered and log_path.read_text().count(_READY) >= workers:
            return process
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"{log_path.stem} server did not start: {log_path.read_text()[-2000:]}")


@dataclass(frozen=True)
class Measured:
    seconds: float
    latencies: list[float]
    statuses: list[int]
    steady_per_s: float  # answers per second while every agent still had requests to send
    cpu: CpuSplit | None = None


def _steady_rate(started: float, per_agent: list[list[float]]) -> float:
    """Answers per second until the first agent is done.

    Why: uvicorn's workers get uneven shares of the agents' connections (the kernel
    spreads them over SO_REUSEPORT sockets), so the worker with fewer agents finishes
    first and the run ends on one worker while the other CPU idles (measured: busy
    98-100 % until then, ~80 % after). The whole-run rate mixes in that tail; this one
    is what the server sustains under the full load.
    """
    until = min(times[-1] for times in per_agent if times)
    answered = sum(1 for times in per_agent for t in times if t <= until)
    return answered / (until - started) if until > started else 0.0


async def _run(port: int, plan: list[list[bytes]]) -> Measured:
    latencies: list[float] = []
    statuses: list[int] = []
    answered_at: list[list[float]] = [[] for _ in plan]
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _agent(port, requests, latencies, statuses, times)
            for requests, times in zip(plan, answered_at, strict=True)
        )
    )
    elapsed = time.perf_counter() - started
    return Measured(elapsed, latencies, statuses, _steady_rate(started, answered_at))


def _measure(command: list[str], port: int, workers: int, plan: Plan, log_path: Path) -> Measured:
    process = _start_server(command, port, workers, log_path)
    try:
        meter = CpuMeter(process.pid)
        meter.start()
        measured = asyncio.run(_run(port, plan))
        return replace(measured, cpu=meter.stop(len(measured.statuses)))
    finally:
        process.terminate()
        process.wait(10)


def _result(
    server: str,
    database: str,
    workers: int,
    plan: Plan,
    devices: int,
    measured: Measured,
    stored: int,
) -> Result:
    elapsed, statuses = measured.seconds, measured.statuses
    ok = sum(1 for s in statuses if 200 <= s < 300)
    ordered = sorted(measured.latencies)
    return Result(
        server=server,
        database=database,
        workers=workers,
        agents=len(plan),
        snapshots=len(statuses),
        devices_per_snapshot=devices,
        body_bytes_gzip=len(plan[0][0].split(b"\r\n\r\n", 1)[1]),
        seconds=round(elapsed, 3),
        snapshots_per_s=round(ok / elapsed, 1),
        steady_per_s=round(measured.steady_per_s, 1),
        cpu_ms_per_snapshot=asdict(measured.cpu) if measured.cpu else {},
        p50_ms=round(statistics.median(ordered) * 1000, 2),
        p99_ms=round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2),
        max_ms=round(ordered[-1] * 1000, 2),
        status_counts={str(s): statuses.count(s) for s in sorted(set(statuses))},
        stored_in_db=stored,
        cpu_count=os.cpu_count() or 0,
        load_avg_1min=round(os.getloadavg()[0], 2),
    )


def _round(
    url_db: str,
    tmp: Path,
    agents: int,
    per_agent: int,
    workers: int,
    devices: int,
    reference: bool,
    discovery: bool = True,
) -> list[Result]:
    """One round: new agents on `url_db`, the collector, then the references."""
    engine = make_engine(url_db)
    upgrade(engine)
    port = free_port()
    plan, keys = _prepare(
        f"http://{HOST}:{port}", Store(engine), agents, per_agent, devices, discovery
    )
    dialect = url_db.split(":", 1)[0]
    command = _collector_command(url_db, port, workers)
    measured = _measure(command, port, workers, plan, tmp / "collector.log")
    with engine.connect() as conn:
        query = select(func.count()).where(snapshots.c.agent_id.in_(list(keys)))
        stored = int(conn.execute(query).scalar_one())
    engine.dispose()
    collector = _result("collector", dialect, workers, plan, devices, measured, stored)
    collector.device_lists_change = discovery
    results = [collector]
    if reference:
        keys_path = tmp / "keys.json"
        write_keys(keys_path, keys)
        for mode in REFERENCE_MODES:
            command = _reference_command(mode, keys_path, port, workers)
            measured = _measure(command, port, workers, plan, tmp / f"{mode}.log")
            results.append(_result(mode, "none", workers, plan, devices, measured, 0))
            results[-1].device_lists_change = discovery
        rates = {r.server: r.snapshots_per_s for r in results}
        collector.ratio_to_http = round(collector.snapshots_per_s / rates["http"], 3)
        collector.ratio_to_verify = round(collector.snapshots_per_s / rates["verify"], 3)
        steady = {r.server: r.steady_per_s for r in results}
        if steady["verify"]:
            collector.steady_ratio_to_verify = round(collector.steady_per_s / steady["verify"], 3)
    return results


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else None


def _combine(rounds: list[Result]) -> Result:
    """One server's rounds: medians of rates, latencies and (paired, per round) ratios;
    counts summed, so the stored-equals-acknowledged check covers every round."""
    first = rounds[0]
    counts: dict[str, int] = {}
    for r in rounds:
        for status, n in r.status_counts.items():
            counts[status] = counts.get(status, 0) + n
    return Result(
        server=first.server,
        database=first.database,
        workers=first.workers,
        agents=first.agents,
        snapshots=sum(r.snapshots for r in rounds),
        devices_per_snapshot=first.devices_per_snapshot,
        body_bytes_gzip=first.body_bytes_gzip,
        seconds=statistics.median(r.seconds for r in rounds),
        snapshots_per_s=statistics.median(r.snapshots_per_s for r in rounds),
        steady_per_s=statistics.median(r.steady_per_s for r in rounds),
        cpu_ms_per_snapshot={
            name: statistics.median(r.cpu_ms_per_snapshot[name] for r in rounds)
            for name in first.cpu_ms_per_snapshot
        },
        p50_ms=statistics.median(r.p50_ms for r in rounds),
        p99_ms=statistics.median(r.p99_ms for r in rounds),
        max_ms=max(r.max_ms for r in rounds),
        status_counts=counts,
        stored_in_db=sum(r.stored_in_db for r in rounds),
        cpu_count=first.cpu_count,
        load_avg_1min=rounds[-1].load_avg_1min,
        ratio_to_http=_median([r.ratio_to_http for r in rounds]),
        ratio_to_verify=_median([r.ratio_to_verify for r in rounds]),
        steady_ratio_to_verify=_median([r.steady_ratio_to_verify for r in rounds]),
        rounds=len(rounds),
        steady_per_round=[r.steady_per_s for r in rounds],
        device_lists_change=first.device_lists_change,
    )


def run(
    new_database: Callable[[Path], str],
    agents: int,
    per_agent: int,
    workers: int,
    devices: int,
    reference: bool = True,
    rounds: int = 3,
    discovery: bool = True,
) -> list[Result]:
    """`rounds` rounds of the collector then (with `reference`) the two references, each
    round on a database from `new_database`; medians per server.

    Why rounds: this kind of machine changes speed by ±30 % from one minute to the
    next (measured: the verify reference at 1,855 then 2,517/s in consecutive runs),
    and a ratio is only fair between runs close in time, hence paired per round.
    """
    per_round: list[list[Result]] = []
    for index in range(rounds):
        with tempfile.TemporaryDirectory(prefix="socle-bench-") as tmp_name:
            tmp = Path(tmp_name)
            results = _round(
                new_database(tmp), tmp, agents, per_agent, workers, devices, reference, discovery
            )
        per_round.append(results)
        steady = ", ".join(f"{r.server} {r.steady_per_s:.0f}/s" for r in results)
        print(f"round {index + 1}/{rounds}: {steady}", file=sys.stderr, flush=True)
    return [_combine([results[i] for results in per_round]) for i in range(len(per_round[0]))]


def _postgres_databases(explicit: str | None) -> tuple[Callable[[Path], str], Cluster | None]:
    """The given server's database (agents are new each round), or a new empty database
    per round on a throwaway durable cluster (returned, to be closed)."""
    if explicit:
        return lambda _tmp: explicit, None
    from tests.collector.postgres import start_cluster

    cluster = start_cluster(durable=True)
    return lambda _tmp: cluster.database(), cluster


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _cpu(result: Result, kind: str) -> str:
    return f"{result.cpu_ms_per_snapshot.get(kind, 0.0):.2f}"


def _print_table(results: list[Result]) -> None:
    rows: list[tuple[str, list[object]]] = [
        ("server", [r.server for r in results]),
        ("database", [r.database.replace("postgresql+psycopg", "postgresql") for r in results]),
        ("uvicorn workers", [r.workers for r in results]),
        ("concurrent agents", [r.agents for r in results]),
        ("snapshots sent", [f"{r.snapshots} in {r.rounds} rounds" for r in results]),
        ("body (gzip)", [f"{r.body_bytes_gzip} B, {r.devices_per_snapshot} dev" for r in results]),
        (
            "device list changes",
            ["every 2nd" if r.device_lists_change else "never" for r in results],
        ),
        ("wall time", [f"{r.seconds:.2f} s" for r in results]),
        ("2xx / s", [f"{r.snapshots_per_s:.0f}" for r in results]),
        ("2xx / s, all agents busy", [f"{r.steady_per_s:.0f}" for r in results]),
        ("  per round", [" ".join(f"{v:.0f}" for v in r.steady_per_round) for r in results]),
        ("CPU ms/snapshot: server", [_cpu(r, "server_ms") for r in results]),
        ("  database", [_cpu(r, "database_ms") for r in results]),
        ("  load generator", [_cpu(r, "load_generator_ms") for r in results]),
        ("  CPUs idle", [f"{r.cpu_ms_per_snapshot.get('idle_pct', 0):.0f} %" for r in results]),
        ("latency p50", [f"{r.p50_ms:.1f} ms" for r in results]),
        ("latency p99", [f"{r.p99_ms:.1f} ms" for r in results]),
        ("statuses", [" ".join(f"{k}×{v}" for k, v in r.status_counts.items()) for r in results]),
        ("rows in database", [r.stored_in_db for r in results]),
        ("÷ http reference", [_ratio(r.ratio_to_http) for r in results]),
        ("÷ verify reference", [_ratio(r.ratio_to_verify) for r in results]),
        ("÷ verify, all busy", [_ratio(r.steady_ratio_to_verify) for r in results]),
        ("CPUs / load (1 min)", [f"{r.cpu_count} / {r.load_avg_1min}" for r in results]),
    ]
    width = max(len(name) for name, _ in rows)
    for name, values in rows:
        print(f"{name:<{width}}  " + "  ".join(f"{v!s:<18}" for v in values))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--per-agent", type=int, default=100)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--sqlite-workers", type=int, default=1)
    parser.add_argument("--postgres-workers", type=int, default=2)
    parser.add_argument("--postgres-url", help="existing server (default: throwaway cluster)")
    parser.add_argument("--database", help="one run against this SQLAlchemy URL")
    parser.add_argument("--workers", type=int, default=1, help="with --database")
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the http and verify reference runs"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per backend, medians reported (3)"
    )
    parser.add_argument(
        "--static-devices",
        action="store_true",
        help="every snapshot lists the same devices (default: a discovery run every\n"
        "30 min moves their last-seen time, so every other snapshot's list differs)",
    )
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    args = parser.parse_args()
    reference = not args.no_reference
    results: list[Result] = []
    common = (args.agents, args.per_agent)
    tail = (args.devices, reference, args.rounds, not args.static_devices)
    if args.database:
        database: str = args.database
        results += run(lambda _tmp: database, *common, args.workers, *tail)
    for backend in [] if args.database else args.backends.split(","):
        if backend == "sqlite":
            sqlite_file = lambda tmp: f"sqlite:///{tmp / 'bench.sqlite3'}"  # noqa: E731
            results += run(sqlite_file, *common, args.sqlite_workers, *tail)
        elif backend == "postgres":
            new_database, cluster = _postgres_databases(args.postgres_url)
            try:
                results += run(new_database, *common, args.postgres_workers, *tail)
            finally:
                if cluster is not None:
                    cluster.close()
        else:
            raise SystemExit(f"unknown backend {backend!r} (sqlite, postgres)")
    if not args.json:
        _print_table(results)
    print(json.dumps([asdict(r) for r in results]))
    for result in results:
        acknowledged = sum(v for k, v in result.status_counts.items() if k.startswith("2"))
        if result.server == "collector" and result.stored_in_db != acknowledged:
            raise SystemExit("stored rows do not match the acknowledged snapshots")
        if result.server == "verify" and acknowledged != result.snapshots:
            raise SystemExit(f"the verify reference refused requests: {result.status_counts}")


if __name__ == "__main__":
    main()
