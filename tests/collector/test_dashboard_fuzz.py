"""Fuzzed dashboard and export parameters: a 4xx at worst, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.auth import Auth
from tests.collector.fill import fleet_school, login
from tests.collector.live import LiveCollector, uai

PASSWORD = "correct horse battery"
NAMES = [
    "commune",
    "size",
    "verdict",
    "alert",
    "q",
    "sort",
    "order",
    "page",
    "per_page",
    "lang",
    "uai",
]
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "1e9", "small", "any", "desc", "en", "NaN", "%00", "'--"]),
    st.integers(-(2**70), 2**70).map(str),
)
PATHS = st.sampled_from(
    ["/fleet", "/export/schools.csv", "/export/schools.json", "/export/devices.json", "/"]
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> Iterator[httpx.Client]:
    live = LiveCollector(tmp_path_factory.mktemp("fuzz"), database_url=module_db_url).start()
    Auth(live.engine, live.config.auth).add_user("admin", PASSWORD)
    fleet_school(live, uai(781001), name="École", commune="Lyon", size="small")
    http = login(live, "admin", PASSWORD)
    yield http
    http.close()
    live.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=PATHS,
    params=st.lists(st.tuples(st.sampled_from(NAMES) | st.text(max_size=10), VALUES), max_size=6),
)
def test_query_parameters_never_cause_a_5xx(
    client: httpx.Client, path: str, params: list[tuple[str, str]]
) -> None:
    pairs: Any = params  # httpx takes a list of pairs (repeated keys); its annotation does not
    response = client.get(path, params=pairs)
    assert response.status_code < 500, (path, params, response.text[:300])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(code=st.text(max_size=30))
def test_school_paths_never_cause_a_5xx(client: httpx.Client, code: str) -> None:
    from urllib.parse import quote

    response = client.get("/schools/" + quote(code or "x", safe=""))
    assert response.status_code < 500
