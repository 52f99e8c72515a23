"""Lesson-hours gate in Europe/Paris, across DST, holidays, Wednesdays and weekends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.config import Holiday, ScheduleSettings
from agent.lessons import LessonCalendar

PARIS = ZoneInfo("Europe/Paris")
CAL = LessonCalendar(ScheduleSettings())


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def test_monday_morning_is_lesson_time_in_winter_and_summer() -> None:
    assert not CAL.allows_saturating(paris(2026, 1, 12, 9, 0))  # CET
    assert not CAL.allows_saturating(paris(2026, 6, 15, 9, 0))  # CEST
    # 07:45 UTC is 08:45 in winter (lesson) …
    assert not CAL.allows_saturating(datetime(2026, 1, 12, 7, 45, tzinfo=UTC))
    # … and 09:45 in summer (lesson), while 06:45 UTC in summer is 08:45 too.
    assert CAL.allows_saturating(datetime(2026, 6, 15, 6, 15, tzinfo=UTC))  # 08:15 local


def test_lunch_evening_wednesday_weekend_are_free() -> None:
    assert CAL.allows_saturating(paris(2026, 1, 12, 12, 0))
    assert CAL.allows_saturating(paris(2026, 1, 12, 17, 0))
    assert CAL.allows_saturating(paris(2026, 1, 14, 10, 0))  # Wednesday
    assert CAL.allows_saturating(paris(2026, 1, 17, 10, 0))  # Saturday


def test_wednesday_morning_school_when_configured() -> None:
    schedule = ScheduleSettings.model_validate({"lesson_hours": {"wednesday": ["08:30-11:30"]}})
    cal = LessonCalendar(schedule)
    assert not cal.allows_saturating(paris(2026, 1, 14, 10, 0))
    assert cal.allows_saturating(paris(2026, 1, 14, 14, 0))  # Wednesday afternoon


def test_holidays_free_the_whole_day() -> None:
    schedule = ScheduleSettings(holidays=[Holiday(start=date(2026, 2, 7), end=date(2026, 2, 22))])
    assert LessonCalendar(schedule).allows_saturating(paris(2026, 2, 9, 10, 0))


def test_blocked_says_why_and_until_when() -> None:
    block = CAL.blocked(paris(2026, 1, 12, 9, 0))
    assert block is not None and "lesson hours" in block.reason and "monday" in block.reason
    assert block.until == paris(2026, 1, 12, 11, 30)


def test_next_allowed_hops_to_end_of_lesson() -> None:
    assert CAL.next_allowed(paris(2026, 1, 12, 9, 0)) == paris(2026, 1, 12, 11, 30)
    free = paris(2026, 1, 12, 12, 0)
    assert CAL.next_allowed(free) == free


def test_margin_widens_lessons() -> None:
    cal = LessonCalendar(ScheduleSettings(), margin_min=15)
    assert not cal.allows_saturating(paris(2026, 1, 12, 8, 20))
    assert cal.next_allowed(paris(2026, 1, 12, 11, 40)) == paris(2026, 1, 12, 11, 45)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        CAL.allows_saturating(datetime(2026, 1, 12, 9, 0))


@given(
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
    )
)
def test_next_allowed_is_always_allowed_and_not_before(when: datetime) -> None:
    slot = CAL.next_allowed(when)
    assert slot >= when and CAL.allows_saturating(slot)
