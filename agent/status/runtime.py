"""What the status page shows that is not in the state store: the daemon's live facts.

The daemon hands `create_status_app` a callable returning a fresh `RuntimeInfo`, so every
page shows the current uptime, queue depth and next runs without the status package
reaching into the scheduler or the spool (data flows down, never back up). The callable
is invoked from request worker threads: it should only read attributes, never block.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SpoolStats(_Frozen):
    """The delivery queue as the upload job last saw it."""

    depth: int = Field(0, ge=0)
    dead_letters: int = Field(0, ge=0)
    dropped: int = Field(0, ge=0)
    last_success_at: AwareDatetime | None = None
    clock_skew_s: float | None = None  # collector's clock minus ours, as it reported
    last_error: str | None = None


class DataBudget(_Frozen):
    """Bytes spent on throughput tests this month; `limit_bytes` None means no cap."""

    used_bytes: int = Field(0, ge=0)
    limit_bytes: int | None = Field(None, ge=0)

    @property
    def ratio(self) -> float | None:
        if not self.limit_bytes:
            return None
        return self.used_bytes / self.limit_bytes


class RuntimeInfo(_Frozen):
    version: str
    started_at: AwareDatetime
    next_runs: dict[str, AwareDatetime | None] = {}
    spool: SpoolStats = SpoolStats()
    clock_synchronised: bool | None = None
    data_budget: DataBudget | None = None

    def uptime_s(self, now: datetime | None = None) -> float:
        return max(0.0, ((now or datetime.now(UTC)) - self.started_at).total_seconds())


RuntimeSource = Callable[[], RuntimeInfo]
