"""How long each Wi-Fi access point stayed on outside lesson hours.

French law (loi 2015-136, art. 7) wants Wi-Fi off in elementary schools outside digital
teaching activities, and the referential asks for a "débrayable" access point. The
agent cannot see a switch; it sees, each discovery cycle, whether an AP answered. Each
record is taken to hold until the next one, but never longer than `max_gap` (a missed
cycle is "not observed", not "on"). Lesson hours are local (Europe/Paris by default,
DST included) and holidays have none, so a whole holiday counts as "outside lessons".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from agent.assess_model import ApOnTime, PresenceRecord, WifiOnTime
from agent.config import WEEKDAYS, ScheduleSettings

Interval = tuple[datetime, datetime]

DEFAULT_MAX_GAP = timedelta(minutes=90)  # a bit more than two 30-min discovery cycles
_HOUR_S = 3600.0


def lesson_intervals(schedule: ScheduleSettings, start: datetime, end: datetime) -> list[Interval]:
    """Lesson periods (UTC-aware) overlapping [start, end), clipped to it, sorted."""
    zone = ZoneInfo(schedule.timezone)
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    periods: list[Interval] = []
    day = first
    while day <= last:
        if not _is_holiday(schedule, day):
            for period in schedule.lesson_hours.get(WEEKDAYS[day.weekday()], []):
                begin = datetime.combine(day, period.start, tzinfo=zone)
                finish = datetime.combine(day, period.end, tzinfo=zone)
                clipped = (max(begin, start), min(finish, end))
                if clipped[0] < clipped[1]:
                    periods.append(clipped)
        day += timedelta(days=1)
    return sorted(periods)


def _is_holiday(schedule: ScheduleSettings, day: date) -> bool:
    return any(holiday.start <= day <= holiday.end for holiday in schedule.holidays)


def state_intervals(
    records: Sequence[PresenceRecord], start: datetime, end: datetime, max_gap: timedelta
) -> list[tuple[datetime, datetime, bool]]:
    """(from, to, present) for one AP: each record holds until the next, capped by max_gap."""
    ordered = sorted(records, key=lambda record: record.at)
    spans: list[tuple[datetime, datetime, bool]] = []
    for index, record in enumerate(ordered):
        until = record.at + max_gap
        if index + 1 < len(ordered):
            until = min(until, ordered[index + 1].at)
        begin, finish = max(record.at, start), min(until, end)
        if begin < finish:
            spans.append((begin, finish, record.present))
    return spans


def subtract(spans: Iterable[Interval], holes: Sequence[Interval]) -> list[Interval]:
    """The parts of `spans` outside every hole (holes sorted and non-overlapping)."""
    pieces: list[Interval] = []
    for begin, finish in spans:
        cursor = begin
        for hole_start, hole_end in holes:
            if hole_end <= cursor or hole_start >= finish:
                continue
            if hole_start > cursor:
                pieces.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
        if cursor < finish:
            pieces.append((cursor, finish))
    return pieces


def union_hours(spans: Iterable[Interval]) -> float:
    """Total length of the union of intervals, in hours (an hour two APs share counts once)."""
    total = 0.0
    current: Interval | None = None
    for begin, finish in sorted(spans):
        if current is None or begin > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = (begin, finish)
        else:
            current = (current[0], max(current[1], finish))
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total / _HOUR_S


def wifi_on_time(
    records: Sequence[PresenceRecord],
    schedule: ScheduleSettings,
    now: datetime,
    *,
    window_days: int = 7,
    max_gap: timedelta = DEFAULT_MAX_GAP,
    labels: Mapping[str, str] | None = None,
    rooms: Mapping[str, str | None] | None = None,
) -> WifiOnTime:
    """Per AP and for the school: hours observed and on outside lessons over the window."""
    start = now - timedelta(days=window_days)
    lessons = lesson_intervals(schedule, start, now)
    by_ap: dict[str, list[PresenceRecord]] = defaultdict(list)
    for record in records:
        by_ap[record.device_id].append(record)
    aps: list[ApOnTime] = []
    all_observed: list[Interval] = []
    all_on: list[Interval] = []
    for device_id in sorted(by_ap):
        spans = state_intervals(by_ap[device_id], start, now, max_gap)
        observed = subtract(((b, f) for b, f, _ in spans), lessons)
        on_spans = [(b, f) for b, f, present in spans if present]
        on_outside = subtract(on_spans, lessons)
        offs = [r.at for r in by_ap[device_id] if not r.present and start <= r.at <= now]
        all_observed.extend(observed)
        all_on.extend(on_outside)
        aps.append(
            ApOnTime(
                device_id=device_id,
                label=(labels or {}).get(device_id, device_id),
                room=(rooms or {}).get(device_id),
                observed_outside_h=round(union_hours(observed), 2),
                on_outside_h=round(union_hours(on_outside), 2),
                on_lessons_h=round(union_hours(on_spans) - union_hours(on_outside), 2),
                ever_off=bool(offs),
                last_off=max(offs) if offs else None,
            )
        )
    return WifiOnTime(
        window_start=start,
        window_end=now,
        access_points=aps,
        school_observed_outside_h=round(union_hours(all_observed), 2),
        school_on_outside_h=round(union_hours(all_on), 2),
    )
