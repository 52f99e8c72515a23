"""Hours each access point stays on outside lesson hours (Europe/Paris, DST, holidays)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.assess_model import PresenceRecord
from agent.config import Holiday, ScheduleSettings
from agent.wifi_ontime import lesson_intervals, state_intervals, subtract, union_hours, wifi_on_time
from tests.agent.test_assess_support import NOW, presence

PARIS = ZoneInfo("Europe/Paris")
SCHEDULE = ScheduleSettings()  # Mon/Tue/Thu/Fri 08:30-11:30 and 13:30-16:30
LESSON_H_IN_WINDOW = 24.0  # Fri pm + Mon + Tue + Thu + Fri am before 13:00 Paris


def in_lessons(at: datetime) -> bool:
    local = at.astimezone(PARIS)
    if local.weekday() in (2, 5, 6):
        return False
    minutes = local.hour * 60 + local.minute
    return 510 <= minutes < 690 or 810 <= minutes < 990


def test_lesson_intervals_for_the_window() -> None:
    periods = lesson_intervals(SCHEDULE, NOW - timedelta(days=7), NOW)
    assert union_hours(periods) == pytest.approx(LESSON_H_IN_WINDOW)
    first = periods[0]
    assert first[0].astimezone(PARIS).strftime("%a %H:%M") == "Fri 13:30"


def test_lesson_intervals_follow_daylight_saving_time() -> None:
    # Paris switches to summer time on Sunday 30 March 2025
    start = datetime(2025, 3, 28, tzinfo=UTC)
    periods = lesson_intervals(SCHEDULE, start, start + timedelta(days=4))
    starts = [begin for begin, _ in periods if begin.astimezone(PARIS).hour == 8]
    assert [begin.astimezone(UTC).hour for begin in starts] == [7, 6]  # 08:30 CET, then CEST


def test_holidays_have_no_lessons() -> None:
    holiday = Holiday(start=date(2025, 3, 7), end=date(2025, 3, 14), name="hiver")
    schedule = ScheduleSettings(holidays=[holiday])
    assert lesson_intervals(schedule, NOW - timedelta(days=7), NOW) == []


def test_ap_on_all_night_is_on_every_hour_outside_lessons() -> None:
    report = wifi_on_time(presence("ap1", lambda at: True), SCHEDULE, NOW)
    (ap,) = report.access_points
    assert ap.observed_outside_h == pytest.approx(168 - LESSON_H_IN_WINDOW)
    assert ap.on_outside_h == pytest.approx(168 - LESSON_H_IN_WINDOW)
    assert ap.on_lessons_h == pytest.approx(LESSON_H_IN_WINDOW)
    assert ap.ever_off is False
    assert ap.last_off is None
    assert report.school_on_outside_h == pytest.approx(144.0)


def test_ap_off_outside_lessons_is_never_on_outside() -> None:
    report = wifi_on_time(presence("ap1", in_lessons), SCHEDULE, NOW)
    (ap,) = report.access_points
    assert ap.on_outside_h == 0
    assert ap.on_lessons_h == pytest.approx(LESSON_H_IN_WINDOW)
    assert ap.ever_off is True
    assert ap.last_off is not None


def test_missed_cycles_are_not_observed_rather_than_on() -> None:
    records = [PresenceRecord(device_id="ap", at=NOW - timedelta(days=6), present=True)]
    report = wifi_on_time(records, SCHEDULE, NOW, max_gap=timedelta(minutes=90))
    assert report.access_points[0].observed_outside_h == pytest.approx(1.5)


def test_school_hours_count_overlapping_aps_once() -> None:
    records = presence("ap1", lambda at: True) + presence("ap2", lambda at: True)
    report = wifi_on_time(records, SCHEDULE, NOW, labels={"ap1": "Borne CP"}, rooms={"ap1": "CP"})
    assert [ap.label for ap in report.access_points] == ["Borne CP", "ap2"]
    assert report.access_points[0].room == "CP"
    assert report.school_on_outside_h == pytest.approx(144.0)


def test_records_outside_the_window_are_ignored() -> None:
    old = presence("ap1", lambda at: True, days=20)
    old = [record for record in old if record.at < NOW - timedelta(days=8)]
    report = wifi_on_time(old, SCHEDULE, NOW)
    assert report.access_points[0].observed_outside_h == 0


def test_state_intervals_and_subtract() -> None:
    t0 = NOW
    records = [
        PresenceRecord(device_id="a", at=t0, present=True),
        PresenceRecord(device_id="a", at=t0 + timedelta(minutes=30), present=False),
    ]
    spans = state_intervals(records, t0, t0 + timedelta(hours=5), timedelta(minutes=60))
    assert spans == [
        (t0, t0 + timedelta(minutes=30), True),
        (t0 + timedelta(minutes=30), t0 + timedelta(minutes=90), False),
    ]
    hole = [(t0 + timedelta(minutes=10), t0 + timedelta(minutes=20))]
    pieces = subtract([(t0, t0 + timedelta(minutes=30))], hole)
    assert union_hours(pieces) == pytest.approx(20 / 60)


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 7 * 24 * 60), st.booleans()),
        max_size=60,
    )
)
def test_on_time_never_exceeds_observed_time(samples: list[tuple[str, int, bool]]) -> None:
    records = [
        PresenceRecord(device_id=ap, at=NOW - timedelta(minutes=minutes), present=on)
        for ap, minutes, on in samples
    ]
    report = wifi_on_time(records, SCHEDULE, NOW)
    for ap in report.access_points:
        assert 0 <= ap.on_outside_h <= ap.observed_outside_h + 1e-6
        assert ap.observed_outside_h <= 168 - LESSON_H_IN_WINDOW + 1e-6
    assert report.school_on_outside_h <= report.school_observed_outside_h + 1e-6
    assert report.school_on_outside_h <= sum(ap.on_outside_h for ap in report.access_points) + 0.1
