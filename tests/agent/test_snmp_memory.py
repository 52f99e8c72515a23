"""The SNMP credential that answered each device survives worker runs and restarts.

The daemon's store is real; the worker in the service test is a stand-in program (given
as the runner's argv) that answers with a sweep holding one SNMP device and writes down
the hint it received, so nothing is sent on any network. The probe's use of the hint
(the remembered credential tried alone first) is tested against snmpsim in
tests/probes/test_snmp.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from agent import snmp_memory
from agent.config import AgentSettings, SnmpSettings, parse_settings
from agent.discovery import CycleResult
from agent.inventory import Inventory
from agent.service import AgentService
from agent.state import StateStore
from agent.worker import discovery_job
from agent.worker_client import WorkerRunner
from probes.base import Observation, Probe
from probes.snmp import SnmpProbe
from tests.agent.test_worker import fake

PRINTER = IPv4Address("192.0.2.10")  # documentation range: the stand-in worker sends nothing
SECRET = "direction-secret"


def snmp(*credentials: dict[str, str]) -> SnmpSettings:
    return SnmpSettings.model_validate({"credentials": list(credentials)})


TWO = snmp({"version": "2c", "community": "public"}, {"version": "2c", "community": SECRET})


def test_remembered_across_store_reopen_without_secrets(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    found = Observation(probe="snmp", ip=PRINTER, facts={"snmp.credential_index": 1})
    other = Observation(probe="mdns", ip=IPv4Address("192.0.2.11"), facts={})
    snmp_memory.remember(store, TWO, snmp_memory.learned([found, other]))
    store.close()
    reopened = StateStore(tmp_path / "state.sqlite3")
    assert snmp_memory.remembered(reopened, TWO) == {PRINTER: 1}
    assert SECRET not in json.dumps(reopened.get(snmp_memory.KEY))
    snmp_memory.remember(reopened, TWO, {})  # a silent sweep keeps what was known
    assert snmp_memory.remembered(reopened, TWO) == {PRINTER: 1}


def test_forgotten_when_the_credential_list_changes(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    snmp_memory.remember(store, TWO, {PRINTER: 1})
    reordered = snmp({"version": "3", "user": "direction"}, {"version": "2c", "community": "x"})
    assert snmp_memory.remembered(store, reordered) == {}
    same_shape = snmp({"version": "2c", "community": "a"}, {"version": "2c", "community": "b"})
    assert snmp_memory.remembered(store, same_shape) == {PRINTER: 1}  # shape only, no secrets
    one = snmp({"version": "2c", "community": "public"})
    assert snmp_memory.remembered(store, one) == {}


def test_junk_in_the_store_or_on_the_wire_is_ignored(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    store.put(snmp_memory.KEY, {"fingerprint": ["2c", "2c"], "by_ip": {"x": 1, "192.0.2.9": 7}})
    assert snmp_memory.remembered(store, TWO) == {}  # bad address; index out of the list
    store.put(snmp_memory.KEY, "garbage")
    assert snmp_memory.remembered(store, TWO) == {}
    wire = {"192.0.2.1": 0, "nope": 1, "192.0.2.2": True, "192.0.2.3": -1}
    assert snmp_memory.from_wire(wire) == {IPv4Address("192.0.2.1"): 0}
    assert snmp_memory.from_wire(["192.0.2.1"]) == {}


STAND_IN_WORKER = """
import json, sys
request = json.loads(sys.stdin.read())
with open(sys.argv[1], "a") as log:
    log.write(json.dumps(request["options"].get("known_snmp")) + "\\n")
sweep = {
    "started_at": "2026-11-23T10:00:00+00:00", "elapsed_s": 1.0, "targets": [],
    "timings_s": {"snmp": 1.0}, "observations_by_probe": {"snmp": 1}, "errors": {},
    "live_hosts": 1,
    "observations": [{"probe": "snmp", "ip": "192.0.2.10",
                      "facts": {"snmp.credential_index": 1, "snmp.sys_descr": "LaserJet"}}],
}
print(json.dumps({"ok": True, "result": sweep, "peak_rss_kb": 1}))
"""


def settings(tmp_path: Path) -> AgentSettings:
    return parse_settings(
        {
            "school": {"uai": "0751234J", "classes": 3},
            "paths": {"state_dir": str(tmp_path)},
            "snmp": {
                "credentials": [
                    {"version": "2c", "community": "public"},
                    {"version": "2c", "community": SECRET},
                ]
            },
        }
    )


async def test_each_sweep_gets_what_earlier_sweeps_learned(tmp_path: Path) -> None:
    hints = tmp_path / "hints.jsonl"
    runner = WorkerRunner([*fake(STAND_IN_WORKER), str(hints)])
    store = StateStore(tmp_path / "state.sqlite3")
    await AgentService(settings(tmp_path), store, worker=runner).discovery()
    # a restarted daemon: new service, same state database
    await AgentService(settings(tmp_path), store, worker=runner).discovery()
    first, second = (json.loads(line) for line in hints.read_text().splitlines())
    assert first == {} and second == {"192.0.2.10": 1}
    assert SECRET not in hints.read_text()


async def test_the_worker_gives_the_hint_to_its_snmp_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep is replaced (nothing may be scanned here); the probe it gets is real."""
    seen: dict[str, Probe] = {}

    async def no_sweep(
        _settings: AgentSettings, probes: Mapping[str, Probe], **_: object
    ) -> tuple[CycleResult, list[Observation]]:
        seen.update(probes)
        return CycleResult(started_at=datetime.now(UTC), inventory=Inventory()), []

    monkeypatch.setattr("agent.discovery.sweep", no_sweep)
    options = {"probes": ["snmp"], "known_snmp": {"192.0.2.10": 1, "junk": "x"}}
    await discovery_job(settings(tmp_path), options)
    probe = seen["snmp"]
    assert isinstance(probe, SnmpProbe) and probe.known_credentials == {PRINTER: 1}
