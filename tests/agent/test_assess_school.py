"""School-wide criteria: mobile equipment, its kit, the head's office, storage."""

from __future__ import annotations

from typing import Any

import pytest

from tests.agent.test_assess_support import criterion, device, make_input, rooms

PACK = {"devices": 15, "os": "iPadOS"}


@pytest.mark.parametrize(
    ("case", "classes", "declared", "status", "covered"),
    [
        ("one pack for 4 classes", 4, {"mobile_packs": [PACK]}, "met", 4),
        ("one pack for 5 classes", 5, {"mobile_packs": [PACK]}, "partly_met", 4),
        ("two packs for 8 classes", 8, {"mobile_packs": [PACK, PACK]}, "met", 8),
        ("pack of 10 is enough", 4, {"mobile_packs": [{"devices": 10}]}, "met", 4),
        ("pack of 9 is too small", 4, {"mobile_packs": [{"devices": 9}]}, "not_met", 0),
        ("mixed OS pack", 4, {"mobile_packs": [{"devices": 12, "mixed_os": True}]}, "not_met", 0),
        ("free access 3 per room", 2, {"classrooms": rooms(2, free_access_devices=3)}, "met", 2),
        (
            "free access 2 per room is too few",
            2,
            {"classrooms": rooms(2, free_access_devices=2)},
            "not_met",
            0,
        ),
        (
            "pack + free access",
            6,
            {"mobile_packs": [PACK], "classrooms": rooms(2, free_access_devices=4)},
            "met",
            6,
        ),
        ("inventory without mobile equipment", 3, {"classrooms": rooms(3)}, "not_met", 0),
        ("nothing declared", 3, {}, "unknown", 0),
    ],
)
def test_mobile_equipment(
    case: str, classes: int, declared: dict[str, Any], status: str, covered: int
) -> None:
    result = criterion(make_input(classes, declared), "mobile_equipment")
    assert result.status == status, case
    assert result.figures["covered"] == covered, case


def test_mobile_problems_are_named() -> None:
    declared = {
        "mobile_packs": [
            {"devices": 8, "name": "Tablettes CP"},
            {"devices": 12, "mixed_os": True, "name": "PC CM"},
        ]
    }
    result = criterion(make_input(8, declared), "mobile_equipment")
    assert "« Tablettes CP » n'a que 8 appareils" in result.message.fr
    assert "“PC CM” mixes operating systems" in result.message.en


def test_mobile_unknown_mentions_tablets_seen() -> None:
    result = criterion(make_input(4, {}, personal={"tablet_or_phone": 14}), "mobile_equipment")
    assert result.status == "unknown"
    assert "14 tablette(s)" in result.message.fr


FULL_TABLET_KIT = {
    **PACK,
    "wifi_access_point": "ap-pack",
    "sharing_device": True,
    "projection_device": True,
}


@pytest.mark.parametrize(
    ("case", "declared", "devices", "status", "sources"),
    [
        ("no pack: not applicable", {}, [], "not_applicable", []),
        (
            "declared kit, AP discovered by name",
            {"mobile_packs": [FULL_TABLET_KIT]},
            [device("a1", "access_point", name="ap-pack")],
            "met",
            ["both", "declared", "declared"],
        ),
        (
            "declared kit only",
            {"mobile_packs": [FULL_TABLET_KIT]},
            [],
            "met",
            ["declared", "declared", "declared"],
        ),
        (
            "discovered kit only",
            {"mobile_packs": [PACK]},
            [
                device("a1", "access_point"),
                device("n1", "nas"),
                device("m1", "presentation_device"),
            ],
            "met",
            ["discovered", "discovered", "discovered"],
        ),
        (
            "AP only",
            {"mobile_packs": [PACK]},
            [device("a1", "access_point")],
            "partly_met",
            ["discovered"],
        ),
        ("nothing", {"mobile_packs": [PACK]}, [], "not_met", []),
        (
            "laptops need control software, not projection",
            {
                "mobile_packs": [
                    {
                        "devices": 15,
                        "kind": "laptops",
                        "control_software": True,
                        "sharing_device": True,
                        "wifi_access_point": "ap",
                    }
                ]
            },
            [],
            "met",
            ["declared", "declared", "declared"],
        ),
        (
            "school NAS declared as storage serves the pack",
            {
                "mobile_packs": [{**PACK, "wifi_access_point": "x", "projection_device": True}],
                "storage": ["nas"],
            },
            [],
            "met",
            ["declared", "declared", "declared"],
        ),
    ],
)
def test_mobile_kit(
    case: str, declared: dict[str, Any], devices: list[Any], status: str, sources: list[str]
) -> None:
    result = criterion(make_input(4, declared, devices), "mobile_kit")
    assert result.status == status, case
    assert [item.source for item in result.items] == sources, case


def test_mobile_kit_names_what_is_missing() -> None:
    result = criterion(
        make_input(4, {"mobile_packs": [{**PACK, "name": "Tab"}]}, [device("a1", "access_point")]),
        "mobile_kit",
    )
    assert "« Tab » : dispositif de projection multi-écrans" in result.message.fr
    assert "“Tab”: local sharing device (NAS…)" in result.message.en


@pytest.mark.parametrize(
    ("case", "declared", "devices", "computers", "status", "sources"),
    [
        (
            "declared both",
            {"head_office": {"computer": True, "scanner": True}},
            [],
            0,
            "met",
            ["declared", "declared"],
        ),
        (
            "discovered MFP + declared computer",
            {"head_office": {"computer": True}},
            [device("m", "mfp")],
            0,
            "met",
            ["declared", "discovered"],
        ),
        (
            "scanner declared and discovered",
            {"head_office": {"computer": True, "scanner": True}},
            [device("s", "scanner")],
            0,
            "met",
            ["declared", "both"],
        ),
        ("discovered only", {}, [device("m", "mfp")], 1, "met", ["discovered", "discovered"]),
        (
            "printer without scan is no scanner",
            {"head_office": {"computer": True}},
            [device("p", "printer")],
            0,
            "partly_met",
            ["declared"],
        ),
        (
            "declared absent",
            {"head_office": {"computer": False, "scanner": False}},
            [],
            0,
            "not_met",
            [],
        ),
        (
            "head-office room with a workstation",
            {
                "classrooms": [{"name": "Direction", "kind": "head_office", "workstations": 1}],
                "head_office": {"scanner": True},
            },
            [],
            0,
            "met",
            ["declared", "declared"],
        ),
        ("nothing known", {}, [], 0, "unknown", []),
        ("inventory without office", {"classrooms": rooms(2)}, [], 0, "not_met", []),
    ],
)
def test_head_office(
    case: str,
    declared: dict[str, Any],
    devices: list[Any],
    computers: int,
    status: str,
    sources: list[str],
) -> None:
    inp = make_input(2, declared, devices, personal={"computer": computers})
    result = criterion(inp, "head_office")
    assert result.status == status, case
    assert [item.source for item in result.items] == sources, case


def test_head_office_message_names_the_missing_scanner() -> None:
    result = criterion(
        make_input(2, {"head_office": {"computer": True, "scanner": False}}), "head_office"
    )
    assert result.status == "partly_met"
    assert "pas de scanner (ou copieur qui numérise)" in result.message.fr


@pytest.mark.parametrize(
    ("case", "declared", "devices", "status", "sources"),
    [
        ("ENT declared", {"storage": ["ent"], "ent_name": "ENT 77"}, [], "met", ["declared"]),
        ("cloud declared", {"storage": ["cloud"]}, [], "met", ["declared"]),
        ("NAS discovered only", {}, [device("n", "nas")], "met", ["discovered"]),
        (
            "NAS declared and discovered",
            {"storage": ["nas"]},
            [device("n", "nas")],
            "met",
            ["both"],
        ),
        ("inventory, no storage", {"classrooms": rooms(1)}, [], "not_met", []),
        ("nothing known", {}, [], "unknown", []),
    ],
)
def test_storage(
    case: str, declared: dict[str, Any], devices: list[Any], status: str, sources: list[str]
) -> None:
    result = criterion(make_input(2, declared, devices), "storage")
    assert result.status == status, case
    assert [item.source for item in result.items] == sources, case
    assert result.section == "II.5"
