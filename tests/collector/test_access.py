"""Who gets in: brute force slowed, proxy header trusted only from its proxy, CLI users,
and the throughput target for enrolled agents only (signature or token), within budget."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from agent.keys import AgentKey
from collector import rfc9421
from collector.auth import Auth
from collector.cli import app as cli
from tests.collector.fill import login, post, snapshot_of
from tests.collector.live import LiveCollector, new_key, uai

PASSWORD = "correct horse battery"
SCHOOL = uai(790001)


@pytest.fixture
def make_live(tmp_path: Path, db_url: str) -> Iterator[Any]:
    started: list[LiveCollector] = []

    def make(ingest: dict[str, Any] | None = None, **settings: Any) -> LiveCollector:
        server = LiveCollector(
            tmp_path, database_url=db_url, settings=settings, **(ingest or {})
        ).start()
        Auth(server.engine, server.config.auth).add_user("admin", PASSWORD)
        started.append(server)
        return server

    yield make
    for server in started:
        server.close()


def _attempt(client: httpx.Client, username: str, password: str) -> int:
    form = client.get("/login").text
    csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf": csrf}
    )
    return response.status_code


def test_brute_force_on_one_user_is_stopped(make_live: Any) -> None:
    live = make_live(auth={"login_max_failures_per_user": 3})
    with httpx.Client(base_url=live.url) as client:
        assert [_attempt(client, "admin", f"guess-{i}") for i in range(3)] == [401] * 3
        assert _attempt(client, "admin", "guess-4") == 429
        assert _attempt(client, "admin", PASSWORD) == 429  # even the right one, for a while
        assert _attempt(client, "someone-else", "x" * 12) == 401  # other users unaffected


def test_brute_force_from_one_address_is_stopped(make_live: Any) -> None:
    live = make_live(auth={"login_max_failures_per_ip": 4})
    with httpx.Client(base_url=live.url) as client:
        codes = [_attempt(client, f"user{i}", "wrong-password") for i in range(5)]
        assert codes == [401] * 4 + [429]
        response = client.get("/login")
        assert response.status_code == 200


def test_successful_login_sets_a_strict_httponly_cookie(make_live: Any) -> None:
    live = make_live()
    with httpx.Client(base_url=live.url) as client:
        form = client.get("/login").text
        csrf = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        response = client.post(
            "/login",
            data={"username": "admin", "password": PASSWORD, "csrf": csrf, "next": "//evil"},
        )
    assert response.status_code == 303 and response.headers["location"] == "/fleet"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_proxy_header_only_from_trusted_addresses(make_live: Any) -> None:
    trusted = make_live(auth={"proxy_header": "X-Remote-User", "trusted_proxies": ["127.0.0.0/8"]})
    with httpx.Client(base_url=trusted.url) as client:
        assert client.get("/fleet", headers={"X-Remote-User": "alice"}).status_code == 200
        assert client.get("/fleet").status_code == 303
    other = make_live(auth={"proxy_header": "X-Remote-User", "trusted_proxies": ["192.0.2.1"]})
    with httpx.Client(base_url=other.url) as client:
        assert client.get("/fleet", headers={"X-Remote-User": "alice"}).status_code == 303


def test_cli_user_add_reads_the_password_from_stdin(db_url: str) -> None:
    runner = CliRunner()
    added = runner.invoke(
        cli, ["user", "add", "--username", "bob", "--database", db_url], input=PASSWORD + "\n"
    )
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output
    listed = runner.invoke(cli, ["user", "list", "--database", db_url])
    assert listed.stdout.split() == ["bob"]
    short = runner.invoke(
        cli, ["user", "add", "--username", "eve", "--database", db_url], input="short\n"
    )
    assert short.exit_code == 2


# --- throughput target ------------------------------------------------------------------


def _signed_get(url: str, key: AgentKey) -> httpx.Request:
    headers = rfc9421.sign(
        private_key=key.private_key,
        component_values={"@method": "GET", "@target-uri": url},
        components=("@method", "@target-uri"),
        params=(
            ("created", int(time.time())),
            ("keyid", key.agent_id),
            ("nonce", secrets.token_urlsafe(18)),
            ("alg", "ed25519"),
        ),
    )
    return httpx.Request("GET", url, headers=headers)


def test_throughput_target_refuses_strangers(make_live: Any) -> None:
    live = make_live()
    with httpx.Client(base_url=live.url) as client:
        for path in (
            "/garbage.php?ckSize=1",
            "/backend/empty.php",
            "/getIP",
            "/v1/throughput/x.1.y/garbage",
        ):
            assert client.get(path).status_code == 401, path
        stranger = new_key()
        response = client.send(_signed_get(live.url + "/garbage?ckSize=1", stranger))
        assert response.status_code == 401


def test_throughput_target_by_signature_and_by_token(make_live: Any) -> None:
    live = make_live(ingest={"key_cache_s": 0})  # a revocation applies at once
    key = new_key()
    live.enrol(key, SCHOOL)
    with httpx.Client(timeout=30) as client:
        signed = client.send(_signed_get(live.url + "/garbage?ckSize=1", key))
        assert signed.status_code == 200 and len(signed.content) == 1024 * 1024
        grant = post(live, key, snapshot_of(key, SCHOOL, 1)).json()["throughput"]
        base = grant["url"]
        assert base.startswith(live.url + "/v1/throughput/")
        assert client.get(base + "/empty.php").status_code == 200
        assert len(client.get(base + "/garbage.php?ckSize=2").content) == 2 * 1024 * 1024
        assert client.post(base + "/empty.php", content=b"x" * 1000).status_code == 200
        tampered = base[:-2] + ("AA" if not base.endswith("AA") else "BB")
        assert client.get(tampered + "/empty.php").status_code == 401
        live.store.revoke_agent(key.agent_id)
        assert client.get(base + "/empty.php").status_code == 401


def test_throughput_grant_is_reused_briefly(make_live: Any) -> None:
    """Minted once per agent per minute at most (a tenth of the token's life if shorter),
    not per snapshot; each agent its own; always good for nearly the token's life."""
    live = make_live(throughput={"token_ttl_s": 60})  # reused for 6 s
    first, second = new_key(), new_key()
    live.enrol(first, SCHOOL)
    live.enrol(second, uai(750002))

    def grant(key: AgentKey, school: str, seq: int) -> dict[str, str]:
        answer: dict[str, str] = post(live, key, snapshot_of(key, school, seq)).json()["throughput"]
        expires = datetime.fromisoformat(answer["expires_at"]).timestamp()
        assert expires >= time.time() + 60 - 6 - 1
        return answer

    one, two = grant(first, SCHOOL, 1), grant(first, SCHOOL, 2)
    other = grant(second, uai(750002), 1)
    assert one == two
    assert other["url"] != one["url"] and first.agent_id not in other["url"]
    time.sleep(6.2)
    three = grant(first, SCHOOL, 3)
    assert three["url"] != one["url"] and three["expires_at"] > one["expires_at"]
    with httpx.Client(timeout=30) as client:
        assert client.get(two["url"] + "/empty.php").status_code == 200
        assert client.get(three["url"] + "/empty.php").status_code == 200


def test_throughput_target_rate_limits_each_agent(make_live: Any) -> None:
    live = make_live(throughput={"max_requests_per_minute": 5, "max_mib_per_hour": 3})
    key = new_key()
    live.enrol(key, SCHOOL)
    base = post(live, key, snapshot_of(key, SCHOOL, 1)).json()["throughput"]["url"]
    with httpx.Client(timeout=30) as client:
        assert client.get(base + "/garbage?ckSize=2").status_code == 200
        over = client.get(base + "/garbage?ckSize=2")
        assert over.status_code == 429 and int(over.headers["retry-after"]) > 0
        codes = [client.get(base + "/getIP").status_code for _ in range(5)]
        assert codes[-1] == 429


def test_ops_endpoints(make_live: Any) -> None:
    live = make_live()
    key = new_key()
    live.enrol(key, SCHOOL)
    post(live, key, snapshot_of(key, SCHOOL, 1))
    with httpx.Client(base_url=live.url) as client:
        assert client.get("/healthz").json() == {"status": "ok", "database": "ok"}
        metrics = client.get("/metrics").text  # loopback may scrape
        assert 'socle_snapshots_accepted_total{outcome="stored"} 1.0' in metrics
        assert "socle_ingest_latency_seconds_bucket" in metrics
        assert "socle_agents_silent 0.0" in metrics
        assert client.get("/docs").status_code == 200
        schema = client.get("/openapi.json").json()
        assert "/fleet" in schema["paths"] and "/v1/snapshots" in schema["paths"]


def test_metrics_refused_to_other_networks(make_live: Any) -> None:
    live = make_live(ops={"metrics_allow": ["192.0.2.0/24"]})
    with httpx.Client(base_url=live.url) as client:
        assert client.get("/metrics").status_code == 403
    session = login(live, "admin", PASSWORD)
    try:
        assert session.get("/metrics").status_code == 200
    finally:
        session.close()


def test_access_log_hides_tokens_and_queries(
    make_live: Any, caplog: pytest.LogCaptureFixture
) -> None:
    live = make_live()
    with (
        caplog.at_level("INFO", logger="collector.access"),
        httpx.Client(base_url=live.url) as client,
    ):
        client.get("/v1/throughput/secret-token-value/empty?x=private")
        client.get("/fleet?q=secret-query")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "collector.access")
    assert "path=/v1/throughput/<token>/empty status=401" in text
    assert "secret" not in text and "private" not in text
