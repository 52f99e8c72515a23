"""With a password hash configured, nothing answers without the password."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from agent.status.guard import basic_password
from tests.agent.status import school
from tests.agent.status.test_status_pages import ROUTES


@pytest.mark.parametrize("route", [*ROUTES, "/nowhere", "/docs", "/?lang=en"])
def test_every_route_needs_the_password(locked_client: TestClient, route: str) -> None:
    for auth in (None, ("admin", "wrong"), ("admin", "")):
        response = locked_client.get(route, auth=auth)
        assert response.status_code == 401, (route, auth)
        assert response.headers["www-authenticate"].startswith('Basic realm="socle-agent"')
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert "Jules Ferry" not in response.text and "socle_" not in response.text
    assert locked_client.head(route).status_code == 401


@pytest.mark.parametrize("user", ["admin", "", "mairie"])
def test_any_user_name_with_the_password(locked_client: TestClient, user: str) -> None:
    response = locked_client.get("/", auth=(user, school.PASSWORD))
    assert response.status_code == 200 and "Jules Ferry" in response.text
    assert locked_client.get("/metrics", auth=(user, school.PASSWORD)).status_code == 200


def test_write_methods_refused_even_with_password(locked_client: TestClient) -> None:
    response = locked_client.post("/api/v1/status", auth=("admin", school.PASSWORD))
    assert response.status_code == 405


def test_malformed_authorization_headers(locked_client: TestClient) -> None:
    for header in (
        "Bearer abc",
        "Basic",
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ):
        assert locked_client.get("/", headers={"Authorization": header}).status_code == 401


def test_basic_password_parsing() -> None:
    def header(raw: bytes) -> str:
        return "Basic " + base64.b64encode(raw).decode()

    assert basic_password(header(b"user:pa:ss")) == "pa:ss"
    assert basic_password(header("u:été".encode())) == "été"
    assert basic_password(header("u:été".encode("latin-1"))) == "été"
    assert basic_password("basic " + base64.b64encode(b":x").decode()) == "x"
    assert basic_password(None) is None


def test_open_page_when_no_password(client: TestClient) -> None:
    assert client.get("/").status_code == 200
