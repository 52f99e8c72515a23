"""What leaves the box (privacy), what is stored, what the terminal shows; health rules."""

from __future__ import annotations

import json
from ipaddress import IPv4Address

import pytest

from agent.inventory import Inventory
from agent.inventory_health import alerts, health, supply_state
from agent.inventory_view import records, rows_by_category, shareable
from probes.base import Observation
from tests.agent.test_inventory import PHONE, PRINTER, T0, arp, rules, snmp

LAPTOP = "3c:22:fb:00:00:07"


def school() -> Inventory:
    inv = Inventory(rules)
    supplies = [
        {"description": "Black Toner", "level": 5, "max": 100, "percent": None},
        {"description": "Drum", "level": 0, "max": 100, "percent": 0.0},
        {"description": "Waste", "level": -3, "max": 100, "percent": None},
        {"description": "Cyan", "level": 80, "max": 100, "percent": 80.0},
    ]
    mdns_phone = Observation(
        probe="mdns",
        ip=IPv4Address("10.0.0.50"),
        facts={"mdns.hostname": "iPad-de-Lucie.local", "mdns.instances": ["iPad de Lucie"]},
    )
    projector = Observation(
        probe="pjlink",
        ip=IPv4Address("10.0.0.30"),
        facts={
            "pjlink.class": 1,
            "pjlink.model": "EB-4770W",
            "pjlink.name": "Salle <b>3</b>",
            "pjlink.lamps": [{"hours": 3100, "on": True}],
            "pjlink.errors": {"fan": "ok", "lamp": "warning"},
        },
    )
    inv.ingest(
        [
            arp("10.0.0.10", PRINTER),
            snmp("10.0.0.10", printer_mib=True, supplies=supplies, page_count=12345),
            arp("10.0.0.30", "00:26:ab:00:00:30"),
            projector,
            arp("10.0.0.50", PHONE),
            mdns_phone,
            arp("10.0.0.60", LAPTOP),
        ],
        T0,
    )
    return inv


def test_personal_devices_are_counted_and_never_listed() -> None:
    view = shareable(school())
    text = json.dumps(view)
    assert PHONE not in text and LAPTOP not in text and "Lucie" not in text
    assert view["personal"] == {
        "by_kind": {"tablet_or_phone": 1, "unknown": 1},
        "private_address": 1,
    }
    assert [d["category"] for d in view["infrastructure"]] == ["printer", "projector"]
    projector = view["infrastructure"][1]
    assert projector["health"] == {
        "supplies": [],
        "lamp_hours": [3100],
        "errors": {"lamp": "warning"},
    }
    assert projector["name"] == "Salle <b>3</b>"  # text; the page escapes it


def test_shareable_view_fits_the_snapshot_schema() -> None:
    snapshot = pytest.importorskip("agent.snapshot")
    snapshot.Inventory.model_validate(shareable(school()))


def test_health_flags_low_and_empty_supplies_and_counts_pages() -> None:
    printer = school().get(PRINTER)
    assert printer is not None
    states = {s["description"]: s["state"] for s in printer.health["supplies"]}
    assert states == {"Black Toner": "low", "Drum": "empty", "Waste": "ok", "Cyan": "ok"}
    assert printer.health["page_count"] == 12345
    assert alerts(printer.health) == ["Black Toner low (5 %)", "Drum empty (0 %)"]


@pytest.mark.parametrize(
    ("supply", "state"),
    [
        ({"level": 14, "max": 100}, "low"),
        ({"level": 15, "max": 100}, "ok"),
        ({"level": -2, "max": 100}, "unknown"),
        ({"level": 500, "max": 100}, "unknown"),
        ({"level": 5, "max": 0}, "unknown"),
        ({"level": "5", "max": "x"}, "unknown"),
        ({"percent": 150.0}, "unknown"),
    ],
)
def test_supply_states_survive_absurd_values(supply: dict[str, object], state: str) -> None:
    assert supply_state(supply) == state


def test_health_ignores_wrong_types() -> None:
    assert (
        health(
            {"snmp.supplies": "lots", "pjlink.lamps": [{"hours": -5}, "x"], "snmp.page_count": True}
        )
        == {}
    )


def test_records_and_rows() -> None:
    inv = school()
    stored = records(inv)
    assert {r.device_id for r in stored} == {PRINTER, "00:26:ab:00:00:30", PHONE, LAPTOP}
    assert {r.device_id for r in stored if r.personal} == {PHONE, LAPTOP}
    rows = rows_by_category(inv)
    assert list(rows) == ["printer", "projector"]
    assert "Black Toner low" in rows["printer"][0].health
    assert "lamp 3100 h" in rows["projector"][0].health
    assert "tablet_or_phone" in rows_by_category(inv, show_personal=True)
