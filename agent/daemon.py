"""`socle-agent run`: the scheduled daemon.

APScheduler 3 drives the jobs on the asyncio loop. Two rules shape it:
- one network-heavy job at a time (a throughput test never overlaps a discovery sweep,
  or it would measure our own ARP traffic and slow the sweep), enforced by one lock;
- no bursts after a clock jump: every job coalesces missed runs into one, and a short
  misfire grace drops runs that are long overdue instead of replaying them.
SIGTERM cancels the running job and exits 0; SIGHUP reloads the settings, keeping the
old ones when the new file is bad.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from agent.config import AgentSettings, ConfigError
from agent.memory import release_free_memory
from agent.sdnotify import Notifier
from agent.state import StateStore

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 8.0  # systemd's TimeoutStopSec is 15 s; the issue asks for exit within 10 s
MISFIRE_GRACE_S = 300  # a run more than 5 min late is skipped, not replayed
FIRST_RUN_DELAY_S = 5.0  # let the status page come up before the first sweep


class Jobs(Protocol):
    """What the daemon schedules. Each returns a one-line summary for STATUS= and the log."""

    async def discovery(self) -> str: ...
    async def latency(self) -> str: ...
    async def throughput(self) -> str: ...
    async def snapshot(self) -> str: ...
    async def drain(self) -> str: ...


@dataclass(frozen=True)
class JobSpec:
    name: str
    interval: timedelta
    heavy: bool
    jitter_s: float


def job_specs(settings: AgentSettings) -> list[JobSpec]:
    schedule = settings.schedule
    specs = [
        JobSpec(
            "discovery", timedelta(minutes=schedule.discovery_interval_min), True, schedule.jitter_s
        ),
        JobSpec(
            "latency",
            timedelta(minutes=schedule.latency_interval_min),
            False,
            min(30.0, schedule.jitter_s),
        ),
        JobSpec(
            "snapshot", timedelta(minutes=schedule.snapshot_interval_min), False, schedule.jitter_s
        ),
        JobSpec(
            "drain",
            timedelta(minutes=schedule.drain_interval_min),
            False,
            min(10.0, schedule.jitter_s),
        ),
    ]
    if schedule.throughput_tests_per_day > 0:
        every = timedelta(days=1) / schedule.throughput_tests_per_day
        specs.append(JobSpec("throughput", every, True, min(every.total_seconds() / 4, 1800.0)))
    return specs


class Daemon:
    def __init__(
        self,
        settings: AgentSettings,
        store: StateStore,
        jobs: Jobs,
        *,
        reload_settings: Callable[[], AgentSettings] | None = None,
        on_reload: Callable[[AgentSettings], Awaitable[None]] | None = None,
        notifier: Notifier | None = None,
        serve_status: Callable[[asyncio.Event], Coroutine[object, object, None]] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.jobs = jobs
        self.notifier = notifier or Notifier()
        self._reload_settings = reload_settings
        self._on_reload = on_reload
        self._serve_status = serve_status
        self._heavy = asyncio.Lock()
        self._stop = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._failing: set[str] = set()
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_S,
            },
        )
        self.last_summary = "starting"

    # -- one job run -------------------------------------------------------------------

    async def run_job(self, name: str, heavy: bool) -> None:
        """Run one job under the heavy lock if needed, recording it and surviving failure."""
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
        try:
            if heavy:
                async with self._heavy:
                    await self._record(name)
            else:
                await self._record(name)
        finally:
            if task is not None:
                self._running.discard(task)
            release_free_memory()

    async def _record(self, name: str) -> None:
        started = datetime.now(UTC)
        run_id = self.store.start_job(name, started)
        try:
            summary = await getattr(self.jobs, name)()
        except asyncio.CancelledError:
            self.store.finish_job(run_id, datetime.now(UTC), ok=False, error="cancelled (stopping)")
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            self.store.finish_job(run_id, datetime.now(UTC), ok=False, error=error[:500])
            self._warn_once(name, error)
            return
        self._failing.discard(name)
        self.store.finish_job(run_id, datetime.now(UTC), ok=True, summary=summary[:500])
        self.last_summary = f"{name}: {summary}"
        self.notifier.status(self.last_summary[:200])
        log.info("%s: %s", name, summary)

    def _warn_once(self, name: str, error: str) -> None:
        """Warn on the first failure of a streak, then debug: journald stays readable."""
        if name in self._failing:
            log.debug("%s failed again: %s", name, error)
        else:
            log.warning("%s failed: %s", name, error)
            self._failing.add(name)

    # -- lifecycle ---------------------------------------------------------------------

    def schedule(self, first_run_delay_s: float = FIRST_RUN_DELAY_S) -> None:
        self.scheduler.remove_all_jobs()
        start = datetime.now(UTC) + timedelta(seconds=first_run_delay_s)
        for spec in job_specs(self.settings):
            self.scheduler.add_job(
                self.run_job,
                IntervalTrigger(
                    seconds=spec.interval.total_seconds(), start_date=start, jitter=spec.jitter_s
                ),
                args=(spec.name, spec.heavy),
                id=spec.name,
                name=spec.name,
                replace_existing=True,
                next_run_time=start,
            )

    def next_runs(self) -> dict[str, datetime | None]:
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs()}

    def request_stop(self) -> None:
        self._stop.set()

    async def reload(self) -> None:
        if self._reload_settings is None:
            return
        self.notifier.reloading()
        try:
            new = self._reload_settings()
        except ConfigError as exc:
            log.error(
                "reload refused, keeping the running configuration: %s", "; ".join(exc.problems)
            )
            self.notifier.status(f"reload refused: {exc.problems[0]}"[:200])
            return
        self.settings = new
        if self._on_reload is not None:
            await self._on_reload(new)
        self.schedule()
        log.info("configuration reloaded")
        self.notifier.ready(f"reloaded; {self.last_summary}"[:200])

    async def _watchdog(self, interval_s: float) -> None:
        """Pinged from the loop itself: a hung loop misses pings and systemd restarts us."""
        while True:
            self.notifier.watchdog()
            await asyncio.sleep(interval_s)

    async def run(self, *, first_run_delay_s: float = FIRST_RUN_DELAY_S) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self.request_stop)
        loop.add_signal_handler(signal.SIGINT, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload()))
        helpers: list[asyncio.Task[None]] = []
        status_ready = asyncio.Event()
        if self._serve_status is not None:
            helpers.append(loop.create_task(self._serve_status(status_ready)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(status_ready.wait(), timeout=10)
        else:
            status_ready.set()
        interval = self.notifier.watchdog_interval_s()
        if interval:
            helpers.append(loop.create_task(self._watchdog(interval)))
        self.schedule(first_run_delay_s)
        self.scheduler.start()
        self.notifier.ready("running; first cycle starting")
        log.info("socle-agent running (%d jobs scheduled)", len(self.scheduler.get_jobs()))
        await self._stop.wait()
        await self._shutdown(helpers)
        return 0

    async def _shutdown(self, helpers: list[asyncio.Task[None]]) -> None:
        self.notifier.stopping()
        log.info("stopping: cancelling %d running job(s)", len(self._running))
        self.scheduler.shutdown(wait=False)
        pending = [*self._running, *helpers]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=STOP_TIMEOUT_S)
        for name in ("SIGTERM", "SIGINT", "SIGHUP"):
            asyncio.get_running_loop().remove_signal_handler(getattr(signal, name))
