"""The four pages render the school in French by default, English on request, safely."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from agent.service import measurement_record
from agent.state import StateStore
from agent.status import create_status_app
from tests.agent.status import school

PAGES = ["/", "/equipment", "/checklist", "/agent"]
ROUTES = [*PAGES, "/api/v1/status", "/api/v1/inventory", "/api/v1/measurements", "/metrics"]


def test_overview_in_french(client: TestClient) -> None:
    html = client.get("/").text
    assert '<html lang="fr">' in html
    assert "École élémentaire Jules Ferry" in html and "0751234J" in html
    assert "école moyenne" in html
    assert "Minimum atteint" in html  # medium school: line rate ~12.9 ≥ 10, < 35
    assert "↓ 10 Mbit/s" in html and "↓ 35 / ↑ 20 Mbit/s" in html
    assert "<svg" in html and "Souhaitable 35" in html and "Minimum 10" in html
    assert "Rejetés" in html and "horloge à vérifier" in html  # dead letter, 95 s skew
    assert "1,2 Go utilisés sur 5 Go" in html
    assert "Découverte du réseau" in html and "1 / 3" in html


def test_too_few_tests_are_shown_as_such(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.sqlite3")
    settings = school.settings()
    for hours in (30, 6):  # two tests this week; the referential asks for three
        report = school.report(settings, school.NOW - timedelta(hours=hours), 12.0, 2.0)
        at, record = report.result.started_at, measurement_record(report)
        store.add_measurement("throughput", at, record, ok=True)
    app = create_status_app(settings, store, school.runtime)
    with TestClient(app) as client:
        fr = client.get("/").text
        en = client.get("/", params={"lang": "en"}).text
        status = client.get("/api/v1/status").json()["bandwidth"]
    store.close()
    assert "Pas encore assez de mesures" in fr and "2 mesure(s) sur les 3" in fr
    assert "Not enough tests yet" in en and "2 test(s) of the 3 needed" in en
    assert status["verdict"] == "unknown" and (status["tests"], status["min_tests"]) == (2, 3)
    assert status["median_down_mbps"] > 12  # line rate of 12 Mbit/s goodput, still shown


def test_chart_draws_thirty_days_of_tests(client: TestClient) -> None:
    svg = re.search(r"<svg.*?</svg>", client.get("/").text, re.S)
    assert svg is not None
    assert svg.group(0).count('<circle cx="') == 2 * 120  # down and up, 4 tests a day
    assert svg.group(0).count("stroke-dasharray") == 2  # minimum and desirable lines


def test_english_by_query_and_by_browser(client: TestClient) -> None:
    by_query = client.get("/", params={"lang": "en"}).text
    assert '<html lang="en">' in by_query and "Minimum met" in by_query
    assert "medium school" in by_query and "1.2 GB used of 5 GB" in by_query
    by_header = client.get("/equipment", headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert by_header.headers["content-language"] == "en" and "Projectors" in by_header.text
    french_wins = client.get("/", headers={"Accept-Language": "en;q=0.4, fr-FR;q=0.8"})
    assert french_wins.headers["content-language"] == "fr"
    query_wins = client.get("/?lang=fr", headers={"Accept-Language": "en"})
    assert query_wins.headers["content-language"] == "fr"


def test_language_switch_links_keep_the_page(client: TestClient) -> None:
    html = client.get("/checklist").text
    assert 'href="/checklist?lang=en"' in html
    assert 'href="/equipment?lang=fr"' in html
    english = client.get("/checklist?lang=en").text
    assert 'href="/checklist?lang=fr"' in english and 'href="/agent?lang=en"' in english


def test_configured_english_default(store: object) -> None:
    from agent.status import create_status_app

    app = create_status_app(school.settings(language="en"), store, school.runtime)  # type: ignore[arg-type]
    with TestClient(app) as english:
        assert english.get("/").headers["content-language"] == "en"


def test_equipment_shows_health_and_counts_people(client: TestClient) -> None:
    html = client.get("/equipment").text
    assert "Imprimantes" in html and "Vidéoprojecteurs" in html and "Bornes Wi-Fi" in html
    assert "LaserJet Pro M404dn" in html and "Toner noir CF259A" in html
    assert 'class="bar low"' in html and "10 %" in html
    assert "3480 h" in html and "lampe : avertissement" in html
    assert "DS220+" in html and "10.20.0.10" in html
    assert "Toner noir à 10 %" in html  # maintenance from the assessment
    personal = re.search(r'id="personal".*?</section>', html, re.S)
    assert personal is not None
    assert "<strong>14</strong>" in personal.group(0)
    assert "<dd>8</dd>" in personal.group(0) and "<dd>6</dd>" in personal.group(0)
    assert "<dd>3</dd>" in personal.group(0)  # private addresses
    assert "Non identifiés (2)" in html and "Espressif" in html


def test_checklist_shows_status_and_sources(client: TestClient) -> None:
    html = client.get("/checklist").text
    assert "Un affichage collectif par classe" in html and "en partie" in html
    assert "non rempli" in html and "rempli" in html
    assert "découvert et déclaré" in html and "déclaré" in html
    english = client.get("/checklist?lang=en").text
    assert "One collective display per classroom" in english and "6 of 8" in english


def test_agent_page_masks_configuration(client: TestClient) -> None:
    html = client.get("/agent").text
    assert "0.1.0" in html and "3 j 4 h" in html
    assert "snmp.credentials" in html and "community=***" in html
    assert "status_page.language" in html
    assert "Envoi au collecteur" in html and "503" in html  # the failed upload, redacted


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_no_secret_in_any_response(client: TestClient, lang: str) -> None:
    for route in ROUTES:
        body = client.get(route, params={"lang": lang}).text
        for secret in school.SECRETS:
            assert secret not in body, (route, secret)


def test_no_secret_with_password_set(locked_client: TestClient) -> None:
    hashed = school.settings(password=True).status_page.password_hash
    assert hashed is not None
    for route in ROUTES:
        body = locked_client.get(route, auth=("admin", school.PASSWORD)).text
        assert hashed.get_secret_value() not in body
        assert "scrypt$" not in body
        for secret in school.SECRETS:
            assert secret not in body, (route, secret)


def test_personal_devices_never_named(client: TestClient) -> None:
    for route in ROUTES:
        body = client.get(route).text.lower()
        for private in school.PERSONAL_NAMES + school.PERSONAL_MACS:
            assert private.lower() not in body, (route, private)


def test_html_in_device_names_is_escaped(client: TestClient) -> None:
    html = client.get("/equipment").text
    assert school.XSS_NAME not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    overview = client.get("/").text
    assert school.XSS_SUMMARY not in overview and "&lt;img src=x onerror=alert(2)&gt;" in overview
    assert "<script" not in overview.lower()


def test_security_headers_everywhere(client: TestClient) -> None:
    for route in [*ROUTES, "/nowhere"]:
        response = client.get(route)
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "style-src 'unsafe-inline'" in csp
        assert "img-src 'self' data:" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert client.get("/nowhere").status_code == 404


def test_read_only(client: TestClient) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        response = client.request(method, "/api/v1/status")
        assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
    head = client.head("/")
    assert head.status_code == 200 and head.content == b""
    assert client.head("/metrics").status_code == 200


def test_docs_are_off(client: TestClient) -> None:
    for route in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(route).status_code == 404
