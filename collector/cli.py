"""`socle-collector …`: serve, migrate, and the administrator's token and agent commands.

Flags override the TOML file, which overrides defaults (127.0.0.1:8443, SQLite in
the working directory). Output meant for scripts is bare: `token create` prints
the token alone, `agent add` the agent id alone. A bad setting exits 2 with one
line per problem; a refused request exits 1 with the reason.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from agent.config import ConfigError
from collector.config import CollectorConfig, load_config
from collector.db import make_engine, safe_url
from collector.migrate import current_revision, upgrade
from collector.store import AdminError, Store

EXIT_FAILED, EXIT_USAGE = 1, 2

app = typer.Typer(
    name="socle-collector",
    help="Receives signed snapshots from school agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="One-time enrolment tokens.", no_args_is_help=True)
agent_app = typer.Typer(help="Agent keys: add, revoke, list.", no_args_is_help=True)
school_app = typer.Typer(help="Schools: name, commune, size.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(agent_app, name="agent")
user_app = typer.Typer(help="Dashboard users (local accounts).", no_args_is_help=True)
app.add_typer(school_app, name="school")
app.add_typer(user_app, name="user")

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file.", dir_okay=False)
]
DatabaseOpt = Annotated[
    str | None, typer.Option("--database", help="SQLAlchemy URL (overrides the file).")
]
_DURATION = re.compile(r"^(\d+)\s*([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def parse_duration(text: str) -> timedelta:
    """`7d`, `12h`, `30m`, `3600` (seconds)."""
    match = _DURATION.match(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"expected a duration like 7d, 12h or 30m, got {text!r}")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def settings(
    config: Path | None, database: str | None, listen: str | None = None
) -> CollectorConfig:
    try:
        return load_config(config).with_overrides(database_url=database, listen=listen)
    except ConfigError as exc:
        fail("\n".join(exc.problems), EXIT_USAGE)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)


def open_store(config: CollectorConfig) -> Store:
    engine = make_engine(config.database.url)
    if config.database.migrate_on_start:
        upgrade(engine)
    return Store(engine)


@app.command()
def serve(
    config: ConfigOpt = None,
    database: DatabaseOpt = None,
    listen: Annotated[str | None, typer.Option("--listen", help="HOST:PORT")] = None,
    workers: Annotated[int | None, typer.Option("--workers", min=1, max=64)] = None,
) -> None:
    """Run the collector (FastAPI under uvicorn)."""
    import uvicorn

    from collector.app import CONFIG_ENV_VAR, create_app
    from collector.workers import Workers, reuseport_available

    cfg = settings(config, database, listen)
    n_workers = workers or cfg.server.workers
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger(__name__).info(
        "database %s, listening on %s:%d",
        safe_url(cfg.database.url),
        cfg.server.host,
        cfg.server.port,
    )
    loop, http = fast_io()
    if n_workers == 1:
        uvicorn.run(
            create_app(cfg),
            host=cfg.server.host,
            port=cfg.server.port,
            access_log=False,
            loop=loop,
            http=http,
        )
        return
    upgrade(make_engine(cfg.database.url))  # once, before the workers race to do it
    os.environ[CONFIG_ENV_VAR] = cfg.model_copy(
        update={"database": cfg.database.model_copy(update={"migrate_on_start": False})}
    ).model_dump_json()
    server = uvicorn.Config(
        "collector.app:app_from_environment",
        factory=True,
        host=cfg.server.host,
        port=cfg.server.port,
        workers=n_workers,
        access_log=False,  # ours (collector.ops.AccessLog) hides tokens and query strings
        loop=loop,
        http=http,
    )
    if not reuseport_available():  # uvicorn's workers, sharing one socket
        from uvicorn.supervisors import Multiprocess

        Multiprocess(server, sockets=[server.bind_socket()]).run()
        return
    # One socket per worker: the kernel balances connections (collector.workers).
    try:
        supervisor = Workers(server, n_workers)
    except OSError as exc:
        raise SystemExit(f"cannot listen on {cfg.server.host}:{cfg.server.port}: {exc}") from None
    raise SystemExit(supervisor.run())


def fast_io() -> tuple[str, str]:
    """uvloop and httptools by name when installed (uvicorn's "auto" picks them silently,
    and falls back just as silently); named here, a missing one shows in the start-up log."""
    import importlib.util

    chosen = {
        "loop": "uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        "http": "httptools" if importlib.util.find_spec("httptools") else "h11",
    }
    logging.getLogger(__name__).info("event loop %(loop)s, HTTP parser %(http)s", chosen)
    return chosen["loop"], chosen["http"]


@app.command()
def migrate(config: ConfigOpt = None, database: DatabaseOpt = None) -> None:
    """Upgrade the database schema to the latest revision."""
    cfg = settings(config, database)
    engine = make_engine(cfg.database.url)
    upgrade(engine)
    typer.echo(f"{safe_url(cfg.database.url)}: at revision {current_revision(engine)}")


@app.command()
def prune(
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", help="e.g. 90d (default: retention.raw_snapshot_days)"),
    ] = None,
    config: ConfigOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Drop raw snapshot bodies past the retention period (derived data is kept)."""
    from collector.retention import prune_raw_snapshots

    cfg = settings(config, database)
    if older_than is None and cfg.retention.raw_snapshot_days == 0:
        typer.echo("retention.raw_snapshot_days = 0: raw snapshots are kept forever")
        return
    try:
        age = (
            parse_duration(older_than)
            if older_than
            else timedelta(days=cfg.retention.raw_snapshot_days)
        )
    except ValueError as exc:
        fail(f"prune: {exc}", EXIT_USAGE)
    count = prune_raw_snapshots(open_store(cfg).engine, age)
    typer.echo(f"pruned {count} raw snapshot bodies older than {age.days} days")


@token_app.command("create")
def token_create(
    uai: Annotated[str, typer.Option("--uai", help="The school's UAI, e.g. 0751234J.")],
    expires: Annotated[str, typer.Option("--expires", help="Lifetime: 7d, 12h, 30m.")] = "7d",
    config: ConfigOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Issue a one-time enrolment token for a school; prints the token alone."""
    cfg = settings(config, database)
    try:
        ttl = parse_duration(expires)
        token = open_store(cfg).create_token(uai, ttl)
    except (ValueError, AdminError) as exc:
        fail(f"token create: {exc}", EXIT_USAGE)
    sys.stdout.write(token + "\n")


@agent_app.command("add")
def agent_add(
    uai: Annotated[str, typer.Option("--uai")],
    public_key: Annotated[str, typer.Option("--public-key", help="base64, from show-key")],
    config: ConfigOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Register an agent's public key out of band; prints the agent id."""
    cfg = settings(config, database)
    try:
        agent_id = open_store(cfg).add_agent(uai, public_key)
    except ValueError as exc:
        fail(f"agent add: {exc}", EXIT_USAGE)
    except AdminError as exc:
        fail(f"agent add: {exc}")
    typer.echo(agent_id)


@agent_app.command("revoke")
def agent_revoke(
    agent_id: Annotated[str, typer.Argument(help="Agent id (key fingerprint).")],
    config: ConfigOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Refuse this key from now on (its snapshots already stored are kept)."""
    if not open_store(settings(config, database)).revoke_agent(agent_id):
        fail(f"agent revoke: no active agent {agent_id}")
    typer.echo(f"revoked {agent_id}")


@agent_app.command("list")
def agent_list(
    uai: Annotated[str | None, typer.Option("--uai")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    config: ConfigOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Enrolled agents, with state, last contact and snapshot count."""
    try:
        rows = open_store(settings(config, database)).list_agents(uai)
    except ValueError as exc:
        fail(f"agent list: {exc}", EXIT_USAGE)
    if as_json:
        data = [
            {
                "agent_id": r.agent_id,
                "uai": r.uai,
                "public_key": r.public_key,
                "state": r.state,
                "enrolled_via": r.enrolled_via,
                "created_at": r.created_at.isoformat(),
                "last_seen_at": r.last_seen_at.isoformat() if r.last_seen_at else None,
                "last_seq": r.last_seq,
                "clock_skew_s": r.clock_skew_s,
                "snapshots": r.snapshots,
            }
            for r in rows
        ]
        typer.echo(json.dumps(data, indent=2))
        return
    for r in rows:
        seen = r.last_seen_at.isoformat(timespec="seconds") if r.last_seen_at else "never"
        typer.echo(f"{r.uai}  {r.agent_id}  {r.state:<8} last seen {seen}  {r.snapshots} snapshots")


@school_app.command("set")
def school_set(
    uai: Annotated[str, typer.Option("--uai")],
    name: Annotated[str | None, typer.Option("--name")] = None,
    commune: Annotated[str | None, typer.Option("--commune")] = None,
    size: Annotated[str | None, typer.Option("--size", help="small, medium or large")] = None,
    config: ConfigOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Name, commune and size shown and filtered on by the dashboard."""
    try:
        open_store(settings(config, database)).set_school(
            uai, name=name, commune=commune, size=size
        )
    except (ValueError, AdminError) as exc:
        fail(f"school set: {exc}", EXIT_USAGE)
    typer.echo(f"updated {uai}")


def _read_password() -> str:
    """From the terminal (asked twice, hidden) or, when piped, the first line of stdin."""
    if sys.stdin.isatty():
        value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return value
    return sys.stdin.readline().rstrip("\r\n")


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Option("--username", help="Login name.")],
    config: ConfigOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Create a dashboard user (or set a new password); the password is read, never an option."""
    from collector.auth import Auth

    cfg = settings(config, database)
    password = _read_password()
    try:
        Auth(open_store(cfg).engine, cfg.auth).add_user(username, password)
    except ValueError as exc:
        fail(f"user add: {exc}", EXIT_USAGE)
    typer.echo(f"user {username.strip()} saved")


@user_app.command("remove")
def user_remove(
    username: Annotated[str, typer.Option("--username")],
    config: ConfigOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Delete a user and end their sessions."""
    from collector.auth import Auth

    cfg = settings(config, database)
    if not Auth(open_store(cfg).engine, cfg.auth).remove_user(username):
        fail(f"user remove: no user {username}")
    typer.echo(f"removed {username}")


@user_app.command("list")
def user_list(config: ConfigOpt = None, database: DatabaseOpt = None) -> None:
    """Dashboard users, one per line."""
    from collector.auth import Auth

    cfg = settings(config, database)
    for name in Auth(open_store(cfg).engine, cfg.auth).list_users():
        typer.echo(name)


def main() -> None:
    app()
