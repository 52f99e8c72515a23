"""The pieces behind the pages: language choice, formats, verdicts, chart, defensive reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.bandwidth import rolling_verdict, thresholds_for
from agent.state import DeviceRecord
from agent.status.bandwidth import Judgement, Point, to_point
from agent.status.chart import ChartText, nice_ceiling, throughput_chart
from agent.status.checklist import build_checklist
from agent.status.data import assessment_summary
from agent.status.i18n import Translator, negotiate
from agent.status.inventory import build_inventory, health_of
from agent.status.redact import Redactor
from tests.agent.status import school
from tests.agent.test_bandwidth import result

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "header", "default", "expected"),
    [
        (None, None, "fr", "fr"),
        (None, None, "en", "en"),
        ("en", "fr", "fr", "en"),
        ("EN-gb", None, "fr", "en"),
        ("de", "en-US,en;q=0.9", "fr", "en"),
        (None, "de-DE,de;q=0.9", "fr", "fr"),
        (None, "de, en;q=0.5, fr;q=0.7", "en", "fr"),
        (None, "en;q=0", "fr", "fr"),
        (None, "en;q=bogus, fr", "en", "fr"),
    ],
)
def test_negotiate(query: str | None, header: str | None, default: str, expected: str) -> None:
    assert negotiate(query, header, default) == expected  # type: ignore[arg-type]


def test_translator_formats() -> None:
    fr, en = Translator("fr", PARIS), Translator("en", PARIS)
    assert fr.number(12.34) == "12,3" and en.number(12.34) == "12.3" and fr.number(10.0) == "10"
    assert fr.number(None) == "–"
    assert fr.when(T0) == "23/11/2026 08:00" and en.when(T0) == "2026-11-23 08:00"
    assert (
        fr.duration(3 * 86400 + 4 * 3600 + 60) == "3 j 4 h" and en.duration(3 * 86400) == "3 d 0 h"
    )
    assert fr.duration(3700) == "1 h 01 min" and fr.duration(42) == "42 s"
    assert fr.size(1_200_000_000) == "1,2 Go" and en.size(950) == "950 B"
    assert fr.count("tests", 1) == "1 mesure" and fr.count("tests", 0) == "0 mesure"
    assert en.count("tests", 0) == "0 tests" and en.count("tests", 1) == "1 test"
    assert fr.local({"fr": "oui", "en": "yes"}) == "oui" and en.local({"fr": "oui"}) == "oui"
    assert fr.local(None) == "" and fr.local("texte") == "texte"
    assert fr.category("printer") == "Imprimantes" and fr.category("fridge") == "fridge"
    assert fr("no_such_key") == "no_such_key"


def _point(down: float | None, up: float | None = 50.0, line: float | None = None) -> Point:
    record = {"down_mbps": down, "up_mbps": up, "line_down_mbps": line}
    return to_point(T0, record)


def test_the_page_shows_the_rolling_verdict_and_how_many_tests_it_lacks() -> None:
    small = thresholds_for("small")  # the referential asks for 3 tests in the window
    two = [result(9, 5, at=T0 - timedelta(days=d)) for d in (1, 2)]
    waiting = Judgement.of(rolling_verdict(two, T0, small))
    assert waiting.verdict == "unknown" and waiting.too_few_tests
    assert (waiting.tests, waiting.min_tests) == (2, 3)
    assert waiting.median_down_mbps == pytest.approx(9 * 1514 / 1448, rel=1e-3)
    three = [*two, result(7, 5, at=T0 - timedelta(days=3))]
    judged = Judgement.of(rolling_verdict(three, T0, small))
    assert judged.verdict == "minimum" and not judged.too_few_tests
    assert judged.basis == "line_rate"
    assert judged.median_down_mbps == pytest.approx(9 * 1514 / 1448, rel=1e-3)


def test_records_are_read_defensively() -> None:
    junk = to_point(T0, {"down_mbps": "fast", "up_mbps": float("nan"), "verdict": "yes"})
    assert junk.down_mbps is None and junk.up_mbps is None and junk.minimum_met is None
    negative = to_point(T0, {"down_mbps": -3, "up_mbps": True})
    assert negative.down_mbps is None and negative.up_mbps is None


def test_nice_ceiling() -> None:
    assert [nice_ceiling(v) for v in (0, 9, 11, 37.8, 40.8, 108)] == [1, 10, 15, 40, 50, 150]
    assert nice_ceiling(23) == 25 and nice_ceiling(0.7) == pytest.approx(0.8)


def _text(title: str = "Débit") -> ChartText:
    return ChartText(
        title, "Minimum", "Souhaitable", "Aucune mesure", Translator("fr", PARIS).months
    )


def test_chart_escapes_and_handles_empty_data() -> None:
    levels = thresholds_for("large")
    empty = throughput_chart([], levels, T0, _text("<b>&"), PARIS)
    assert "Aucune mesure" in empty and "&lt;b&gt;&amp;" in empty and "<b>" not in empty
    assert "Souhaitable 100" in empty and "Minimum 15" in empty


def test_chart_keeps_points_inside_the_plot() -> None:
    points = [
        to_point(T0 - timedelta(days=40), {"down_mbps": 5}),  # outside the 30 days
        to_point(T0 - timedelta(days=1), {"down_mbps": 500, "up_mbps": 1}),
        to_point(T0, {"down_mbps": 0}),
    ]
    svg = str(throughput_chart(points, thresholds_for("small"), T0, _text(), PARIS))
    assert svg.count("<circle") == 3
    assert ">600<" in svg  # the axis grows past the highest test (500 + margin)
    assert "23 nov." in svg


def test_health_of_junk() -> None:
    health = health_of(
        {
            "supplies": [{"description": "Toner", "percent": 140}, "junk", {"percent": "x"}],
            "lamp_hours": 1200,
            "errors": ["not", "a", "dict"],
        }
    )
    assert [(s.description, s.percent) for s in health.supplies] == [("Toner", 100.0), ("", None)]
    assert health.lamp_hours == [1200] and health.errors == []
    assert health_of({}).empty


def test_inventory_counts_personal_and_unknown() -> None:
    devices = school.devices()
    inventory = build_inventory(devices)
    listed = [d for _, group in inventory.groups for d in group]
    assert not any(d.personal for d in listed)
    assert [name for name, _ in inventory.groups][:2] == ["projector", "printer"]
    assert inventory.personal_total == 14 and inventory.private_address == 3
    laptop_not_flagged = DeviceRecord(
        device_id="x", category="computer", first_seen=T0, last_seen=T0, name="PC-de-Paul"
    )
    assert build_inventory([laptop_not_flagged]).groups == []


def test_checklist_and_summary_survive_junk() -> None:
    assert build_checklist(None) is None and assessment_summary(None) is None
    checklist = build_checklist(
        {
            "criteria": [{"status": "exploded", "items": ["x", {"source": "rumour"}]}, "junk"],
            "summary": "none",
            "maintenance": [{"severity": "apocalyptic"}],
            "assessed_at": "yesterday",
        }
    )
    assert checklist is not None and checklist.assessed_at is None
    (criterion,) = checklist.criteria
    assert criterion.status == "unknown" and criterion.items[0].source == ""
    assert checklist.maintenance[0].severity == "warning"
    assert assessment_summary({"summary": {"met": True, "gaps": 2}}) == {
        "met": None,
        "judged": None,
        "gaps": 2,
        "assessed_at": None,
    }


def test_redactor_removes_secret_values_and_url_credentials() -> None:
    redactor = Redactor(school.settings(password=True))
    text = redactor.text(f"snmp {school.COMMUNITY} at https://u:{school.URL_PASSWORD}@host/x")
    assert school.COMMUNITY not in text and school.URL_PASSWORD not in text
    assert text == "snmp *** at https://***@host/x"
    rows = dict(redactor.config_rows(school.settings(password=True)))
    assert rows["status_page.password_hash"] == "***"
    credentials = rows["snmp.credentials"]
    assert "community=***" in credentials and "priv_key=***" in credentials
    assert rows["schedule.lesson_hours.monday"] == (
        "start=08:30:00 end=11:30:00; start=13:30:00 end=16:30:00"
    )
    assert rows["school.effective_size"] == "medium"
    assert redactor.text(None) == ""
