"""Measured criteria: Wi-Fi switch-off and internet bandwidth, at their boundaries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from agent.assess_model import BandwidthSummary, PresenceRecord
from tests.agent.test_assess_support import NOW, criterion, device, make_input, presence
from tests.agent.test_wifi_ontime import in_lessons

AP = device("ap1", "access_point", vendor="Ubiquiti", model="UAP-AC-Lite", name="borne-cp")
AP2 = device("ap2", "access_point", vendor="Ubiquiti", model="UAP-AC-Lite", name="borne-cm")


def off_some_nights(at: datetime) -> bool:
    return in_lessons(at) or at.day % 2 == 0  # forgotten on every other night


@pytest.mark.parametrize(
    ("case", "devices", "records", "declared", "status"),
    [
        ("AP on all night", [AP], presence("ap1", lambda at: True), {}, "not_met"),
        ("AP off outside lessons", [AP], presence("ap1", in_lessons), {}, "met"),
        (
            "one AP off, one always on",
            [AP, AP2],
            presence("ap1", in_lessons) + presence("ap2", lambda at: True),
            {},
            "partly_met",
        ),
        ("AP off only some nights", [AP], presence("ap1", off_some_nights), {}, "partly_met"),
        ("too little history", [AP], presence("ap1", lambda at: True, days=1), {}, "unknown"),
        ("AP discovered, no history", [AP], [], {}, "unknown"),
        ("no AP, declared switchable", [], [], {"wifi_switchable": True}, "met"),
        ("no AP, declared not switchable", [], [], {"wifi_switchable": False}, "not_met"),
        ("no AP, nothing declared", [], [], {}, "not_applicable"),
        (
            "measurement wins over declaration",
            [AP],
            presence("ap1", lambda at: True),
            {"wifi_switchable": True},
            "not_met",
        ),
    ],
)
def test_wifi_switch_off(
    case: str,
    devices: list[Any],
    records: list[PresenceRecord],
    declared: dict[str, Any],
    status: str,
) -> None:
    result = criterion(make_input(8, declared, devices, presence=records), "wifi_switch_off")
    assert result.status == status, case


def test_wifi_on_all_night_fails_with_figures() -> None:
    result = criterion(
        make_input(8, {}, [AP], presence=presence("ap1", lambda at: True)), "wifi_switch_off"
    )
    assert result.message.fr.startswith(
        "Wi-Fi allumé 144 h sur 144 h observées hors temps de classe sur 7 jours"
    )
    assert "jamais éteinte(s) : Ubiquiti UAP-AC-Lite (borne-cp)" in result.message.fr
    assert "never switched off: Ubiquiti UAP-AC-Lite (borne-cp)" in result.message.en
    assert result.figures["on_outside_h"] == 144.0
    (item,) = result.items
    assert item.source == "discovered"


def test_wifi_ap_room_comes_from_the_declared_room() -> None:
    declared = {"classrooms": [{"name": "CP", "wifi_access_points": ["borne-cp"]}]}
    inp = make_input(8, declared, [AP], presence=presence("ap1", in_lessons))
    result = criterion(inp, "wifi_switch_off")
    assert result.items[0].room == "CP"


@pytest.mark.parametrize(("forgotten_h", "status"), [(14.4, "met"), (15.0, "partly_met")])
def test_wifi_tolerance_boundary(forgotten_h: float, status: str) -> None:
    """10 % of the 144 observed hours may be "on" (one evening forgotten)."""
    start = NOW - timedelta(days=2, hours=20)  # Tuesday 17:00 in Paris; Wednesday: no lessons
    end = start + timedelta(hours=forgotten_h)
    records = [
        PresenceRecord(
            device_id="ap1", at=record.at, present=record.present or start <= record.at < end
        )
        for record in presence("ap1", in_lessons, step_min=6)
    ]
    result = criterion(make_input(8, {}, [AP], presence=records), "wifi_switch_off")
    assert result.status == status


def bw(down: float | None, up: float | None = 50.0, tests: int = 20) -> BandwidthSummary:
    return BandwidthSummary(median_down_mbps=down, median_up_mbps=up, tests=tests, window_days=7)


@pytest.mark.parametrize(
    ("classes", "down", "status", "minimum"),
    [
        (3, 8.0, "met", 8),
        (3, 7.99, "not_met", 8),
        (5, 9.0, "met", 8),  # 5 classes: small
        (6, 9.0, "not_met", 10),  # 6 classes: medium
        (11, 10.0, "met", 10),  # 11 classes: medium
        (12, 12.0, "not_met", 15),  # 12 classes: large
        (16, 15.0, "met", 15),
    ],
)
def test_internet_minimum_by_size(classes: int, down: float, status: str, minimum: int) -> None:
    result = criterion(make_input(classes, bandwidth=bw(down)), "internet_minimum")
    assert result.status == status
    assert result.figures["minimum_down_mbps"] == minimum


def test_internet_minimum_message() -> None:
    result = criterion(make_input(3, bandwidth=bw(7.1)), "internet_minimum")
    assert result.message.fr == (
        "internet : 7,1 Mbit/s médian sur 7 jours (20 mesures), "
        "sous le minimum de 8 Mbit/s pour une petite école"
    )
    assert result.message.en == (
        "internet: 7.1 Mbit/s median over 7 days (20 tests), "
        "below the 8 Mbit/s minimum for a small school"
    )


@pytest.mark.parametrize(
    ("bandwidth", "status"),
    [
        (None, "unknown"),
        (bw(None), "unknown"),
        (bw(50.0, tests=2), "unknown"),
        (bw(50.0, tests=3), "met"),
    ],
)
def test_internet_unknown_without_enough_tests(
    bandwidth: BandwidthSummary | None, status: str
) -> None:
    for criterion_id in ("internet_minimum", "internet_desirable"):
        assert criterion(make_input(3, bandwidth=bandwidth), criterion_id).status == status


@pytest.mark.parametrize(
    ("classes", "down", "up", "status"),
    [
        (3, 15.0, 15.0, "met"),
        (3, 14.9, 15.0, "partly_met"),
        (3, 15.0, 14.9, "partly_met"),
        (3, 15.0, None, "partly_met"),
        (3, 9.0, 1.0, "not_met"),
        (8, 35.0, 20.0, "met"),
        (8, 34.0, 19.0, "not_met"),
        (16, 100.0, 45.0, "met"),
        (16, 100.0, 44.0, "partly_met"),
    ],
)
def test_internet_desirable(classes: int, down: float, up: float | None, status: str) -> None:
    result = criterion(make_input(classes, bandwidth=bw(down, up)), "internet_desirable")
    assert (result.status, result.level) == (status, "desirable")
