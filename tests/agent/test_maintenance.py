"""Maintenance actions: toner, lamps, error flags, devices not seen for days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from agent.assess_model import Supply
from agent.maintenance import maintenance_actions, supply_percent
from tests.agent.test_assess_support import NOW, REFERENTIAL, device, make_input, run

SPEC = REFERENTIAL.maintenance  # toner 10 %, lamp 4000 h, warn at 90 %, 7 days


def kinds(**extra: Any) -> list[tuple[str, str]]:
    actions = maintenance_actions([device("d", "printer", **extra)], SPEC, NOW)
    return [(action.kind, action.severity) for action in actions]


@pytest.mark.parametrize(
    ("supplies", "expected"),
    [
        ([Supply(description="Black", percent=50)], []),
        ([Supply(description="Black", percent=10)], [("toner_low", "warning")]),
        ([Supply(description="Black", percent=10.5)], []),
        ([Supply(description="Black", percent=0)], [("toner_empty", "critical")]),
        ([Supply(description="Cyan", level=0, max=100)], [("toner_empty", "critical")]),
        ([Supply(description="Cyan", level=5, max=100)], [("toner_low", "warning")]),
        ([Supply(description="Cyan", level=-3, max=100)], []),  # "some remaining"
        ([Supply(description="Cyan", level=-2)], []),  # unknown
        (
            [Supply(description="Black", percent=3), Supply(description="Cyan", percent=0)],
            [("toner_empty", "critical"), ("toner_low", "warning")],
        ),
    ],
)
def test_toner(supplies: list[Supply], expected: list[tuple[str, str]]) -> None:
    assert kinds(supplies=supplies) == expected


def test_supply_percent_from_level_and_max() -> None:
    assert supply_percent(Supply(level=250, max=1000)) == 25.0
    assert supply_percent(Supply(level=250)) is None


@pytest.mark.parametrize(
    ("hours", "expected"),
    [
        ([3599], []),
        ([3600], [("lamp_near_end", "warning")]),
        ([3999], [("lamp_near_end", "warning")]),
        ([4000], [("lamp_past_end", "critical")]),
        ([100, 4100], [("lamp_past_end", "critical")]),
    ],
)
def test_lamp_hours(hours: list[int], expected: list[tuple[str, str]]) -> None:
    assert kinds(lamp_hours=hours) == expected


def test_lamp_rated_life_per_model() -> None:
    spec = SPEC.model_copy(update={"lamp_rated_hours_by_model": {"EB-X41": 6000}})
    projector = device("p", "projector", model="eb-x41", lamp_hours=[4500])
    assert maintenance_actions([projector], spec, NOW) == []
    other = device("q", "projector", model="EB-W05", lamp_hours=[4500])
    assert [a.kind for a in maintenance_actions([other], spec, NOW)] == ["lamp_past_end"]


def test_lamp_message() -> None:
    projector = device(
        "p", "projector", vendor="Epson", model="EB-X41", ip="10.0.0.21", lamp_hours=[3700]
    )
    (action,) = maintenance_actions([projector], SPEC, NOW)
    assert action.message.fr == (
        "Epson EB-X41 (10.0.0.21) : lampe à 3700 h pour une durée de vie de 4000 h, "
        "prévoir le remplacement"
    )


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ({"fan": "ok", "lamp": "ok"}, []),
        ({"filter": "warning"}, [("error", "warning")]),
        ({"lamp": "error", "cover": "warning"}, [("error", "critical"), ("error", "warning")]),
    ],
)
def test_error_flags(errors: dict[str, str], expected: list[tuple[str, str]]) -> None:
    assert kinds(errors=errors) == expected


def test_error_message_is_in_french_words() -> None:
    (action,) = maintenance_actions([device("p", "projector", errors={"lamp": "error"})], SPEC, NOW)
    assert "lampe en erreur" in action.message.fr
    assert "lamp error" in action.message.en


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (None, []),
        (0, []),
        (6.9, []),
        (7, [("not_seen", "warning")]),
        (30, [("not_seen", "warning")]),
    ],
)
def test_not_seen(days: float | None, expected: list[tuple[str, str]]) -> None:
    last_seen = None if days is None else NOW - timedelta(days=days)
    assert kinds(last_seen=last_seen) == expected


def test_actions_come_with_the_assessment_critical_first() -> None:
    devices = [
        device("a", "printer", supplies=[Supply(description="Black", percent=5)]),
        device("b", "projector", lamp_hours=[4200]),
    ]
    assessment = run(make_input(3, devices=devices))
    assert [action.severity for action in assessment.maintenance] == ["critical", "warning"]
    assert assessment.maintenance[0].device_id == "b"
