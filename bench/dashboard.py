"""Dashboard benchmark: fleet page render time with 45,000 schools × 30 days of data.

    .venv/bin/python -m bench.dashboard [--schools 45000] [--days 30] [--per-day 4]
                                        [--devices 20] [--backends sqlite,postgres]
                                        [--repeat 15] [--json]

Fills the derived tables directly, in bulk, inside the database (INSERT … SELECT over
a generated series: millions of rows in seconds, no Python loop): schools with
communes and sizes, one summary row each with varied verdicts and alerts, `--devices`
devices each, and `--per-day` measurements a day for `--days` days. Then a real
collector (uvicorn on loopback) serves the pages to a signed-in client, and each
view is timed end to end (query + template + HTTP): median and p95 of `--repeat`
requests. Target: fleet page, first page and filtered, < 300 ms. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select, text

from collector.auth import Auth
from collector.db import measurements, schools
from tests.collector.fill import login
from tests.collector.live import LiveCollector, uai

PASSWORD = "benchmark password"
VIEWS = {
    "fleet: first page": "/fleet",
    "fleet: commune filter": "/fleet?commune=Commune-0042",
    "fleet: below minimum, small": "/fleet?alert=below_minimum&size=small",
    "fleet: verdict + sort by median": "/fleet?verdict=minimum_pass&sort=median&order=desc",
    "fleet: any alert, page 20": "/fleet?alert=any&page=20",
    "fleet: search by name": "/fleet?q=Ecole%2012",
    "school page (30 days)": "/schools/{uai}",
    "CSV export, one commune": "/export/schools.csv?commune=Commune-0042",
}


@dataclass
class Timing:
    database: str
    view: str
    median_ms: float
    p95_ms: float
    status: int


SUMMARY_COLUMNS = (
    "uai, last_seen_at, snapshot_at, snapshot_id, agent_id, verdict_minimum, verdict_desirable,"
    " median_down_mbps, median_up_mbps, tests, met, judged, score_pct, equipment_ok, devices,"
    " alert_below_minimum, alert_toner_low, alert_lamp_end, alert_wifi_on, alert_clock_skew,"
    " alert_dead_letters, alerts, agent_version, uptime_s, spool_depth, dead_letters,"
    " dropped_snapshots, clock_synchronised, clock_skew_s, last_errors"
)


def _series(dialect: str, n: int) -> str:
    """SQL yielding integers 0..n-1 as column `i`."""
    if dialect == "postgresql":
        return f"SELECT generate_series(0, {n - 1}) AS i"
    return f"WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {n - 1}) SELECT i FROM s"


def fill(engine: Engine, n_schools: int, days: int, per_day: int, n_devices: int) -> float:
    """Bulk rows in the derived tables; returns the seconds it took."""
    started = time.perf_counter()
    codes = [{"uai": uai(1_000_000 + i), "i": i} for i in range(n_schools)]
    dialect = engine.dialect.name
    ts = "to_timestamp" if dialect == "postgresql" else "datetime"
    now = time.time()

    def at(seconds_expr: str) -> str:
        if dialect == "postgresql":
            return f"to_timestamp({seconds_expr})"
        return f"datetime({seconds_expr}, 'unixepoch')"

    del ts
    true, false = ("true", "false") if dialect == "postgresql" else ("1", "0")
    with engine.begin() as conn:
        conn.execute(text("CREATE TEMP TABLE codes (i INTEGER PRIMARY KEY, uai VARCHAR(8))"))
        conn.execute(text("INSERT INTO codes (i, uai) VALUES (:i, :uai)"), codes)
        conn.execute(
            text(
                "INSERT INTO schools (uai, name, commune, size, created_at) "
                "SELECT uai, 'Ecole ' || i, 'Commune-' || substr('0000' || (i % 3000), -4, 4), "
                "CASE i % 3 WHEN 0 THEN 'small' WHEN 1 THEN 'medium' ELSE 'large' END, "
                f"{at(str(now - 86400 * 60))} FROM codes"
            )
            if dialect != "postgresql"
            else text(
                "INSERT INTO schools (uai, name, commune, size, created_at) "
                "SELECT uai, 'Ecole ' || i, 'Commune-' || lpad((i % 3000)::text, 4, '0'), "
                "CASE i % 3 WHEN 0 THEN 'small' WHEN 1 THEN 'medium' ELSE 'large' END, "
                f"{at(str(now - 86400 * 60))} FROM codes"
            )
        )
        flag = f"CASE WHEN i % {{m}} = 0 THEN {true} ELSE {false} END"
        conn.execute(
            text(
                f"INSERT INTO school_summary ({SUMMARY_COLUMNS}) "
                f"SELECT uai, {at(f'{now} - (i % 97) * 3600')}, {at(f'{now} - (i % 97) * 3600')},"
                " i, 'agent', CASE WHEN i % 5 = 0 THEN 'fail' ELSE 'pass' END,"
                " CASE WHEN i % 3 = 0 THEN 'pass' ELSE 'fail' END, 4 + (i % 120), 2 + (i % 50),"
                f" 28, i % 9, 8, (i % 9) * 12.5, {flag.format(m=4)}, {n_devices},"
                f" CASE WHEN i % 5 = 0 THEN {true} ELSE {false} END, {flag.format(m=7)},"
                f" {flag.format(m=11)}, {flag.format(m=13)}, {flag.format(m=17)},"
                f" {flag.format(m=19)}, (i % 5 = 0) + (i % 7 = 0) + (i % 11 = 0),"
                f" '0.1.0', 3600, 0, 0, 0, {true}, 0.5, '' FROM codes"
                if dialect != "postgresql"
                else f"INSERT INTO school_summary ({SUMMARY_COLUMNS}) "
                f"SELECT uai, {at(f'{now} - (i % 97) * 3600')}, {at(f'{now} - (i % 97) * 3600')},"
                " i, 'agent', CASE WHEN i % 5 = 0 THEN 'fail' ELSE 'pass' END,"
                " CASE WHEN i % 3 = 0 THEN 'pass' ELSE 'fail' END, 4 + (i % 120), 2 + (i % 50),"
                f" 28, i % 9, 8, (i % 9) * 12.5, {flag.format(m=4)}, {n_devices},"
                f" i % 5 = 0, i % 7 = 0, i % 11 = 0, i % 13 = 0, i % 17 = 0, i % 19 = 0,"
                " (i % 5 = 0)::int + (i % 7 = 0)::int + (i % 11 = 0)::int,"
                " '0.1.0', 3600, 0, 0, 0, true, 0.5, '' FROM codes"
            )
        )
        conn.execute(
            text(
                "INSERT INTO devices (uai, mac, category, vendor, model, name, ip, serial,"
                " first_seen, last_seen, reported_at, min_toner_percent, lamp_hours,"
                " lamp_rated_hours, toner_low, lamp_end, health_text) "
                f"SELECT c.uai, '00:26:ab:00:00:' || substr('0' || d.i, -2, 2), 'projector',"
                " 'Epson', 'EB-695Wi', 'projecteur-' || d.i, '10.0.0.' || (d.i + 2), 'SN',"
                f" {at(str(now - 86400 * 30))}, {at(str(now))}, {at(str(now))}, NULL, 1200, 4000,"
                f" {false}, {false}, '' FROM codes c CROSS JOIN ({_series(dialect, n_devices)}) d"
                if dialect != "postgresql"
                else "INSERT INTO devices (uai, mac, category, vendor, model, name, ip, serial,"
                " first_seen, last_seen, reported_at, min_toner_percent, lamp_hours,"
                " lamp_rated_hours, toner_low, lamp_end, health_text) "
                "SELECT c.uai, '00:26:ab:00:00:' || lpad(d.i::text, 2, '0'), 'projector',"
                " 'Epson', 'EB-695Wi', 'projecteur-' || d.i, '10.0.0.' || (d.i + 2), 'SN',"
                f" {at(str(now - 86400 * 30))}, {at(str(now))}, {at(str(now))}, NULL, 1200, 4000,"
                f" false, false, '' FROM codes c CROSS JOIN ({_series(dialect, n_devices)}) d"
            )
        )
        points = days * per_day
        step = 86400 / per_day
        conn.execute(
            text(
                "INSERT INTO measurements (uai, agent_id, snapshot_id, started_at, backend,"
                " target_host, down_mbps, up_mbps, idle_latency_ms, loaded_latency_ms, jitter_ms,"
                " bytes_used, cut_short) "
                f"SELECT c.uai, 'agent-' || c.i, c.i, {at(f'{now} - p.i * {step}')}, 'http',"
                " 'collector', 5 + (c.i + p.i) % 60, 2 + (c.i + p.i) % 20, 12, 40, 2, 60000000,"
                f" NULL FROM codes c CROSS JOIN ({_series(dialect, points)}) p"
            )
        )
        conn.execute(text("DROP TABLE codes"))
    if dialect == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def _time(client: httpx.Client, path: str, repeat: int) -> tuple[float, float, int]:
    client.get(path)  # warm caches, compile statements
    samples = []
    status = 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)], status


def run_backend(name: str, url: str | None, args: argparse.Namespace, tmp: Path) -> list[Timing]:
    live = LiveCollector(tmp / name, database_url=url)
    seconds = fill(live.engine, args.schools, args.days, args.per_day, args.devices)
    with live.engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(measurements)).scalar_one()
        n = conn.execute(select(func.count()).select_from(schools)).scalar_one()
    if not args.json:
        print(f"{name}: {n} schools, {rows} measurements loaded in {seconds:.1f} s")
    Auth(live.engine, live.config.auth).add_user("bench", PASSWORD)
    live.start()
    client = login(live, "bench", PASSWORD)
    try:
        timings = []
        for view, path in VIEWS.items():
            median, p95, status = _time(client, path.format(uai=uai(1_000_042)), args.repeat)
            timings.append(Timing(name, view, round(median, 1), round(p95, 1), status))
        return timings
    finally:
        client.close()
        live.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=45_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=4)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres-url", help="an empty database (default: throwaway cluster)")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: list[Timing] = []
    with tempfile.TemporaryDirectory(prefix="socle-dash-") as tmp:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                results += run_backend("sqlite", None, args, Path(tmp))
            elif backend == "postgres":
                cluster = None
                url = args.postgres_url
                if url is None:
                    from tests.collector.postgres import start_cluster

                    cluster = start_cluster()
                    url = cluster.database()
                try:
                    results += run_backend("postgresql", url, args, Path(tmp))
                finally:
                    if cluster is not None:
                        cluster.close()
            else:
                raise SystemExit(f"unknown backend {backend!r}")
    if not args.json:
        width = max(len(v) for v in VIEWS)
        print(f"{'view':<{width}}  {'database':<10}  {'median':>9}  {'p95':>9}  status")
        for t in results:
            print(
                f"{t.view:<{width}}  {t.database:<10}  {t.median_ms:>7.1f}ms  {t.p95_ms:>7.1f}ms"
                f"  {t.status}"
            )
    print(json.dumps([asdict(t) for t in results]))


if __name__ == "__main__":
    main()
