"""A realistic school for status page tests: settings with secrets, a filled store, runtime.

Everything a test asserts on is a module constant so tests can say "this secret never
appears" or "this personal name never appears" without repeating literals.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent.bandwidth import school_thresholds, verdict_for_test
from agent.bandwidth_run import BandwidthReport
from agent.config import AgentSettings, parse_settings
from agent.passwords import hash_password
from agent.service import measurement_record
from agent.state import DeviceRecord, StateStore
from agent.status import DataBudget, RuntimeInfo, SpoolStats
from probes.throughput_model import LatencyResult
from tests.agent.test_bandwidth import result as throughput_result

NOW = datetime.now(UTC).replace(microsecond=0)
XSS_NAME = "<script>alert(1)</script>"
XSS_SUMMARY = "<img src=x onerror=alert(2)>"
COMMUNITY = "c0mmunaute-tres-secrete"
AUTH_KEY = "authkey-s3cret-v3"
PRIV_KEY = "privkey-s3cret-v3"
PJLINK_PASSWORD = "pjlink-s3cret"
PASSWORD = "Cartable-2026!"
URL_PASSWORD = "hunter2-in-url"
PERSONAL_NAMES = [f"iPad-de-Eleve{i:02d}" for i in range(8)] + [
    f"PC-Maitresse-{i}" for i in range(6)
]
PERSONAL_MACS = [f"3c:22:fb:10:20:{i:02x}" for i in range(14)]
SECRETS = [COMMUNITY, AUTH_KEY, PRIV_KEY, PJLINK_PASSWORD, PASSWORD, URL_PASSWORD]


def settings(password: bool = False, language: str = "fr") -> AgentSettings:
    status_page: dict[str, Any] = {"language": language, "port": 8080}
    if password:
        status_page["password_hash"] = hash_password(PASSWORD)
    return parse_settings(
        {
            "school": {
                "uai": "0751234J",
                "name": "École élémentaire Jules Ferry",
                "commune": "Montreuil",
                "classes": 8,
            },
            "snmp": {
                "credentials": [
                    {"version": "2c", "community": COMMUNITY},
                    {
                        "version": "3",
                        "user": "socle",
                        "auth_protocol": "sha",
                        "auth_key": AUTH_KEY,
                        "priv_protocol": "aes",
                        "priv_key": PRIV_KEY,
                    },
                ]
            },
            "pjlink": {"password": PJLINK_PASSWORD},
            "collector": {"url": "https://collecte.example.fr"},
            "status_page": status_page,
        }
    )


def _device(device_id: str, category: str, **extra: Any) -> DeviceRecord:
    first = NOW - timedelta(days=extra.pop("age_days", 40))
    last = NOW - timedelta(minutes=extra.pop("seen_min_ago", 10))
    return DeviceRecord(
        device_id=device_id, category=category, first_seen=first, last_seen=last, **extra
    )


def devices() -> list[DeviceRecord]:
    infra = [
        _device(
            "hp-1",
            "printer",
            vendor="HP",
            model="LaserJet Pro M404dn",
            name="imprimante-direction",
            ip="10.20.0.31",
            mac="a0:d3:c1:11:22:33",
            health={"supplies": [{"description": "Toner noir CF259A", "percent": 10}]},
        ),
        _device(
            "brother-1",
            "mfp",
            vendor="Brother",
            model="MFC-L2710DW",
            ip="10.20.0.32",
            mac="00:1b:a9:44:55:66",
            health={
                "supplies": [
                    {"description": "Toner TN-2420", "percent": 65},
                    {"description": "Tambour DR-2400", "percent": None},
                ]
            },
        ),
        _device(
            "epson-1",
            "projector",
            vendor="Epson",
            model="EB-680",
            name="VP-CM1",
            ip="10.20.0.41",
            mac="a4:ee:57:01:02:03",
            health={"lamp_hours": [3480], "errors": {"lamp": "warning"}},
        ),
        _device(
            "xss-1",
            "printer",
            vendor="Acme",
            model="Evil 1",
            name=XSS_NAME,
            ip="10.20.0.66",
            mac="02:00:00:00:00:66",
        ),
        _device(
            "nas-1",
            "nas",
            vendor="Synology",
            model="DS220+",
            ip="10.20.0.10",
            mac="00:11:32:aa:bb:cc",
        ),
    ]
    infra += [
        _device(
            f"ap-{i}",
            "access_point",
            vendor="Ubiquiti",
            model="UniFi U6 Lite",
            ip=f"10.20.0.{20 + i}",
            mac=f"74:83:c2:00:00:{i:02x}",
        )
        for i in range(3)
    ]
    personal = [
        _device(
            f"personal-{i}",
            "tablet_or_phone" if i < 8 else "computer",
            personal=True,
            vendor="Apple" if i < 8 else "Dell",
            name=PERSONAL_NAMES[i],
            mac=PERSONAL_MACS[i],
            ip=f"10.20.1.{100 + i}",
            private_address=i in (0, 1, 2),
        )
        for i in range(14)
    ]
    unknown = [
        _device(f"unknown-{i}", "unknown", vendor="Espressif", ip=f"10.20.2.{i}") for i in range(2)
    ]
    return infra + personal + unknown


def assessment() -> dict[str, Any]:
    def text(fr: str, en: str) -> dict[str, str]:
        return {"fr": fr, "en": en}

    return {
        "uai": "0751234J",
        "assessed_at": (NOW - timedelta(hours=1)).isoformat(),
        "criteria": [
            {
                "id": "classroom_display",
                "title": text(
                    "Un affichage collectif par classe", "One collective display per classroom"
                ),
                "level": "required",
                "status": "partly_met",
                "message": text("6 classes sur 8 équipées", "6 of 8 classrooms equipped"),
                "section": "1.1",
                "items": [
                    {"label": "Epson EB-680 (VP-CM1)", "room": "CM1", "source": "both"},
                    {"label": "TNI", "room": "CE2", "source": "declared"},
                ],
            },
            {
                "id": "internet_minimum",
                "title": text("Débit Internet minimum", "Minimum Internet bandwidth"),
                "level": "required",
                "status": "met",
                "message": text("11,2 Mbit/s ≥ 10", "11.2 Mbit/s ≥ 10"),
                "section": "3",
                "items": [],
            },
            {
                "id": "wifi_switch_off",
                "title": text("Wi-Fi désactivable", "Wi-Fi can be switched off"),
                "level": "required",
                "status": "not_met",
                "message": text("Bornes allumées la nuit", "Access points on at night"),
                "items": [{"label": "UniFi U6 Lite", "source": "discovered"}],
            },
        ],
        "summary": {"met": 1, "judged": 3, "unknown": 0, "gaps": [{"id": "wifi_switch_off"}]},
        "maintenance": [
            {
                "device_id": "hp-1",
                "device": "HP LaserJet Pro M404dn (imprimante-direction)",
                "kind": "toner_low",
                "severity": "warning",
                "message": text("Toner noir à 10 %", "Black toner at 10 %"),
            },
            {
                "device_id": "epson-1",
                "device": "Epson EB-680 (VP-CM1)",
                "kind": "lamp_near_end",
                "severity": "warning",
                "message": text("Lampe : 3480 h", "Lamp: 3480 h"),
            },
        ],
    }


def report(settings: AgentSettings, at: datetime, down: float, up: float) -> BandwidthReport:
    """A report as the daemon stores it: a real result with its per-test verdict."""

    result = throughput_result(round(down, 2), round(up, 2), at).model_copy(
        update={
            "target": "https://speed.example.fr/backend",
            "latency": LatencyResult(idle_tcp_connect_ms=18.0, loaded_rtt_ms=140.0),
        }
    )
    return BandwidthReport(
        result=result,
        verdict=verdict_for_test(result, school_thresholds(settings)),
        budget_month=at.strftime("%Y-%m"),
        budget_used_bytes=1_200_000_000,
        budget_limit_bytes=5_000_000_000,
    )


def fill_store(path: Path) -> StateStore:
    store = StateStore(path)
    store.record_cycle(NOW - timedelta(minutes=10), devices())
    school_settings = settings()
    for hour in range(30 * 24 - 1, 0, -6):  # 4 tests a day for 30 days
        at = NOW - timedelta(hours=hour)
        down = 11.0 + 2.5 * math.sin(hour / 17)
        up = 1.6 + 0.3 * math.cos(hour / 11)
        stored = report(school_settings, at, down, up)
        record = {
            **measurement_record(stored),
            "server": f"https://user:{URL_PASSWORD}@speed.example.fr",
        }
        store.add_measurement(
            "throughput", at, record, ok=True, down_mbps=record["down_mbps"], up_mbps=up
        )
    store.add_measurement("throughput", NOW - timedelta(hours=2), {"junk": "no numbers"}, ok=False)
    store.add_measurement(
        "latency", NOW - timedelta(minutes=3), {"idle_rtt_ms": 17.4, "loaded_rtt_ms": None}, ok=True
    )
    store.add_assessment(NOW - timedelta(hours=1), assessment())
    _jobs(store)
    return store


def _jobs(store: StateStore) -> None:
    runs = [
        ("discovery", 40, True, "23 appareils", None),
        ("throughput", 120, True, XSS_SUMMARY, None),
        ("latency", 3, True, "18 ms", None),
        (
            "upload",
            15,
            False,
            "",
            f"POST https://agent:{URL_PASSWORD}@collecte.example.fr/ingest: 503 (community {COMMUNITY})",
        ),
    ]
    for job, minutes_ago, ok, summary, error in runs:
        started = NOW - timedelta(minutes=minutes_ago)
        run_id = store.start_job(job, started)
        store.finish_job(
            run_id, started + timedelta(seconds=12), ok=ok, summary=summary, error=error
        )


def runtime() -> RuntimeInfo:
    return RuntimeInfo(
        version="0.1.0",
        started_at=NOW - timedelta(days=3, hours=4),
        next_runs={
            "discovery": NOW + timedelta(minutes=20),
            "throughput": NOW + timedelta(hours=5),
            "latency": NOW + timedelta(minutes=2),
            "upload": None,
        },
        spool=SpoolStats(
            depth=3,
            dead_letters=1,
            dropped=0,
            last_success_at=NOW - timedelta(minutes=30),
            clock_skew_s=95.0,
            last_error=f"503 from collector (key {AUTH_KEY})",
        ),
        clock_synchronised=True,
        data_budget=DataBudget(used_bytes=1_200_000_000, limit_bytes=5_000_000_000),
    )
