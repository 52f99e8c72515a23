"""The whole assessment: a chosen school yields exactly the expected checklist, summary,
JSON and terminal rendering."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

import agent.assess as assess_module
from agent.assess import EVALUATORS, assess, summarise
from agent.assess_model import Assessment, BandwidthSummary, Supply
from agent.assess_render import MARKERS, checklist_lines, render_checklist
from agent.referential import Criteria, load_referential
from tests.agent.test_assess_support import (
    NOW,
    REFERENTIAL,
    device,
    make_input,
    presence,
    rooms,
    run,
)
from tests.agent.test_wifi_ontime import in_lessons

HDMI = [{"kind": "projector", "connection": "hdmi"}]


def eight_classes() -> Any:
    """8 classes: 5 rooms declared (3 with HDMI projectors), 3 networked projectors found."""
    declared = {
        "classrooms": [
            *rooms(3, displays=HDMI, workstations=1, network_points=2),
            {"name": "CM1", "workstations": 1, "network_points": 2, "devices": ["10.0.1.1"]},
            {"name": "CM2", "workstations": 1, "network_points": 1},
            {"name": "Direction", "kind": "head_office", "workstations": 1},
        ],
        "mobile_packs": [
            {
                "devices": 15,
                "os": "iPadOS",
                "wifi_access_point": "borne-pack",
                "projection_device": True,
            },
            {
                "devices": 12,
                "os": "iPadOS",
                "wifi_access_point": "borne-pack",
                "projection_device": True,
            },
        ],
        "storage": ["ent"],
        "ent_name": "ENT 77",
    }
    devices = [
        device("p1", "projector", ip="10.0.1.1", vendor="Epson", model="EB-X41"),
        device("p2", "projector", ip="10.0.1.2", vendor="Epson", model="EB-X41", lamp_hours=[3800]),
        device("p3", "interactive_display", ip="10.0.1.3", vendor="Promethean"),
        device("ap", "access_point", name="borne-pack"),
        device("nas", "nas", vendor="Synology", model="DS220+"),
        device("mfp", "mfp", vendor="HP", supplies=[Supply(description="Black", percent=0)]),
    ]
    return make_input(
        8,
        declared,
        devices,
        personal={"computer": 6, "tablet_or_phone": 20},
        bandwidth=BandwidthSummary(median_down_mbps=9.4, median_up_mbps=2.1, tests=28),
        presence=presence("ap", in_lessons),
        name="École Jules Ferry",
    )


EXPECTED = {
    "classroom_display": "partly_met",  # 3 declared + 1 placed + 2 loose = 6 of 8
    "classroom_workstation": "met",  # 4 declared + computers seen cover the rest
    "document_camera": "not_met",
    "mobile_equipment": "met",
    "mobile_kit": "met",
    "head_office": "met",
    "network_points": "partly_met",
    "wifi_switch_off": "met",
    "storage": "met",
    "internet_minimum": "not_met",  # 9,4 < 10 for a medium school
    "internet_desirable": "not_met",
}


def test_eight_class_school_yields_exactly_the_expected_checklist() -> None:
    assessment = run(eight_classes())
    assert {r.id: r.status for r in assessment.criteria} == EXPECTED
    assert assessment.size == "medium"
    display = assessment.criterion("classroom_display")
    assert display.message.fr == (
        "2 classes sur 8 n'ont pas d'affichage collectif, ni découvert ni déclaré"
    )
    assert [(item.room, item.source) for item in display.items] == [
        ("C1", "declared"),
        ("C2", "declared"),
        ("C3", "declared"),
        ("CM1", "discovered"),  # placed by the declared room's `devices`
        (None, "discovered"),
        (None, "discovered"),
    ]
    summary = assessment.summary
    assert (summary.met, summary.judged, summary.unknown) == (6, 9, 0)
    assert [gap.id for gap in summary.gaps] == [
        "classroom_display",
        "network_points",
        "internet_minimum",
    ]
    assert [gap.id for gap in summary.recommendations] == ["document_camera", "internet_desirable"]
    assert [action.kind for action in assessment.maintenance] == ["toner_empty", "lamp_near_end"]


def test_assessment_round_trips_through_json() -> None:
    assessment = run(eight_classes())
    again = Assessment.model_validate_json(assessment.model_dump_json())
    assert again == assessment
    assert again.wifi is not None and again.wifi.access_points[0].on_outside_h == 0


def test_every_criterion_has_an_evaluator_and_the_reverse() -> None:
    assert list(EVALUATORS) == list(Criteria.model_fields)


def test_disabled_criteria_are_not_evaluated(tmp_path: Any) -> None:
    path = tmp_path / "c.toml"
    path.write_text('extends = "builtin"\n[criteria.internet_desirable]\nenabled = false\n')
    assessment = assess(make_input(3), load_referential(path))
    assert "internet_desirable" not in [r.id for r in assessment.criteria]


def test_empty_school_is_unknown_not_failing() -> None:
    """Nothing discovered and nothing declared: we cannot accuse the school of anything."""
    assessment = run(make_input(4))
    assert assessment.summary.judged == 0
    assert assessment.summary.gaps == []
    statuses = {r.status for r in assessment.criteria}
    assert statuses <= {"unknown", "not_applicable"}


@pytest.mark.parametrize(
    ("classes", "size", "down", "minimum_status"),
    [
        (5, "small", 8.5, "met"),
        (6, "medium", 8.5, "not_met"),
        (11, "medium", 12.0, "met"),
        (12, "large", 12.0, "not_met"),
    ],
)
def test_size_boundaries_drive_the_verdict(
    classes: int, size: str, down: float, minimum_status: str
) -> None:
    bandwidth = BandwidthSummary(median_down_mbps=down, median_up_mbps=5.0, tests=10)
    assessment = run(make_input(classes, bandwidth=bandwidth))
    assert assessment.size == size
    assert assessment.criterion("internet_minimum").status == minimum_status


def test_summary_ignores_not_applicable_and_counts_unknown() -> None:
    results = run(make_input(3, {"classrooms": rooms(3)})).criteria
    summary = summarise(results)
    required = [r for r in results if r.level == "required" and r.status != "not_applicable"]
    assert summary.judged + summary.unknown == len(required)


def render(assessment: Assessment, color: bool, language: Any = "fr") -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=color, no_color=not color)
    render_checklist(assessment, console, color=color, language=language)
    return buffer.getvalue()


def test_rendering_without_colour_keeps_the_markers() -> None:
    text = render(run(eight_classes()), color=False)
    assert "\x1b[" not in text
    assert "[OK]      Stockage et partage des travaux d'élèves (II.5)" in text
    assert "[PARTIEL] Affichage collectif dans chaque classe (II.1)" in text
    assert "[MANQUE]  Débit internet minimal (II.6)" in text
    assert "6/9 critères remplis" in text
    assert "[!!] HP M1" in text
    assert "[découvert + déclaré]" in text


def test_rendering_in_colour_and_english() -> None:
    text = render(run(eight_classes()), color=True, language="en")
    assert "\x1b[" in text
    assert "[MISSING]" in text and "[PARTIAL]" in text
    assert "6/9 criteria met" in text


def test_unknown_and_not_applicable_markers() -> None:
    lines = "\n".join(checklist_lines(run(make_input(3)), color=False))
    assert MARKERS["fr"]["unknown"] in lines
    assert "[—]" in lines


def test_public_surface() -> None:
    assert {"assess", "summarise", "EVALUATORS"} <= set(vars(assess_module))
    assert NOW.tzinfo is not None and REFERENTIAL.version == 1
