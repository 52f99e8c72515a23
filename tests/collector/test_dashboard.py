"""Dashboard pages and exports over a collector filled by real, signed ingests."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest

from collector.auth import Auth
from tests.collector.fill import fleet_school, login
from tests.collector.live import LiveCollector, uai

PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://evil.example","x")'
A, B, C, D = uai(780001), uai(780002), uai(780003), uai(780004)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> Iterator[LiveCollector]:
    server = LiveCollector(tmp_path_factory.mktemp("dash"), database_url=module_db_url).start()
    Auth(server.engine, server.config.auth).add_user("admin", PASSWORD)
    fleet_school(server, A, name="École Jaurès", commune="Lyon", size="medium", device_name=XSS)
    fleet_school(
        server,
        B,
        name="École Curie",
        commune="Lyon",
        size="small",
        minimum="fail",
        median=4.0,
        wifi="not_met",
    )
    fleet_school(
        server,
        C,
        name=FORMULA,
        commune="Villeurbanne",
        size="large",
        desirable="pass",
        median=120.0,
    )
    fleet_school(server, D, name="École muette", commune="Bron", size=None, send=False)
    yield server
    server.close()


@pytest.fixture(scope="module")
def client(live: LiveCollector) -> Iterator[httpx.Client]:
    http = login(live, "admin", PASSWORD)
    yield http
    http.close()


def _uais(html: str) -> list[str]:
    return [u for u in (A, B, C, D) if f">{u}</a>" in html]


ROUTES = [
    "/fleet",
    f"/schools/{A}",
    "/export/schools.csv",
    "/export/schools.json",
    "/export/devices.csv",
    "/export/devices.json",
]


@pytest.mark.parametrize("path", ROUTES)
def test_every_dashboard_route_needs_a_user(live: LiveCollector, path: str) -> None:
    with httpx.Client(base_url=live.url, cookies={"socle_session": "forged"}) as anonymous:
        response = anonymous.get(path)
    if path.startswith("/export"):
        assert response.status_code == 401
    else:
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_fleet_lists_every_school_with_counts(client: httpx.Client) -> None:
    page = client.get("/fleet")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    assert _uais(page.text) == [A, B, C, D]
    assert 'id="count-schools"><b>4</b>' in page.text
    assert 'id="count-minimum"><b>2</b>' in page.text  # A and C
    assert 'id="count-desirable"><b>1</b>' in page.text  # C
    assert 'id="count-silent"><b>1</b>' in page.text  # D never sent anything
    assert "Parc des écoles" in page.text  # French by default


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("commune=Lyon", [A, B]),
        ("size=large", [C]),
        ("size=unknown", [D]),
        ("verdict=minimum_fail", [B]),
        ("verdict=desirable_pass", [C]),
        ("alert=wifi_on", [B]),
        ("alert=below_minimum", [B]),
        ("alert=silent", [D]),
        ("q=École%20C", [B]),
        (f"q={C[:7]}", [C]),
    ],
)
def test_filters(client: httpx.Client, query: str, expected: list[str]) -> None:
    assert _uais(client.get(f"/fleet?{query}").text) == expected


def test_sorting_and_pagination(client: httpx.Client) -> None:
    text = client.get("/fleet?sort=median&order=desc").text
    positions = [text.index(f">{u}</a>") for u in (C, A, B, D)]
    assert positions == sorted(positions)  # 120 > 37.5 > 4 > none (nulls last)
    first = client.get("/fleet?per_page=2&sort=uai").text
    second = client.get("/fleet?per_page=2&sort=uai&page=2").text
    assert _uais(first) == [A, B] and _uais(second) == [C, D]
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_english_by_parameter_or_header(client: httpx.Client) -> None:
    assert "School fleet" in client.get("/fleet?lang=en").text
    assert "School fleet" in client.get("/fleet", headers={"Accept-Language": "en-GB"}).text
    assert "lang=en" in client.get("/fleet?lang=en").text  # links keep the language


def test_school_page(client: httpx.Client) -> None:
    page = client.get(f"/schools/{B}")
    assert page.status_code == 200
    text = page.text
    assert "<svg" in text and 'class="minimum"' in text and 'class="desirable"' in text
    assert "Il manque un scanner" in text and "Wi-Fi allumé le soir" in text
    assert "toner bas" in text  # a printer at 10 %
    assert 'id="timeline"' in text and "<td>1</td>" in text
    assert client.get(f"/schools/{uai(789999)}").status_code == 404
    assert client.get("/schools/not-a-uai").status_code == 404


def test_device_names_are_text_not_markup(client: httpx.Client) -> None:
    text = client.get(f"/schools/{A}").text
    assert XSS not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_csv_export_neutralises_formulas(client: httpx.Client) -> None:
    response = client.get("/export/schools.csv")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["uai"] for r in rows] == [A, B, C, D]
    by_uai = {r["uai"]: r for r in rows}
    assert by_uai[C]["name"] == "'" + FORMULA
    assert by_uai[B]["verdict_minimum"] == "fail" and by_uai[D]["silent"] in ("True", "1")
    filtered = list(
        csv.DictReader(io.StringIO(client.get("/export/schools.csv?commune=Lyon").text))
    )
    assert [r["uai"] for r in filtered] == [A, B]


def test_json_and_device_exports(client: httpx.Client) -> None:
    schools = client.get("/export/schools.json").json()
    assert len(schools) == 4 and {s["uai"] for s in schools} == {A, B, C, D}
    devices = client.get(f"/export/devices.json?uai={A}").json()
    assert len(devices) == 6 and XSS in {d["name"] for d in devices}
    text = client.get("/export/devices.csv").text
    assert len(list(csv.DictReader(io.StringIO(text)))) == 18


def test_bad_parameters_are_4xx(client: httpx.Client) -> None:
    for query in ("page=0", "page=x", "size=huge", "sort=password", "per_page=100000"):
        assert client.get(f"/fleet?{query}").status_code == 422, query


def test_logout_needs_the_csrf_token(live: LiveCollector) -> None:
    own = login(live, "admin", PASSWORD)
    try:
        assert own.post("/logout", data={"csrf": "wrong"}).status_code == 403
        page = own.get("/fleet").text
        token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        assert own.post("/logout", data={"csrf": token}).status_code == 303
        assert own.get("/fleet").status_code == 303  # the session is gone
    finally:
        own.close()


def test_login_without_the_form_token_is_refused(live: LiveCollector) -> None:
    with httpx.Client(base_url=live.url) as raw:
        response = raw.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 403
