"""Per-classroom criteria: display, workstation, document camera, network points."""

from __future__ import annotations

from typing import Any

import pytest

from tests.agent.test_assess_support import criterion, device, make_input, rooms

HDMI = [{"kind": "projector", "connection": "hdmi"}]
NET = [{"kind": "projector", "connection": "network"}]


def projectors(count: int, **extra: Any) -> list[Any]:
    return [device(f"p{i}", "projector", ip=f"10.0.1.{i + 1}", **extra) for i in range(count)]


@pytest.mark.parametrize(
    ("case", "classes", "declared", "devices", "status", "covered", "sources"),
    [
        (
            "declared only, all",
            3,
            {"classrooms": rooms(3, displays=HDMI)},
            [],
            "met",
            3,
            {"declared": 3},
        ),
        ("discovered only, all", 3, {}, projectors(3), "met", 3, {"discovered": 3}),
        ("discovered only, some", 8, {}, projectors(5), "partly_met", 5, {"discovered": 5}),
        (
            "mixed: 2 HDMI declared + 1 discovered",
            3,
            {"classrooms": rooms(2, displays=HDMI)},
            projectors(1),
            "met",
            3,
            {"declared": 2, "discovered": 1},
        ),
        (
            "declared and discovered in the same room",
            1,
            {"classrooms": [{"name": "CP", "displays": NET, "devices": ["10.0.1.1"]}]},
            projectors(1),
            "met",
            1,
            {"both": 1},
        ),
        ("inventory declared, nothing anywhere", 4, {"classrooms": rooms(4)}, [], "not_met", 0, {}),
        ("no inventory, nothing discovered", 4, {}, [], "unknown", 0, {}),
        (
            "interactive display counts",
            2,
            {},
            [device("t1", "interactive_display"), device("t2", "interactive_display")],
            "met",
            2,
            {"discovered": 2},
        ),
        ("a printer is not a display", 2, {}, [device("x", "printer")], "unknown", 0, {}),
        ("more displays than classes", 2, {}, projectors(4), "met", 2, {"discovered": 4}),
        (
            "declared networked display pairs with an unplaced discovered one",
            2,
            {"classrooms": rooms(1, displays=NET)},
            projectors(1),
            "partly_met",
            1,
            {"both": 1, "discovered": 0},
        ),
        (
            "declared networked display not discovered still counts as declared",
            2,
            {"classrooms": rooms(2, displays=NET)},
            projectors(1),
            "met",
            2,
            {"both": 1, "declared": 1},
        ),
    ],
)
def test_display(
    case: str,
    classes: int,
    declared: dict[str, Any],
    devices: list[Any],
    status: str,
    covered: int,
    sources: dict[str, int],
) -> None:
    result = criterion(make_input(classes, declared, devices), "classroom_display")
    assert result.status == status, case
    assert result.figures["covered"] == covered
    for source, count in sources.items():
        assert result.figures[source] == count, (case, source)
    assert result.section == "II.1"


def test_display_message_names_the_missing_classrooms_in_both_languages() -> None:
    inp = make_input(8, {"classrooms": rooms(3, displays=HDMI)}, projectors(2))
    result = criterion(inp, "classroom_display")
    assert result.status == "partly_met"
    assert result.message.fr == (
        "3 classes sur 8 n'ont pas d'affichage collectif, ni découvert ni déclaré"
    )
    assert result.message.en == (
        "3 classrooms out of 8 have no collective display, discovered or declared"
    )


def test_display_evidence_says_discovered_rooms_are_unknown() -> None:
    result = criterion(
        make_input(2, {}, projectors(1, evidence=["pjlink: class 1"])), "classroom_display"
    )
    (item,) = result.items
    assert item.source == "discovered"
    assert item.room is None
    assert "room unknown" in item.label
    assert "pjlink: class 1" in item.evidence


def test_display_placed_by_builder_room() -> None:
    inp = make_input(1, {"classrooms": [{"name": "CM2"}]}, projectors(1, room="CM2"))
    (item,) = criterion(inp, "classroom_display").items
    assert (item.label, item.room, item.source) == ("CM2", "CM2", "discovered")


def test_projector_in_head_office_does_not_count_for_classes() -> None:
    declared = {
        "classrooms": [
            {"name": "Direction", "kind": "head_office", "devices": ["10.0.1.1"]},
            {"name": "CP"},
        ]
    }
    result = criterion(make_input(1, declared, projectors(1)), "classroom_display")
    # not placed in a classroom, so it is "room unknown" and still counted once
    assert result.figures["covered"] == 1


@pytest.mark.parametrize(
    ("case", "classes", "declared", "computers", "status", "covered"),
    [
        ("declared in every room", 2, {"classrooms": rooms(2, workstations=1)}, 0, "met", 2),
        ("discovered only", 3, {}, 3, "met", 3),
        ("discovered only, too few", 3, {}, 1, "partly_met", 1),
        (
            "laptop pack explains the computers",
            3,
            {"mobile_packs": [{"devices": 12, "kind": "laptops"}]},
            12,
            "not_met",
            0,
        ),
        (
            "head-office computer reserved",
            2,
            {"head_office": {"computer": True}},
            2,
            "partly_met",
            1,
        ),
        ("declared + discovered", 4, {"classrooms": rooms(2, workstations=1)}, 2, "met", 4),
        ("inventory, nothing", 2, {"classrooms": rooms(2)}, 0, "not_met", 0),
        ("nothing known", 2, {}, 0, "unknown", 0),
    ],
)
def test_workstation(
    case: str, classes: int, declared: dict[str, Any], computers: int, status: str, covered: int
) -> None:
    inp = make_input(classes, declared, personal={"computer": computers})
    result = criterion(inp, "classroom_workstation")
    assert result.status == status, case
    assert result.figures["covered"] == covered, case


def test_workstation_never_lists_personal_devices() -> None:
    result = criterion(make_input(2, {}, personal={"computer": 2}), "classroom_workstation")
    assert [item.source for item in result.items] == ["discovered"]
    assert result.items[0].label.startswith("2 ordinateur(s)")


@pytest.mark.parametrize(
    ("declared", "status", "level"),
    [
        ({"classrooms": rooms(2, document_camera=True)}, "met", "optional"),
        (
            {"classrooms": [{"name": "A", "document_camera": True}, {"name": "B"}]},
            "partly_met",
            "optional",
        ),
        ({"classrooms": rooms(2)}, "not_met", "optional"),
        ({}, "unknown", "optional"),
    ],
)
def test_document_camera(declared: dict[str, Any], status: str, level: str) -> None:
    result = criterion(make_input(2, declared), "document_camera")
    assert (result.status, result.level) == (status, level)


@pytest.mark.parametrize(
    ("points", "classes", "status"),
    [
        ([2, 3], 2, "met"),
        ([2, 1], 2, "partly_met"),
        ([1, 0], 2, "not_met"),
        ([2], 2, "partly_met"),  # one room declared, the other unknown
        ([None, None], 2, "unknown"),
        ([], 2, "unknown"),
    ],
)
def test_network_points(points: list[int | None], classes: int, status: str) -> None:
    declared = {
        "classrooms": [{"name": f"C{i}", "network_points": n} for i, n in enumerate(points)]
    }
    result = criterion(make_input(classes, declared), "network_points")
    assert result.status == status
    assert all(item.source == "declared" for item in result.items)


def test_network_points_message_names_short_rooms() -> None:
    declared = {
        "classrooms": [{"name": "CP", "network_points": 1}, {"name": "CE1", "network_points": 2}]
    }
    result = criterion(make_input(2, declared), "network_points")
    assert "moins de 2 : CP" in result.message.fr
    assert "fewer than 2: CP" in result.message.en


def test_declared_networked_display_not_discovered_is_flagged() -> None:
    result = criterion(make_input(1, {"classrooms": rooms(1, displays=NET)}), "classroom_display")
    (item,) = result.items
    assert item.source == "declared"
    assert any("not discovered" in line for line in item.evidence)


@pytest.mark.parametrize(
    ("classrooms", "expected"),
    [
        ([{"name": "CP"}, {"name": "CP"}], "room 'CP' is declared twice"),
        (
            [{"name": "CP", "devices": ["10.0.1.1"]}, {"name": "CE1", "devices": ["10.0.1.1"]}],
            "device '10.0.1.1' is placed in both 'CP' and 'CE1'",
        ),
    ],
)
def test_declared_rooms_are_unambiguous(classrooms: list[Any], expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        make_input(2, {"classrooms": classrooms})
