"""`socle-agent …`: the operator's entry point.

Every command loads settings the same way (`--config`, then `SOCLE_AGENT_CONFIG`,
then /etc/socle-agent/agent.toml) and turns a bad file into one line per problem and
exit code 2, never a traceback. Command bodies live in their own modules; this file
only parses arguments and wires them.
"""

from __future__ import annotations

import asyncio
import json
import sys
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, cast

import typer
from rich.console import Console

from agent import __version__
from agent.config import AgentSettings, ConfigError, load_settings, resolve_config_path

EXIT_CONFIG = 2  # bad configuration (DESIGN.md)
EXIT_FAILED = 1

app = typer.Typer(
    name="socle-agent",
    help="Mesure le réseau d'une école face au socle numérique de base. "
    "Measures a school's network against the socle numérique de base.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
probe_app = typer.Typer(help="Run one probe now.", no_args_is_help=True)
spool_app = typer.Typer(help="Inspect and retry the snapshot spool.", no_args_is_help=True)
app.add_typer(probe_app, name="probe")
app.add_typer(spool_app, name="spool")

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

Backend = Literal["http", "speedtest", "iperf3"]
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


class State:
    config_path: Path | None = None


_state = State()


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    err.print(f"socle-agent: {message}", markup=False)
    raise typer.Exit(code)


def settings() -> AgentSettings:
    """Load and validate settings, or print each problem on its own line and exit 2."""
    path = resolve_config_path(_state.config_path)
    try:
        return load_settings(path)
    except ConfigError as exc:
        err.print(
            f"socle-agent: {path}: {len(exc.problems)} problem(s) in the configuration",
            markup=False,
        )
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False)
        raise typer.Exit(EXIT_CONFIG) from None


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _version(value: bool) -> None:
    if value:
        out.print(f"socle-agent {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="Configuration file "
            "(default: $SOCLE_AGENT_CONFIG, else /etc/socle-agent/agent.toml).",
        ),
    ] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True)] = False,
) -> None:
    _state.config_path = config


@app.command()
def init(
    uai: Annotated[str | None, typer.Option(help="The school's UAI, e.g. 0751234J.")] = None,
    classes: Annotated[int | None, typer.Option(help="Number of classes.", min=1)] = None,
    name: Annotated[str, typer.Option(help="School name.")] = "",
    commune: Annotated[str, typer.Option(help="Commune.")] = "",
    collector: Annotated[str | None, typer.Option(help="Collector URL.")] = None,
    state_dir: Annotated[Path, typer.Option(help="State directory.")] = Path(
        "/var/lib/socle-agent"
    ),
    subnet: Annotated[list[str] | None, typer.Option(help="Subnet to scan (repeatable).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented configuration file (asks for what is missing on a terminal)."""
    from agent.cli_init import write_config

    write_config(
        path=resolve_config_path(_state.config_path),
        uai=uai,
        classes=classes,
        name=name,
        commune=commune,
        collector=collector,
        state_dir=state_dir,
        subnets=[_parse_subnet(s) for s in subnet or []],
        force=force,
    )


def _parse_subnet(text: str) -> IPv4Network:
    try:
        return IPv4Network(text, strict=False)
    except ValueError:
        fail(f"--subnet {text!r}: expected an IPv4 network like 192.168.1.0/24", EXIT_CONFIG)


@app.command("check-config")
def check_config(as_json: JsonFlag = False) -> None:
    """Validate the configuration and print it, secrets masked."""
    from agent.config_view import effective_config, format_config

    loaded = settings()
    view = effective_config(loaded)
    if as_json:
        print_json(view)
    else:
        out.print(format_config(view), markup=False)
        err.print(f"configuration OK: {resolve_config_path(_state.config_path)}", markup=False)


@app.command()
def run(
    once: Annotated[bool, typer.Option("--once", help="One full cycle, then exit.")] = False,
) -> None:
    """Run the scheduled daemon (or one full cycle with --once)."""
    from agent.cli_run import run as run_agent

    loaded = settings()
    raise typer.Exit(run_agent(loaded, resolve_config_path(_state.config_path), once))


@app.command()
def discover(as_json: JsonFlag = False) -> None:
    """Discover equipment on the configured subnets (ARP, mDNS, SNMP, PJLink)."""
    from agent import cli_inspect as c
    from agent.discovery import discover_json

    result = c.run_discover(settings(), err)
    if as_json:
        print_json(discover_json(result))
    else:
        out.print(c.discovery_table(result))


@app.command()
def identify(
    host: Annotated[str, typer.Argument(help="IPv4 address of one device.")],
    snmp_port: Annotated[int, typer.Option(help="SNMP port.")] = 161,
    community: Annotated[str | None, typer.Option(help="SNMP community to try first.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run every protocol against one host and say what it is."""
    from agent import cli_inspect as c

    try:
        address = IPv4Address(host)
    except ValueError:
        fail(f"HOST {host!r}: expected an IPv4 address", EXIT_CONFIG)
    result = c.run_identify(settings(), address, snmp_port, community).to_dict()
    if as_json:
        print_json(result)
    else:
        for key, value in result.items():
            out.print(f"{key:12} {value}", markup=False)


@probe_app.command("throughput")
def probe_throughput(
    backend: Annotated[str | None, typer.Option(help="http, speedtest or iperf3.")] = None,
    target: Annotated[str | None, typer.Option(help="Target URL or host:port.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Measure throughput now and judge it against the school's thresholds."""
    from agent import cli_inspect as c
    from agent.bandwidth_run import format_progress, format_report, run_throughput_command

    if backend not in (None, "http", "speedtest", "iperf3"):
        fail(f"--backend {backend!r}: expected http, speedtest or iperf3", EXIT_CONFIG)
    loaded = settings()
    live = sys.stderr.isatty() and not as_json

    def progress(item: Any) -> None:
        if live:
            sys.stderr.write("\r" + format_progress(item).ljust(78))
            sys.stderr.flush()

    chosen = cast(Backend | None, backend)
    report = asyncio.run(
        run_throughput_command(loaded, backend=chosen, target=target, progress=progress)
    )
    if live:
        sys.stderr.write("\n")
    c.remember_measurement(loaded, report)
    if as_json:
        print_json(report.model_dump(mode="json"))
    else:
        out.print(format_report(report), markup=False)
    if not report.result.ok:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def assess(as_json: JsonFlag = False) -> None:
    """Judge the school against the socle referential."""
    from agent import cli_inspect as c
    from agent.assess_render import render_checklist

    loaded = settings()
    result = c.current_assessment(loaded)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        render_checklist(result, out, color=out.is_terminal, language=loaded.status_page.language)


@app.command()
def snapshot(
    send: Annotated[bool, typer.Option("--send", help="Deliver it to the collector now.")] = False,
    collector: Annotated[
        str | None, typer.Option(help="Collector URL (default: from the configuration).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Build a snapshot from the current state (and send it: exit 0 only once stored)."""
    from agent import cli_delivery as d

    loaded = settings()
    content = d.current_content(loaded)
    if not send:
        if as_json:
            print_json(content.model_dump(mode="json", exclude_none=True))
        else:
            inv = content.inventory
            out.print(
                f"snapshot content: {len(inv.infrastructure)} infrastructure devices, "
                f"{sum(inv.personal.by_kind.values())} personal devices (counted), "
                f"{len(content.throughput)} throughput results; add --send to deliver it",
                markup=False,
            )
        return
    try:
        outcome = d.do_send(loaded, content, collector)
    except d.CommandError as exc:
        fail(str(exc))
    if as_json:
        print_json({"seq": outcome.seq, "stored": outcome.stored, "reason": outcome.reason})
    else:
        out.print(f"snapshot {outcome.seq}: {outcome.reason}", markup=False)
    if not outcome.stored:
        raise typer.Exit(EXIT_FAILED)


@app.command()
def status(as_json: JsonFlag = False) -> None:
    """Show the agent's state: last runs, spool, collector link."""
    from agent import cli_inspect as c

    data = c.status_data(settings())
    if as_json:
        print_json(data)
        return
    school = data["school"]
    out.print(
        f"{school['name'] or school['uai']} ({school['uai']}, {school['size']}): {data['devices']} devices known",
        markup=False,
    )
    for job, run in data["last_runs"].items():
        state = "ok" if run["ok"] else f"FAILED: {run['error']}"
        out.print(
            f"  {job:10} {run['at']}  {state if not run['ok'] else run['summary']}", markup=False
        )
    spool = data["spool"]
    out.print(
        f"spool: {spool['depth']} waiting, {spool['dead_letters']} dead letters; last upload {spool['last_success_at']}",
        markup=False,
    )


@app.command()
def keygen(
    force: Annotated[
        bool, typer.Option(help="Replace an existing key (the collector must re-enrol it).")
    ] = False,
) -> None:
    """Create the agent's signing key (once; refuses to overwrite without --force)."""
    from agent import cli_delivery as d

    try:
        shown = d.do_keygen(settings(), force)
    except d.CommandError as exc:
        fail(str(exc))
    out.print(f"agent id {shown['agent_id']}\npublic key {shown['public_key']}", markup=False)


@app.command("show-key")
def show_key(as_json: JsonFlag = False) -> None:
    """Print the agent id (key fingerprint) and public key, never the private key."""
    from agent import cli_delivery as d

    try:
        shown = d.do_show_key(settings())
    except d.CommandError as exc:
        fail(str(exc))
    if as_json:
        print_json(shown)
    else:
        out.print(f"agent id   {shown['agent_id']}\npublic key {shown['public_key']}", markup=False)


@app.command()
def enroll(
    token: Annotated[str, typer.Option(help="One-time enrolment token from the collector.")],
    collector: Annotated[
        str | None, typer.Option(help="Collector URL (default: from the configuration).")
    ] = None,
) -> None:
    """Register this agent's public key with the collector (the token is never logged)."""
    from agent import cli_delivery as d

    try:
        result = d.do_enroll(settings(), token, collector)
    except d.CommandError as exc:
        fail(str(exc))
    out.print(
        f"enrolled agent {result.agent_id} for {result.uai} at {result.collector_url}", markup=False
    )


@app.command("hash-password")
def hash_password_command() -> None:
    """Hash a status-page password for `status_page.password_hash` (read from a prompt or stdin)."""
    from agent.passwords import hash_password

    if sys.stdin.isatty():
        plain = typer.prompt("Mot de passe / password", hide_input=True, confirmation_prompt=True)
    else:
        plain = sys.stdin.readline().rstrip("\n")
    if not plain:
        fail("empty password", EXIT_CONFIG)
    out.print(hash_password(plain), markup=False)


@spool_app.command("retry")
def spool_retry() -> None:
    """Move dead-lettered snapshots back to the queue."""
    from agent import cli_delivery as d

    moved = d.do_spool_retry(settings())
    out.print(f"{moved} dead-lettered snapshot(s) queued again", markup=False)


def main() -> None:
    app()
