"""Realistic snapshot content and hand-signed requests, shared by tests and the benchmark."""

from __future__ import annotations

import base64
import gzip
import secrets
import time
from datetime import UTC, datetime, timedelta

import httpx

from agent.keys import AgentKey
from agent.snapshot import (
    AgentHealth,
    Assessment,
    AssessmentSummary,
    BandwidthVerdicts,
    Criterion,
    DeviceHealth,
    InfrastructureDevice,
    Inventory,
    Period,
    PersonalDeviceCounts,
    Snapshot,
    SnapshotContent,
    Supply,
    ThroughputResult,
    make_snapshot,
)
from collector import rfc9421

_CATEGORIES = ["projector", "printer", "access_point", "interactive_display", "nas", "switch"]
_VENDORS = {
    "projector": ("Epson", "EB-695Wi"),
    "printer": ("Brother", "MFC-L8690CDW"),
    "access_point": ("Ubiquiti", "UAP-AC-LR"),
    "interactive_display": ("Speechi", "SPE-65"),
    "nas": ("Synology", "DS220+"),
    "switch": ("Netgear", "GS724T"),
}


def sample_content(devices: int = 20, *, now: datetime | None = None) -> SnapshotContent:
    """A school with `devices` infrastructure devices and a class's worth of personal ones."""
    now = now or datetime.now(UTC)
    infra = []
    for i in range(devices):
        category = _CATEGORIES[i % len(_CATEGORIES)]
        vendor, model = _VENDORS[category]
        health = DeviceHealth()
        if category == "printer":
            health = DeviceHealth(
                supplies=[Supply(description=f"{c} Toner", percent=10.0 * (i % 10)) for c in "CMYK"]
            )
        elif category == "projector":
            health = DeviceHealth(lamp_hours=[1200 + i], errors={"lamp": "ok", "filter": "warning"})
        infra.append(
            InfrastructureDevice(
                category=category,
                vendor=vendor,
                model=model,
                name=f"{category}-salle-{i:02d}",
                ip=f"10.0.{i // 250}.{i % 250 + 2}",
                mac=f"00:26:ab:{i // 65536 % 256:02x}:{i // 256 % 256:02x}:{i % 256:02x}",
                serial=secrets.token_hex(6).upper(),  # real serials do not compress
                health=health,
                evidence=["snmp sysObjectID", "oui vendor"],
                first_seen=now - timedelta(days=30),
                last_seen=now,
            )
        )
    return SnapshotContent(
        period=Period(start=now - timedelta(minutes=15), end=now),
        throughput=[
            ThroughputResult(
                backend="http",
                target_host="collector.example.fr",
                started_at=now - timedelta(minutes=5),
                down_mbps=38.2,
                up_mbps=17.9,
                line_rate_down_mbps=40.0,
                idle_latency_ms=12.5,
                loaded_latency_ms=48.0,
                jitter_ms=2.1,
                bytes_used=60_000_000,
                duration_s=9.8,
                streams=4,
            )
        ],
        verdicts=BandwidthVerdicts(
            minimum="pass", desirable="fail", window_days=7, window_median_down_mbps=37.5, tests=28
        ),
        inventory=Inventory(
            infrastructure=infra,
            personal=PersonalDeviceCounts(
                by_kind={"computer": 14, "tablet_or_phone": 30}, private_address=9
            ),
        ),
        assessment=Assessment(
            criteria=[
                Criterion(
                    id="internet.minimum",
                    title="Débit minimum",
                    status="met",
                    message="37.5 Mbit/s ≥ 10",
                    source="measured",
                )
            ],
            summary=AssessmentSummary(met=1, judged=1),
        ),
        health=AgentHealth(version="0.1.0", uptime_s=3600.0, clock_synchronised=True),
    )


def sample_snapshot(key: AgentKey, school: str, seq: int, devices: int = 20) -> Snapshot:
    return make_snapshot(
        sample_content(devices),
        agent_id=key.agent_id,
        uai=school,
        seq=seq,
        created_at=datetime.now(UTC),
    )


def hand_signed(
    url: str,
    body: bytes,
    key: AgentKey,
    *,
    created: int | None = None,
    nonce: str | None = None,
    keyid: str | None = None,
    content_type: str = "application/json",
    encoding: str | None = "gzip",
    digest_of: bytes | None = None,
    components: tuple[str, ...] = ("@method", "@target-uri", "content-digest", "content-type"),
    extra_params: tuple[tuple[str, int | str], ...] = (),
) -> httpx.Request:
    """A request signed by the independent implementation, every part overridable."""
    digest = rfc9421.content_digest(body if digest_of is None else digest_of)
    values = {
        "@method": "POST",
        "@target-uri": url,
        "content-digest": digest,
        "content-type": content_type,
    }
    params: tuple[tuple[str, int | str], ...] = (
        ("created", int(time.time()) if created is None else created),
        ("keyid", key.agent_id if keyid is None else keyid),
        ("nonce", nonce or secrets.token_urlsafe(18)),
        ("alg", "ed25519"),
        *extra_params,
    )
    headers = rfc9421.sign(
        private_key=key.private_key, component_values=values, components=components, params=params
    )
    headers.update({"Content-Type": content_type, "Content-Digest": digest})
    if encoding:
        headers["Content-Encoding"] = encoding
    return httpx.Request("POST", url, content=body, headers=headers)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
