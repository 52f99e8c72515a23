"""A throwaway PostgreSQL cluster for the test session, from Debian's server binaries.

`initdb` into a temporary directory, `pg_ctl start` listening on a Unix socket
only (no TCP: nothing can reach it from outside), one fresh database per test
or module. As root, the cluster runs as the `postgres` user (initdb refuses root).
`SOCLE_TEST_POSTGRES_URL` points the tests at an existing server instead.
Unavailable → the `postgres` tests skip with the reason, except with CI=true
where they fail: CI installs the package, so a skip there would hide a regression.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

_counter = itertools.count(1)


class PostgresUnavailable(Exception):
    pass


def _bin_dir() -> Path:
    explicit = os.environ.get("SOCLE_PG_BIN")
    candidates = [explicit] if explicit else sorted(glob.glob("/usr/lib/postgresql/*/bin"))[::-1]
    for candidate in candidates:
        if candidate and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise PostgresUnavailable("no pg_ctl (apt install postgresql, or set SOCLE_PG_BIN)")


class Cluster:
    """A running server; `database()` makes a new empty database and returns its URL."""

    def __init__(self, base_url: str, stop: list[str] | None = None, tmp: Path | None = None):
        self.base_url = base_url
        self._stop = stop
        self._tmp = tmp
        self._admin = create_engine(base_url, isolation_level="AUTOCOMMIT", poolclass=None)

    def database(self) -> str:
        name = f"socle_test_{os.getpid()}_{next(_counter)}"
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return make_url(self.base_url).set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        self._admin.dispose()
        if self._stop is not None:
            subprocess.run(self._stop, capture_output=True, timeout=60, check=False)
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def start_cluster(*, durable: bool = False) -> Cluster:
    """Tests run with fsync off (speed); the benchmark asks for a durable server."""
    existing = os.environ.get("SOCLE_TEST_POSTGRES_URL")
    if existing:
        return Cluster(existing)
    bin_dir = _bin_dir()
    tmp = Path(tempfile.mkdtemp(prefix="socle-pg-"))
    data, sock = tmp / "data", tmp / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root and there is no postgres user") from None
        for path in (tmp, sock):
            os.chown(path, user.pw_uid, user.pw_gid)
        tmp.chmod(0o755)

    def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _as_postgres(cmd), capture_output=True, text=True, timeout=120, check=False
        )

    init = run(
        [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]
    )
    if init.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PostgresUnavailable(f"initdb failed: {init.stderr.strip()[-300:]}")
    options = f"-k {sock} -c listen_addresses='' -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    pg_ctl = str(bin_dir / "pg_ctl")
    started = run([pg_ctl, "-D", str(data), "-o", options, "-l", str(tmp / "log"), "-w", "start"])
    if started.returncode != 0:
        log = (tmp / "log").read_text() if (tmp / "log").exists() else started.stderr
        shutil.rmtree(tmp, ignore_errors=True)
        raise PostgresUnavailable(f"pg_ctl start failed: {log.strip()[-300:]}")
    url = f"postgresql+psycopg://postgres@/postgres?host={sock}"
    stop = _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"])
    return Cluster(url, stop, tmp)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """Session-wide server; skipped with the reason (failed with CI=true) when unavailable."""
    try:
        cluster = start_cluster()
    except (PostgresUnavailable, OSError, subprocess.SubprocessError) as exc:
        message = f"PostgreSQL unavailable: {exc}"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield cluster
    finally:
        cluster.close()
