"""Delivers the spool to the collector: in order, signed at send time, retried with care.

One HTTP/1.1 keep-alive connection carries the backlog in sequence order; each
snapshot is acknowledged in the spool only after the collector's 2xx (the
collector is idempotent on agent id + seq, so a resend after a lost answer is
harmless). Transient failures (network, timeouts, 408, 429, 5xx, 401) stop the
pass and back off exponentially with full jitter, capped; `Retry-After` wins when
the collector sends one. Any other 4xx is about the snapshot itself, so it goes
to the dead-letter table, where the status page shows it and an operator can
retry it.

401 is never a property of a stored snapshot (signatures are made at send time),
so it is treated as agent-wide and transient. For clock skew the collector says
by how much; the skew is recorded for the status page and the next signatures'
`created` is corrected by it, so a Raspberry Pi without RTC or NTP still delivers.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

import httpx

from agent.config import AgentSettings
from agent.keys import AgentKey, KeyFileError, load_key, load_or_create_key
from agent.signing import ENROLL_PATH, SNAPSHOTS_PATH, signed_post
from agent.snapshot import SnapshotContent
from agent.spool import LinkStatus, Spool, SpoolItem
from probes.tls import verified_context

log = logging.getLogger(__name__)

DEFAULT_BASE_BACKOFF_S = 2.0
DEFAULT_MAX_BACKOFF_S = 3600.0  # issue 5: capped at one hour by default
IDLE_POLL_S = 60.0  # also picks up snapshots another process (the CLI) spooled
PAGE = 200  # rows read from the spool per query while draining


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter (AWS architecture blog, 2015): spreads a fleet."""

    base_s: float = DEFAULT_BASE_BACKOFF_S
    cap_s: float = DEFAULT_MAX_BACKOFF_S

    def delay(self, failures: int, rng: random.Random) -> float:
        ceiling = min(self.cap_s, self.base_s * 2.0 ** min(max(failures - 1, 0), 60))
        return rng.uniform(0, ceiling)


@dataclass(frozen=True)
class SendResult:
    kind: Literal["stored", "dead_letter", "retry"]
    status: int | None
    reason: str
    retry_after_s: float | None = None
    skew_s: float | None = None


@dataclass(frozen=True)
class DrainReport:
    stored: int = 0
    dead_lettered: int = 0
    failure: SendResult | None = None
    delay_s: float = 0.0


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a Retry-After header (delay-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def classify(response: httpx.Response, now: float) -> SendResult:
    """What a collector answer means for the snapshot that was sent."""
    status = response.status_code
    code, detail, skew = _error_body(response)
    reason = f"HTTP {status}" + (f" {code}: {detail}" if code else "")
    if 200 <= status < 300:
        return SendResult("stored", status, "stored")
    retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    if status == 401:
        return SendResult(
            "retry", status, reason, retry_after, skew if code == "clock_skew" else None
        )
    if status in (408, 429) or status >= 500:
        return SendResult("retry", status, reason, retry_after)
    return SendResult("dead_letter", status, reason)


def _error_body(response: httpx.Response) -> tuple[str, str, float | None]:
    try:
        data = response.json()
    except ValueError:
        return "", response.text[:200], None
    if not isinstance(data, dict):
        return "", "", None
    skew = data.get("skew_s")
    return (
        str(data.get("error", ""))[:64],
        str(data.get("detail", ""))[:300],
        float(skew) if isinstance(skew, int | float) else None,
    )


class Uploader:
    """Drains one spool to one collector. Not thread-safe: one per event loop."""

    def __init__(
        self,
        spool: Spool,
        key: AgentKey,
        collector_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 20.0,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.spool = spool
        self._clock = clock  # injectable: tests play a Raspberry Pi with a wrong clock
        self.key = key
        self.url = collector_url.rstrip("/") + SNAPSHOTS_PATH
        self.backoff = backoff or Backoff()
        self._rng = rng or random.Random()
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            verify=verified_context(),
        )
        self._status = spool.link_status()
        self._clock_offset_s = self._status.clock_offset_s  # learned earlier, kept across runs

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> Uploader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def status(self) -> LinkStatus:
        return self._status

    async def send(self, item: SpoolItem) -> SendResult:
        """Sign now (with any learned clock correction) and post one snapshot."""
        created = datetime.fromtimestamp(self._clock() + self._clock_offset_s, UTC)
        request = signed_post(self.url, item.body, self.key, created=created)
        try:
            response = await self._client.send(request)
            await response.aread()
        except httpx.TimeoutException as exc:
            return SendResult("retry", None, f"timeout: {type(exc).__name__}")
        except httpx.TransportError as exc:
            return SendResult("retry", None, f"network: {type(exc).__name__}: {exc}"[:300])
        return classify(response, time.time())

    async def drain(self, *, until_seq: int | None = None) -> DrainReport:
        """Send everything pending in order; stop at the first transient failure."""
        stored = dead = 0
        while True:
            batch = self.spool.pending(PAGE)
            if until_seq is not None:
                batch = [item for item in batch if item.seq <= until_seq]
            if not batch:
                self._record_success(stored)
                return DrainReport(stored, dead)
            for item in batch:
                result = await self.send(item)
                if result.kind == "stored":
                    self.spool.ack(item.seq)
                    stored += 1
                elif result.kind == "dead_letter":
                    self.spool.dead_letter(item.seq, result.status or 0, result.reason)
                    log.warning("snapshot %d refused by the collector: %s", item.seq, result.reason)
                    dead += 1
                else:
                    self._record_success(stored)
                    delay = self._record_failure(item, result)
                    return DrainReport(stored, dead, result, delay)

    def _record_success(self, stored: int) -> None:
        if stored == 0:
            return
        self._status = replace(self._status, last_success_at=time.time(), consecutive_failures=0)
        self.spool.set_link_status(self._status)

    def _record_failure(self, item: SpoolItem, result: SendResult) -> float:
        failures = self._status.consecutive_failures + 1
        skew = self._status.clock_skew_s
        if result.skew_s is not None:
            skew = result.skew_s
            self._clock_offset_s -= result.skew_s
        self._status = replace(
            self._status,
            last_error=result.reason,
            last_error_at=time.time(),
            clock_skew_s=skew,
            consecutive_failures=failures,
            clock_offset_s=self._clock_offset_s,
        )
        self.spool.record_failure(item.seq, result.reason)
        self.spool.set_link_status(self._status)
        if failures == 1:
            log.warning("collector unreachable or refusing, will retry: %s", result.reason)
        else:
            log.debug("collector still failing (%d): %s", failures, result.reason)
        if result.skew_s is not None:
            return 0.0 if failures <= 2 else self.backoff.delay(failures, self._rng)
        if result.retry_after_s is not None:
            return min(result.retry_after_s, self.backoff.cap_s)
        return self.backoff.delay(failures, self._rng)

    async def run(self, stop: asyncio.Event, wake: asyncio.Event | None = None) -> None:
        """The daemon's delivery loop: drain, then sleep (backoff or idle) until woken."""
        wake = wake or asyncio.Event()
        while not stop.is_set():
            wake.clear()
            report = await self.drain()
            pause = report.delay_s if report.failure else IDLE_POLL_S
            sleepers = {asyncio.ensure_future(stop.wait())}
            if report.failure is None:
                sleepers.add(asyncio.ensure_future(wake.wait()))
            _, waiting = await asyncio.wait(sleepers, timeout=pause, return_when="FIRST_COMPLETED")
            for task in waiting:
                task.cancel()


# --- functions for agent/cli.py -------------------------------------------------------


class DeliveryError(Exception):
    """Enrolment or an immediate send that did not succeed; the message says why."""


@dataclass(frozen=True)
class EnrolResult:
    agent_id: str
    uai: str
    collector_url: str


@dataclass(frozen=True)
class DeliveryOutcome:
    seq: int
    stored: bool
    reason: str


def _collector_url(settings: AgentSettings, override: str | None) -> str:
    url = (override or settings.collector.url or "").rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise DeliveryError("no collector URL: set collector.url or pass --collector URL")
    return url


async def enroll_async(
    settings: AgentSettings,
    token: str,
    collector_url: str | None = None,
    *,
    client: httpx.AsyncClient | None = None,
) -> EnrolResult:
    """Register this agent's public key with the collector, proving possession by signing."""
    url = _collector_url(settings, collector_url)
    key = load_or_create_key(settings.paths.state_dir)
    uai = settings.school.uai
    body = json.dumps({"token": token, "uai": uai, "public_key": key.public_key_text}).encode()
    request = signed_post(url + ENROLL_PATH, body, key, gzip_encoded=False)
    own = client is None
    http = client or httpx.AsyncClient(timeout=settings.collector.timeout_s)
    try:
        response = await http.send(request)
    except httpx.TransportError as exc:
        raise DeliveryError(f"cannot reach {url}: {type(exc).__name__}") from None
    finally:
        if own:
            await http.aclose()
    if response.status_code != 201:
        code, detail, _ = _error_body(response)
        raise DeliveryError(f"enrolment refused (HTTP {response.status_code} {code}): {detail}")
    return EnrolResult(key.agent_id, uai, url)


def enroll(settings: AgentSettings, token: str, collector_url: str | None = None) -> EnrolResult:
    """`socle-agent enroll --token T [--collector URL]` (the token is never logged)."""
    return asyncio.run(enroll_async(settings, token, collector_url))


async def send_snapshot_now_async(
    settings: AgentSettings,
    content: SnapshotContent,
    *,
    collector_url: str | None = None,
    client: httpx.AsyncClient | None = None,
) -> DeliveryOutcome:
    """Spool `content` as a new snapshot, then deliver the queue up to it, once."""
    url = _collector_url(settings, collector_url)
    try:
        key = load_key(settings.paths.state_dir)
    except KeyFileError as exc:
        raise DeliveryError(str(exc)) from None
    with Spool.in_state_dir(settings.paths.state_dir) as spool:
        seq = spool.enqueue_snapshot(content, agent_id=key.agent_id, uai=settings.school.uai)
        async with Uploader(
            spool, key, url, client=client, timeout_s=settings.collector.timeout_s
        ) as uploader:
            report = await uploader.drain(until_seq=seq)
        if report.failure is not None:
            return DeliveryOutcome(
                seq, False, f"not delivered, kept in the spool: {report.failure.reason}"
            )
        refused = spool.dead_letter_reason(seq)
        if refused is not None:
            return DeliveryOutcome(seq, False, f"refused by the collector: {refused[1]}")
        return DeliveryOutcome(seq, True, "stored by the collector")


def send_snapshot_now(
    settings: AgentSettings, content: SnapshotContent, collector_url: str | None = None
) -> DeliveryOutcome:
    """`socle-agent snapshot --send`: exit 0 only if `outcome.stored`."""
    return asyncio.run(send_snapshot_now_async(settings, content, collector_url=collector_url))
