"""When may a saturating test run? Outside lesson hours, in the school's own time zone.

A school link is small and shared: a 10-second saturating test during a lesson can
freeze a class video. The schedule comes from `ScheduleSettings` — lesson ranges per
weekday (Wednesday afternoon and weekends are simply days or ranges without lessons),
plus holidays — read in Europe/Paris (or the configured zone), never in UTC, so the
rule holds across daylight-saving changes. A light probe (latency and ≤ 1 s of
transfer) ignores this gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agent.config import WEEKDAYS, Holiday, ScheduleSettings, TimeRange

MAX_STEPS = 64  # ranges and holidays to hop over when looking for the next free slot


@dataclass(frozen=True)
class Blocked:
    """Why now is not allowed, and when it stops being so (local time)."""

    reason: str
    until: datetime


class LessonCalendar:
    """Answers "is this instant inside lesson hours?" and "when is the next free slot?"."""

    def __init__(self, schedule: ScheduleSettings, margin_min: float = 0.0) -> None:
        self.schedule = schedule
        self.zone = ZoneInfo(schedule.timezone)
        self.margin = timedelta(minutes=margin_min)  # pupils arrive before, leave after

    def _local(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise ValueError("naive datetime: times must be timezone-aware")
        return when.astimezone(self.zone)

    def holiday(self, day: date) -> Holiday | None:
        for holiday in self.schedule.holidays:
            if holiday.start <= day <= holiday.end:
                return holiday
        return None

    def _ranges(self, day: date) -> list[TimeRange]:
        return list(self.schedule.lesson_hours.get(WEEKDAYS[day.weekday()], []))

    def blocked(self, when: datetime) -> Blocked | None:
        """None when a saturating test may run at `when`; else why and until when."""
        local = self._local(when)
        day = local.date()
        if self.holiday(day) is not None:
            return None
        for lesson in self._ranges(day):
            start = self._at(day, lesson.start) - self.margin
            end = self._at(day, lesson.end) + self.margin
            if start <= local < end:
                name = WEEKDAYS[day.weekday()]
                span = f"{lesson.start:%H:%M}–{lesson.end:%H:%M}"
                return Blocked(f"lesson hours ({name} {span}, {self.schedule.timezone})", end)
        return None

    def _at(self, day: date, clock: time) -> datetime:
        # fold=0 and ZoneInfo handle the DST hour consistently; lessons never sit in it.
        return datetime.combine(day, clock, tzinfo=self.zone)

    def allows_saturating(self, when: datetime) -> bool:
        return self.blocked(when) is None

    def next_allowed(self, when: datetime) -> datetime:
        """The first instant at or after `when` outside lesson hours (same instant if free)."""
        current = self._local(when)
        for _ in range(MAX_STEPS):
            block = self.blocked(current)
            if block is None:
                return current
            current = block.until
        raise RuntimeError("no free slot found: lesson hours cover every day?")
