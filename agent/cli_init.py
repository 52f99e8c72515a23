"""`socle-agent init`: write a first configuration from flags, or by asking on a terminal."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from ipaddress import IPv4Network
from pathlib import Path

import typer

from agent.config import ConfigError, load_settings
from agent.config_template import render_agent_config
from agent.uai import validate_uai

EXIT_CONFIG = 2


def _ask_uai() -> str:
    while True:
        answer = typer.prompt("UAI de l'école (ex. 0751234J)")
        try:
            return validate_uai(answer)
        except ValueError as exc:
            typer.echo(f"  {exc}", err=True)


def write_atomically(path: Path, text: str, mode: int = 0o640) -> None:
    """Temp file + fsync + rename: a crash never leaves half a config behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_config(
    *,
    path: Path,
    uai: str | None,
    classes: int | None,
    name: str,
    commune: str,
    collector: str | None,
    state_dir: Path,
    subnets: Sequence[IPv4Network],
    force: bool,
) -> None:
    if path.exists() and not force:
        typer.echo(f"socle-agent: {path} exists; use --force to overwrite", err=True)
        raise typer.Exit(1)
    interactive = sys.stdin.isatty()
    if uai is None or classes is None:
        if not interactive:
            typer.echo(
                "socle-agent: init needs --uai and --classes (or a terminal to ask)", err=True
            )
            raise typer.Exit(EXIT_CONFIG)
        uai = uai or _ask_uai()
        classes = classes or typer.prompt("Nombre de classes", type=int)
        name = name or typer.prompt("Nom de l'école", default="")
        commune = commune or typer.prompt("Commune", default="")
    try:
        text = render_agent_config(
            uai=uai,
            classes=classes,
            name=name,
            commune=commune,
            collector_url=collector,
            state_dir=state_dir,
            subnets=subnets,
        )
    except ValueError as exc:
        typer.echo(f"socle-agent: --uai {uai!r}: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    write_atomically(path, text)
    try:
        load_settings(path)
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    typer.echo(f"wrote {path}")
