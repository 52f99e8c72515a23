"""End to end in the rig: one real discovery cycle from the agent's namespace, checked
against the school's ground truth (every host found, each protocol's facts present,
infrastructure classified right, personal devices never listed)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.rig import RigUnavailable, School, build_school

pytestmark = pytest.mark.rig

INNER = r"""
import asyncio, json, sys
from agent.config import AgentSettings
from agent.discovery import discover
from agent.inventory_view import records, shareable
settings = AgentSettings.model_validate(json.loads(sys.argv[1]))
result = asyncio.run(discover(settings, budget_s=40))
print(json.dumps({"cycle": result.to_json(),
                  "devices": [r.model_dump(mode="json") for r in records(result.inventory)],
                  "shareable": shareable(result.inventory)}))
"""
PERSONAL = {"computer", "tablet_or_phone"}


@pytest.fixture(scope="module")
def rig_cycle() -> Iterator[tuple[School, dict[str, Any]]]:
    try:
        school = build_school(classrooms=3).start()
    except (RigUnavailable, PermissionError, OSError) as exc:
        pytest.skip(f"rig unavailable: {exc}")
    try:
        communities = ["public"] + [h.snmp.community for h in school.hosts if h.snmp]
        settings = {
            "school": {"uai": "0751234J", "classes": 3},
            "network": {"subnets": [school.plan.lan_cidr], "interfaces": ["eth0"]},
            "snmp": {
                "credentials": [
                    {"version": "2c", "community": c} for c in dict.fromkeys(communities)
                ],
                "concurrency": 64,
            },
        }
        done = school.run_in(
            "agent", [sys.executable, "-c", INNER, json.dumps(settings)], timeout=90
        )
        assert done.returncode == 0, done.stderr[-3000:]
        yield school, json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        school.stop()


def test_every_host_is_found_with_its_protocols(rig_cycle: tuple[School, dict[str, Any]]) -> None:
    school, out = rig_cycle
    by_mac = {d["mac"]: d for d in out["devices"]}
    expected = [h for h in school.hosts if h.role not in ("agent", "inet")]
    missing = [h.name for h in expected if h.mac not in by_mac]
    assert not missing, f"not discovered: {missing}"
    for host in expected:
        device = by_mac[host.mac]
        assert device["ip"] == host.ip, host.name
        if host.pjlink is not None:
            assert device["health"].get("lamp_hours") == [host.pjlink.lamp_hours], host.name
    assert out["cycle"]["errors"] == {}, out["cycle"]
    assert out["cycle"]["timings_s"]["cycle"] < 40


def test_infrastructure_is_classified_and_people_are_only_counted(
    rig_cycle: tuple[School, dict[str, Any]],
) -> None:
    school, out = rig_cycle
    by_mac = {d["mac"]: d for d in out["devices"]}
    expected = [h for h in school.hosts if h.role not in ("agent", "inet")]
    confusion = Counter((h.category, by_mac[h.mac]["category"]) for h in expected)
    print("\nexpected → got: count")
    for (want, got), count in sorted(confusion.items()):
        print(f"  {want:20} → {got:20} {count}")
    listed = {d["mac"] for d in out["shareable"]["infrastructure"]}
    people = [h for h in expected if h.category in PERSONAL]
    assert not listed & {h.mac for h in people}, "a personal device left the box"
    text = json.dumps(out["shareable"])
    assert all(h.mac not in text for h in people)
    wrong = {
        h.name: (h.category, by_mac[h.mac]["category"])
        for h in expected
        if h.category not in PERSONAL and by_mac[h.mac]["category"] != h.category
    }
    assert not wrong, f"misclassified infrastructure: {wrong}; cycle: {out['cycle']}"
