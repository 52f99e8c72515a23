"""CLI bodies for keys, enrolment, snapshots and the spool (issue 5's command-line contract)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.clock import clock_synchronised
from agent.config import AgentSettings
from agent.keys import KeyFileError, keygen, show_key
from agent.service import STATE_FILE
from agent.snapshot import SnapshotContent
from agent.snapshot_build import build_content
from agent.spool import Spool, spool_retry
from agent.state import StateStore
from agent.upload import DeliveryError, DeliveryOutcome, EnrolResult, enroll, send_snapshot_now


class CommandError(Exception):
    """A failure the CLI prints as one line (exit 1)."""


def do_keygen(settings: AgentSettings, force: bool) -> dict[str, str]:
    try:
        keygen(settings.paths.state_dir, force=force)
    except (KeyFileError, FileExistsError) as exc:
        raise CommandError(str(exc)) from None
    return show_key(settings.paths.state_dir)


def do_show_key(settings: AgentSettings) -> dict[str, str]:
    try:
        return show_key(settings.paths.state_dir)
    except KeyFileError as exc:
        raise CommandError(f"{exc} (create it with `socle-agent keygen`)") from None


def do_enroll(settings: AgentSettings, token: str, collector: str | None) -> EnrolResult:
    try:
        return enroll(settings, token, collector)
    except DeliveryError as exc:
        raise CommandError(str(exc)) from None


def current_content(settings: AgentSettings) -> SnapshotContent:
    """What a snapshot made now contains: the state since the last one the daemon made."""
    store = StateStore(settings.paths.state_dir / STATE_FILE)
    try:
        now = datetime.now(UTC)
        last = store.get("last_snapshot_at")
        start = datetime.fromisoformat(last) if last else now - timedelta(days=1)
        with Spool.in_state_dir(settings.paths.state_dir) as spool:
            skew = spool.link_status().clock_skew_s
        return build_content(
            settings,
            store,
            now=now,
            period_start=start,
            uptime_s=0.0,
            clock_synchronised=clock_synchronised(now),
            clock_skew_s=skew,
        )
    finally:
        store.close()


def do_send(
    settings: AgentSettings, content: SnapshotContent, collector: str | None = None
) -> DeliveryOutcome:
    try:
        return send_snapshot_now(settings, content, collector)
    except DeliveryError as exc:
        raise CommandError(str(exc)) from None


def do_spool_retry(settings: AgentSettings) -> int:
    return spool_retry(settings.paths.state_dir)
