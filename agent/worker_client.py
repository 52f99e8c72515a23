"""The daemon's side of `agent.worker`: spawn it, feed it, bound it, stop it.

Rules this module keeps, because the daemon must outlive any worker:
- a worker that crashes, exits non-zero or prints garbage is a `WorkerError` (the job
  is recorded as failed with the worker's last stderr line), never an exception that
  escapes into the scheduler;
- a worker that hangs is stopped at its time limit (SIGTERM to its process group, then
  SIGKILL after a grace) and reported the same way;
- when the daemon is told to stop, the awaiting job is cancelled, and the cancellation
  stops the worker's whole process group (iperf3 included) before it propagates, well
  inside the daemon's 10 s;
- the worker runs in its own session, so a terminal's Ctrl-C reaches the daemon only,
  which then decides.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from typing import Any

from agent.config import AgentSettings
from agent.worker_wire import request

log = logging.getLogger(__name__)

WORKER_ARGV = (sys.executable, "-m", "agent.worker")
STOP_GRACE_S = 2.0  # s between SIGTERM and SIGKILL; the daemon's own stop allows 8 s
SELF_LIMIT_MARGIN_S = 5.0  # the worker gives up this much before the daemon's limit
MAX_OUTPUT_BYTES = 32 * 1024 * 1024  # a school sweep is well under 1 MB of JSON
STDERR_TAIL_LINES = 5


class WorkerError(RuntimeError):
    """The worker did not deliver a result; the message says why, in one line."""


class WorkerRunner:
    """Runs one job per call in a fresh `python -m agent.worker` (argv injectable for tests)."""

    def __init__(self, argv: Sequence[str] = WORKER_ARGV, stop_grace_s: float = STOP_GRACE_S) -> None:  # fmt: skip
        self.argv = tuple(argv)
        self.stop_grace_s = stop_grace_s
        self.last_peak_rss_kb: int | None = None

    async def run(
        self, job: str, settings: AgentSettings, time_limit_s: float, **options: Any
    ) -> Any:
        """The job's result (JSON value), or WorkerError; cancellation stops the worker."""
        options["time_limit_s"] = max(1.0, time_limit_s - SELF_LIMIT_MARGIN_S)
        payload = json.dumps(request(job, settings, **options)).encode()
        started = time.monotonic()
        proc = await self._spawn()
        tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        try:
            async with asyncio.timeout(time_limit_s):
                output, _ = await asyncio.gather(_talk(proc, payload), _forward_stderr(proc, tail))
                code = await proc.wait()
        except TimeoutError:
            await self._stop(proc)
            raise WorkerError(
                f"{job} worker gave no answer within {time_limit_s:.0f} s (stopped)"
            ) from None
        except BaseException:  # cancelled (daemon stopping) or our own bug: never orphan it
            await self._stop(proc)
            raise
        finally:
            _kill_group(proc.pid, signal.SIGKILL)  # leftovers of the group, if any
        return self._result(job, code, output, tail, time.monotonic() - started)

    async def _spawn(self) -> asyncio.subprocess.Process:
        """Start the worker in its own process group, even when cancelled meanwhile.

        A cancellation while asyncio is still connecting the pipes makes asyncio kill the
        worker alone, leaving anything it started; so creation is shielded, and a
        cancelled start is finished and then stopped as a whole group.
        """
        spawn = asyncio.ensure_future(
            asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        )
        try:
            return await asyncio.shield(spawn)
        except asyncio.CancelledError:
            proc = await spawn
            try:
                await self._stop(proc)
            finally:
                _kill_group(proc.pid, signal.SIGKILL)
            raise

    def _result(
        self, job: str, code: int, output: bytes, tail: Sequence[str], elapsed_s: float
    ) -> Any:
        if code != 0:
            how = _how_it_ended(code)
            last = f": {tail[-1]}" if tail else ""
            raise WorkerError(f"{job} worker failed ({how}){last}"[:500])
        try:
            envelope = json.loads(output)
            result = envelope["result"]
            self.last_peak_rss_kb = int(envelope["peak_rss_kb"])
        except (ValueError, KeyError, TypeError) as exc:
            raise WorkerError(f"{job} worker sent no valid result ({exc})") from None
        log.info(
            "%s worker: done in %.1f s, peak RSS %.1f MB, %d kB of results",
            job,
            elapsed_s,
            self.last_peak_rss_kb / 1024,
            len(output) // 1024,
        )
        return result

    async def _stop(self, proc: asyncio.subprocess.Process) -> None:
        """SIGTERM to the worker's group, SIGKILL after the grace; reaped either way."""
        if proc.returncode is not None:
            return
        _kill_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), self.stop_grace_s)
        except TimeoutError:
            _kill_group(proc.pid, signal.SIGKILL)
            await asyncio.shield(proc.wait())
        except asyncio.CancelledError:  # cancelled again while stopping: do not leave it
            _kill_group(proc.pid, signal.SIGKILL)
            raise


def _how_it_ended(code: int) -> str:
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _talk(proc: asyncio.subprocess.Process, payload: bytes) -> bytes:
    """Write the request, close stdin, read stdout to EOF (bounded)."""
    assert proc.stdin is not None and proc.stdout is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # it died early
        proc.stdin.write(payload)
        await proc.stdin.drain()
    proc.stdin.close()
    chunks: list[bytes] = []
    size = 0
    while chunk := await proc.stdout.read(65536):
        size += len(chunk)
        if size > MAX_OUTPUT_BYTES:
            raise WorkerError(f"worker output over {MAX_OUTPUT_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _forward_stderr(proc: asyncio.subprocess.Process, tail: collections.deque[str]) -> None:
    """The worker's log lines go to the daemon's stderr (journald); the last few are kept
    to say why it failed."""
    assert proc.stderr is not None
    while line := await proc.stderr.readline():
        text = line.decode("utf-8", errors="replace").rstrip()
        if text:
            tail.append(text)
            sys.stderr.write(f"worker[{proc.pid}] {text}\n")
    sys.stderr.flush()
