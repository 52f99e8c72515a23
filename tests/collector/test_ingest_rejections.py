"""Every refusal of issue 5, each with a hostile request built by hand, on a live collector."""

from __future__ import annotations

import gzip
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.keys import AgentKey
from agent.snapshot import encode
from tests.collector.live import HOST, LiveCollector, new_key, uai
from tests.collector.samples import gz, hand_signed, sample_snapshot

SCHOOL = uai(750001)
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> Iterator[LiveCollector]:
    server = LiveCollector(
        Path(tmp_path_factory.mktemp("collector")), database_url=module_db_url
    ).start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def key(live: LiveCollector) -> AgentKey:
    agent = new_key()
    live.enrol(agent, SCHOOL)
    return agent


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as http:
        yield http


_seq = iter(range(1, 10_000))


def _body(key: AgentKey, seq: int | None = None, devices: int = 3) -> bytes:
    return encode(sample_snapshot(key, SCHOOL, seq=seq or next(_seq), devices=devices))


def _post(client: httpx.Client, request: httpx.Request) -> tuple[int, dict[str, object]]:
    response = client.send(request)
    assert response.status_code < 500, response.text
    return response.status_code, response.json()


def test_valid_snapshot_is_stored_then_idempotent(live, key, client) -> None:  # type: ignore[no-untyped-def]
    body = _body(key)
    status, first = _post(client, hand_signed(live.url + "/v1/snapshots", body, key))
    assert status == 201 and first["status"] == "stored"
    status, again = _post(client, hand_signed(live.url + "/v1/snapshots", body, key))
    first.pop("throughput"), again.pop("throughput")  # fresh grants, compared elsewhere
    assert status == 200 and again == {**first, "status": "duplicate"}


def test_same_seq_with_other_content_is_a_conflict(live, key, client) -> None:  # type: ignore[no-untyped-def]
    seq = next(_seq)
    url = live.url + "/v1/snapshots"
    assert _post(client, hand_signed(url, _body(key, seq, devices=1), key))[0] == 201
    status, body = _post(client, hand_signed(url, _body(key, seq, devices=2), key))
    assert (status, body["error"]) == (409, "seq_conflict")


def test_unknown_key(live, client) -> None:  # type: ignore[no-untyped-def]
    stranger = new_key()
    status, body = _post(client, hand_signed(live.url + "/v1/snapshots", _body(stranger), stranger))
    assert (status, body["error"]) == (401, "unknown_key")


def test_revoked_key(live, client) -> None:  # type: ignore[no-untyped-def]
    agent = new_key()
    live.enrol(agent, SCHOOL)
    assert live.store.revoke_agent(agent.agent_id)
    status, body = _post(client, hand_signed(live.url + "/v1/snapshots", _body(agent), agent))
    assert (status, body["error"]) == (401, "revoked_key")


def test_bad_signature(live, key, client) -> None:  # type: ignore[no-untyped-def]
    request = hand_signed(live.url + "/v1/snapshots", _body(key), key)
    sig = request.headers["signature"]
    request.headers["signature"] = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    status, body = _post(client, request)
    assert (status, body["error"]) == (401, "bad_signature")


def test_signature_for_another_url(live, key, client) -> None:  # type: ignore[no-untyped-def]
    body = _body(key)
    request = hand_signed("http://collector.example.fr/v1/snapshots", body, key)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
    forged = httpx.Request("POST", live.url + "/v1/snapshots", content=body, headers=headers)
    status, answer = _post(client, forged)
    assert (status, answer["error"]) == (401, "bad_signature")


def test_each_host_is_checked_against_its_own_url(live, key, client) -> None:  # type: ignore[no-untyped-def]
    """The collector caches the URI it rebuilds per Host: a request signed for one
    name and sent with another must still fail, both orders, after both were seen."""
    port = live.url.rsplit(":", 1)[1]
    for name in ("localhost", HOST, "localhost"):
        url = f"http://{name}:{port}/v1/snapshots"
        request = hand_signed(url, _body(key), key)
        ok, _ = _post(
            client,
            httpx.Request(
                "POST", live.url + "/v1/snapshots", content=request.content, headers=request.headers
            ),
        )
        assert ok == 201
        other = "localhost" if name == HOST else HOST
        crossed = hand_signed(f"http://{other}:{port}/v1/snapshots", _body(key), key)
        headers = {k: v for k, v in crossed.headers.items() if k.lower() != "host"}
        headers["host"] = f"{name}:{port}"
        status, answer = _post(
            client,
            httpx.Request(
                "POST", live.url + "/v1/snapshots", content=crossed.content, headers=headers
            ),
        )
        assert (status, answer["error"]) == (401, "bad_signature")


def test_digest_mismatch(live, key, client) -> None:  # type: ignore[no-untyped-def]
    body = _body(key)
    request = hand_signed(live.url + "/v1/snapshots", body, key, digest_of=b"something else")
    status, answer = _post(client, request)
    assert (status, answer["error"]) == (400, "digest_mismatch")


@pytest.mark.parametrize("offset", [-400, 400])
def test_clock_skew_says_so_with_the_difference(live, key, client, offset: int) -> None:  # type: ignore[no-untyped-def]
    request = hand_signed(
        live.url + "/v1/snapshots", _body(key), key, created=int(time.time()) + offset
    )
    status, answer = _post(client, request)
    assert status == 401 and answer["error"] == "clock_skew"
    assert "clock skew" in str(answer["detail"])
    assert abs(float(answer["skew_s"]) - offset) < 5  # type: ignore[arg-type]


def test_nonce_replay(live, key, client) -> None:  # type: ignore[no-untyped-def]
    request = hand_signed(
        live.url + "/v1/snapshots", _body(key), key, nonce="replayed-nonce-0123456789"
    )
    assert _post(client, request)[0] == 201
    replay = httpx.Request("POST", request.url, content=request.content, headers=request.headers)
    status, answer = _post(client, replay)
    assert (status, answer["error"]) == (401, "replay")


def test_compressed_body_over_one_mebibyte(live, key, client) -> None:  # type: ignore[no-untyped-def]
    import os

    body = os.urandom(MIB + 1)  # incompressible
    status, answer = _post(client, hand_signed(live.url + "/v1/snapshots", body, key))
    assert (status, answer["error"]) == (413, "too_large")


def test_chunked_body_over_one_mebibyte_without_length(live, key, client) -> None:  # type: ignore[no-untyped-def]
    body = b"x" * (MIB + 10)
    signed = hand_signed(live.url + "/v1/snapshots", body, key, encoding=None)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    headers = {k: v for k, v in signed.headers.items() if k.lower() != "content-length"}
    request = httpx.Request("POST", signed.url, content=chunks(), headers=headers)
    status, answer = _post(client, request)
    assert (status, answer["error"]) == (413, "too_large")


def test_gzip_bomb(live, key, client) -> None:  # type: ignore[no-untyped-def]
    bomb = gzip.compress(b"{" + b" " * (64 * MIB), compresslevel=9)
    assert len(bomb) < 100_000
    status, answer = _post(client, hand_signed(live.url + "/v1/snapshots", bomb, key))
    assert (status, answer["error"]) == (413, "too_large")
    assert "decompressed" in str(answer["detail"])


def test_not_json(live, key, client) -> None:  # type: ignore[no-untyped-def]
    status, answer = _post(client, hand_signed(live.url + "/v1/snapshots", gz(b"{nope"), key))
    assert status == 422 and answer["field"] == "body"


def test_schema_violation_names_the_field(live, key, client) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(gzip.decompress(_body(key)))
    data["inventory"]["infrastructure"][1]["mac"] = "not-a-mac"
    body = gz(json.dumps(data).encode())
    status, answer = _post(client, hand_signed(live.url + "/v1/snapshots", body, key))
    assert status == 422 and answer["field"] == "inventory.infrastructure.1.mac"
    assert "inventory.infrastructure.1.mac" in str(answer["detail"])


def test_snapshot_of_another_agent_is_refused(live, key, client) -> None:  # type: ignore[no-untyped-def]
    other = new_key()
    body = encode(sample_snapshot(other, SCHOOL, seq=1))
    status, answer = _post(client, hand_signed(live.url + "/v1/snapshots", body, key))
    assert status == 422 and answer["field"] == "agent_id"


def test_snapshot_for_another_school_is_refused(live, key, client) -> None:  # type: ignore[no-untyped-def]
    body = encode(sample_snapshot(key, uai(750002), seq=next(_seq)))
    status, answer = _post(client, hand_signed(live.url + "/v1/snapshots", body, key))
    assert status == 422 and answer["field"] == "uai"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"content_type": "text/plain"}, (415, "unsupported_media_type")),
        ({"encoding": "br"}, (415, "unsupported_encoding")),
        ({"components": ("@method", "content-digest", "content-type")}, (401, "bad_signature")),
        ({"extra_params": (("tag", "x"),)}, (401, "bad_signature")),
        ({"nonce": "short"}, (401, "bad_signature")),
    ],
)
def test_shapes_we_do_not_accept(live, key, client, change, expected) -> None:  # type: ignore[no-untyped-def]
    request = hand_signed(live.url + "/v1/snapshots", _body(key), key, **change)
    status, answer = _post(client, request)
    assert (status, answer["error"]) == expected


def test_no_signature_at_all(live, client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        live.url + "/v1/snapshots", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]) == (401, "missing_signature")


def test_truncated_gzip(live, key, client) -> None:  # type: ignore[no-untyped-def]
    body = _body(key)[:-12]
    status, answer = _post(client, hand_signed(live.url + "/v1/snapshots", body, key))
    assert (status, answer["error"]) == (400, "bad_encoding")


def test_raw_socket_lies_about_content_length(live) -> None:  # type: ignore[no-untyped-def]
    """Declares 2 MiB, sends a few bytes: refused before reading, no 5xx."""
    with socket.create_connection((HOST, live.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/snapshots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2097152\r\n\r\n{}"
        )
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413"), answer


@settings(max_examples=40, deadline=None)
@given(
    headers=st.dictionaries(
        st.sampled_from(
            ["signature", "signature-input", "content-digest", "content-type", "content-encoding"]
        ),
        # h11 (the client) refuses surrounding whitespace itself, so none is generated
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80).map(str.strip),
    ),
    body=st.binary(max_size=300),
)
def test_fuzzed_requests_never_get_a_5xx(live, client, headers, body) -> None:  # type: ignore[no-untyped-def]
    response = client.post(live.url + "/v1/snapshots", content=body, headers=headers)
    assert 400 <= response.status_code < 500


def test_schema_endpoint_serves_the_published_schema(live, client) -> None:  # type: ignore[no-untyped-def]
    from agent.snapshot import json_schema

    assert client.get(live.url + "/v1/schema").json() == json_schema()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("throughput", 0, "bytes_used"), 2**70),  # past BIGINT
        (("throughput", 0, "down_mbps"), 1e400),  # JSON's way to say infinity
        (("health", "clock_skew_s"), -1e400),
    ],
)
def test_numbers_the_database_cannot_hold_are_refused_alone(live, key, client, path, value) -> None:  # type: ignore[no-untyped-def]
    """A 422 naming the field, never a failed batch (a 5xx for every agent in it)."""
    snapshot = json.loads(gzip.decompress(_body(key)))
    snapshot["throughput"] = [
        {"backend": "http", "target_host": "t", "started_at": "2026-12-06T08:00:00+00:00"}
    ]
    target = snapshot
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    raw = json.dumps(snapshot).encode().replace(b"Infinity", b"1e400")
    status, answer = _post(client, hand_signed(live.url + "/v1/snapshots", gz(raw), key))
    assert status == 422, answer
    assert answer["field"] == ".".join(str(p) for p in path)
    ok, _ = _post(client, hand_signed(live.url + "/v1/snapshots", _body(key), key))
    assert ok == 201
