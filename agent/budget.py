"""Monthly data budget, for schools on 4G or satellite that pay by the gigabyte.

Bytes are counted per calendar month in the school's time zone (that is how plans
bill), persisted in a small JSON file in the state directory with an atomic write
(temp file, fsync, rename), so a power cut never loses or corrupts the count. A test
is refused unless its *worst case* fits in what is left: we never find out after the
fact that the budget was exceeded.

If the file is unreadable we assume the month is spent (and say so): overspending a
4G plan costs the school money, skipping tests for the rest of a month costs nothing.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

FILE_NAME = "data_budget.json"
FORMAT_VERSION = 1
KEEP_MONTHS = 13  # a year of history for the status page, plus the current month
MB = 1_000_000  # bytes; plans are sold in decimal units


@dataclass(frozen=True)
class BudgetStatus:
    """What the status page shows."""

    month: str
    limit_bytes: int | None  # None: no budget configured
    used_bytes: int

    @property
    def remaining_bytes(self) -> int | None:
        return None if self.limit_bytes is None else max(0, self.limit_bytes - self.used_bytes)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


class DataBudget:
    """Bytes used per month, persisted in `state_dir/data_budget.json`."""

    def __init__(
        self,
        state_dir: Path,
        monthly_limit_bytes: int,
        timezone: str = "Europe/Paris",
        now: datetime | None = None,
    ) -> None:
        if monthly_limit_bytes < 0:
            raise ValueError("monthly_limit_bytes must be ≥ 0 (0 means no budget)")
        self.path = state_dir / FILE_NAME
        self.limit = monthly_limit_bytes or None
        self.zone = ZoneInfo(timezone)
        self._lock = threading.Lock()
        self._now_month = self.month_of(now or datetime.now(UTC))
        self._spent_unknown: str | None = None  # the month whose count was lost
        self._months = self._load()

    @classmethod
    def from_mb(cls, state_dir: Path, monthly_budget_mb: int, timezone: str) -> DataBudget:
        """From `MeasurementSettings.monthly_budget_mb` (0 = unlimited)."""
        return cls(state_dir, monthly_budget_mb * MB, timezone)

    def month_of(self, when: datetime) -> str:
        if when.tzinfo is None:
            raise ValueError("naive datetime: times must be timezone-aware")
        return when.astimezone(self.zone).strftime("%Y-%m")

    def _load(self) -> dict[str, int]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            months = raw["months"]
            if raw.get("version") != FORMAT_VERSION or not isinstance(months, dict):
                raise ValueError("unknown format")
            return {str(k): int(v) for k, v in months.items() if int(v) >= 0}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.error(
                "data budget %s unreadable (%s): assuming this month is spent", self.path, exc
            )
            self._spent_unknown = self._now_month
            return {}

    def _save(self) -> None:
        keep = dict(sorted(self._months.items())[-KEEP_MONTHS:])
        payload = json.dumps({"version": FORMAT_VERSION, "months": keep}, indent=1)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".budget-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def used(self, when: datetime) -> int:
        month = self.month_of(when)
        if month == self._spent_unknown and self.limit is not None and month not in self._months:
            return self.limit
        return self._months.get(month, 0)

    def status(self, when: datetime) -> BudgetStatus:
        return BudgetStatus(self.month_of(when), self.limit, self.used(when))

    def check(self, worst_case_bytes: int, when: datetime) -> Decision:
        """Allowed only if the test's worst case fits in what is left this month."""
        if self.limit is None:
            return Decision(True, "no data budget configured")
        left = max(0, self.limit - self.used(when))
        if worst_case_bytes > left:
            return Decision(
                False,
                f"data budget: test may use up to {worst_case_bytes / MB:.0f} MB but only "
                f"{left / MB:.0f} MB of {self.limit / MB:.0f} MB are left in {self.month_of(when)}",
            )
        return Decision(True, f"{left / MB:.0f} MB left in {self.month_of(when)}")

    def record(self, used_bytes: int, when: datetime) -> BudgetStatus:
        """Adds what a test (or a failed one) really used, and persists it at once."""
        if used_bytes < 0:
            raise ValueError("used_bytes must be ≥ 0")
        with self._lock:
            month = self.month_of(when)
            self._months[month] = self.used(when) + used_bytes
            self._save()
        return self.status(when)
