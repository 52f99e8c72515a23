"""The snapshot model: schema published, privacy by construction, size, round trips."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.snapshot import (
    SCHEMA_PATH,
    AgentHealth,
    DeviceHealth,
    InfrastructureDevice,
    Inventory,
    Period,
    PersonalDeviceCounts,
    Snapshot,
    SnapshotContent,
    Supply,
    decode,
    encode,
    make_snapshot,
    schema_text,
)
from tests.collector.live import new_key, uai
from tests.collector.samples import sample_content, sample_snapshot

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
_KEY = new_key()


def test_committed_schema_matches_the_model() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "docs/snapshot.schema.json is stale: run `python -m agent.snapshot`"
    )


def test_schema_is_versioned_and_closed() -> None:
    schema = json.loads(schema_text())
    assert schema["properties"]["schema_version"]["const"] == 1
    assert schema["additionalProperties"] is False
    assert {"agent_id", "uai", "seq", "created_at", "period", "health"} <= set(schema["required"])


def test_sixty_devices_gzip_to_a_few_kilobytes() -> None:
    snapshot = sample_snapshot(new_key(), uai(750001), seq=1, devices=60)
    body = encode(snapshot)
    print(f"60 devices: {len(body)} bytes gzipped, {len(gzip.decompress(body))} raw")
    assert len(body) < 6 * 1024
    assert decode(body) == snapshot


def test_personal_devices_are_counts_only() -> None:
    with pytest.raises(ValidationError):
        PersonalDeviceCounts.model_validate(
            {"by_kind": {"computer": 1}, "devices": [{"mac": "02:00:00:00:00:01"}]}
        )
    with pytest.raises(ValidationError):
        PersonalDeviceCounts.model_validate({"by_kind": {"laptop-of-jean": 1}})
    schema_words = schema_text()
    personal = json.loads(schema_words)["$defs"]["PersonalDeviceCounts"]
    assert set(personal["properties"]) == {"by_kind", "private_address"}


def test_infrastructure_device_categories_exclude_personal_kinds() -> None:
    with pytest.raises(ValidationError):
        InfrastructureDevice(
            category="computer",
            mac="00:11:22:33:44:55",
            first_seen=NOW,
            last_seen=NOW,
        )


def test_envelope_validation() -> None:
    content = sample_content(2, now=NOW)
    key = new_key()
    with pytest.raises(ValidationError, match="check letter"):
        make_snapshot(content, agent_id=key.agent_id, uai="0750001A", seq=1, created_at=NOW)
    with pytest.raises(ValidationError):
        make_snapshot(content, agent_id="not-an-id", uai=uai(750001), seq=1, created_at=NOW)
    with pytest.raises(ValidationError):
        make_snapshot(content, agent_id=key.agent_id, uai=uai(750001), seq=0, created_at=NOW)
    with pytest.raises(ValidationError, match="timezone"):
        make_snapshot(
            content,
            agent_id=key.agent_id,
            uai=uai(750001),
            seq=1,
            created_at=NOW.replace(tzinfo=None),
        )
    with pytest.raises(ValidationError, match="before its start"):
        Period(start=NOW, end=NOW - timedelta(seconds=1))


def test_mac_is_normalised_and_checked() -> None:
    device = InfrastructureDevice(
        category="printer", mac="00:1B:A9:AA:BB:CC", first_seen=NOW, last_seen=NOW
    )
    assert device.mac == "00:1b:a9:aa:bb:cc"
    with pytest.raises(ValidationError):
        InfrastructureDevice(category="printer", mac="001ba9aabbcc", first_seen=NOW, last_seen=NOW)


# --- property-based ----------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
_times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
_percent = st.none() | st.floats(0, 100, allow_nan=False)
_devices = st.builds(
    InfrastructureDevice,
    category=st.sampled_from(["projector", "printer", "nas", "access_point", "router", "other"]),
    vendor=_text,
    model=_text,
    name=_text,
    ip=st.none() | st.ip_addresses().map(str),
    mac=st.binary(min_size=6, max_size=6).map(lambda b: ":".join(f"{x:02x}" for x in b)),
    serial=_text,
    health=st.builds(
        DeviceHealth,
        supplies=st.lists(st.builds(Supply, description=_text, percent=_percent), max_size=4),
        lamp_hours=st.lists(st.integers(0, 100_000), max_size=2),
        errors=st.dictionaries(st.sampled_from(["lamp", "fan", "cover"]), _text, max_size=3),
    ),
    evidence=st.lists(_text, max_size=3),
    first_seen=_times,
    last_seen=_times,
)
_contents = st.builds(
    SnapshotContent,
    period=_times.map(lambda t: Period(start=t, end=t + timedelta(minutes=15))),
    inventory=st.builds(
        Inventory,
        infrastructure=st.lists(_devices, max_size=8),
        personal=st.builds(
            PersonalDeviceCounts,
            by_kind=st.dictionaries(
                st.sampled_from(["computer", "tablet_or_phone", "unknown"]),
                st.integers(0, 10_000),
            ),
            private_address=st.integers(0, 10_000),
        ),
    ),
    health=st.builds(
        AgentHealth,
        version=st.just("0.1.0"),
        uptime_s=st.floats(0, 1e9, allow_nan=False),
        last_errors=st.lists(_text, max_size=3),
        clock_skew_s=st.none() | st.floats(-1e6, 1e6, allow_nan=False),
    ),
)


@settings(max_examples=60, deadline=None)
@given(content=_contents, seq=st.integers(1, 2**62), created=_times)
def test_any_valid_snapshot_round_trips_through_the_wire_format(
    content: SnapshotContent, seq: int, created: datetime
) -> None:
    snapshot = make_snapshot(
        content, agent_id=_KEY.agent_id, uai=uai(750001), seq=seq, created_at=created
    )
    wire = encode(snapshot)
    assert decode(wire) == snapshot
    assert Snapshot.model_validate_json(snapshot.model_dump_json()) == snapshot


@settings(max_examples=60, deadline=None)
@given(
    patch=st.dictionaries(
        st.sampled_from(["seq", "uai", "agent_id", "schema_version", "x"]),
        st.none() | st.integers() | _text,
        min_size=1,
    )
)
def test_invalid_envelopes_are_refused_never_crash(patch: dict[str, object]) -> None:
    good = sample_snapshot(_KEY, uai(750001), seq=5, devices=1).model_dump(mode="json")
    candidate = {**good, **patch}
    try:
        parsed = Snapshot.model_validate(candidate)
    except ValidationError:
        return
    assert parsed.model_dump(mode="json") == candidate  # only if every patched value was valid
