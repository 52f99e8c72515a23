"""Interoperability of the two RFC 9421 implementations, and the RFC's own test vector.

Implementation A: `http-message-signatures` (pyauth), which the agent signs with.
Implementation B: collector/rfc9421.py, written separately from the RFC text,
which the collector verifies with. Each direction is checked, then both over
HTTP against the running collector (plus `requests-http-signature` as a third,
differently plumbed client).
"""

from __future__ import annotations

import base64
import datetime as dt
import time

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageVerifier, algorithms
from http_message_signatures.resolvers import MappingKeyResolver
from requests_http_signature import HTTPSignatureAuth

from agent.keys import AgentKey
from agent.signing import COVERED_COMPONENTS, signed_post
from agent.snapshot import encode
from collector import rfc9421
from collector.verify import KeyRecord, verify_request
from tests.collector.live import LiveCollector, collector, new_key, uai
from tests.collector.samples import hand_signed, sample_snapshot

URL = "http://127.0.0.1:8443/v1/snapshots"
SCHOOL = uai(750001)

# RFC 9421 appendix B.1.4 test key and B.2.6 expected output.
RFC_SEED = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"
RFC_B26_SIGNATURE = (
    "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
)


def _collector_verify(request: object, key: AgentKey, body: bytes) -> str:
    headers = {k.lower(): v for k, v in request.headers.items()}  # type: ignore[attr-defined]
    verified = verify_request(
        method="POST",
        target_uri=str(request.url),  # type: ignore[attr-defined]
        headers=headers,
        body=body,
        lookup_key=lambda kid: (
            KeyRecord(key.public_key, False, SCHOOL) if kid == key.agent_id else None
        ),
        now=time.time(),
    )
    return verified.agent_id


def _library_verifier(key: AgentKey) -> HTTPMessageVerifier:
    class Verifier(HTTPMessageVerifier):
        max_clock_skew = dt.timedelta(seconds=300)

    resolver = MappingKeyResolver(public_keys={key.agent_id: key.public_key}, private_keys={})
    return Verifier(signature_algorithm=algorithms.ED25519, key_resolver=resolver)


def test_rfc9421_b26_vector_with_the_collector_implementation() -> None:
    seed = base64.urlsafe_b64decode(RFC_SEED + "=")
    private = Ed25519PrivateKey.from_private_bytes(seed)
    components = ("date", "@method", "@path", "@authority", "content-type", "content-length")
    values = {
        "date": "Tue, 20 Apr 2021 02:07:55 GMT",
        "@method": "POST",
        "@path": "/foo",
        "@authority": "example.com",
        "content-type": "application/json",
        "content-length": "18",
    }
    params = (("created", 1618884473), ("keyid", "test-key-ed25519"))
    fields = rfc9421.sign(
        private_key=private,
        component_values=values,
        components=components,
        params=params,
        label="sig-b26",
    )
    assert fields["Signature"] == f"sig-b26=:{RFC_B26_SIGNATURE}:"
    assert fields["Signature-Input"] == (
        'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
        ';created=1618884473;keyid="test-key-ed25519"'
    )
    parsed = rfc9421.parse_signature_fields(fields["Signature-Input"], fields["Signature"])
    private.public_key().verify(
        parsed.signature, rfc9421.signature_base(values, parsed.components, parsed.params)
    )


def test_rfc9530_digest_example() -> None:
    # RFC 9530 section 2: {"hello": "world"} with sha-256.
    assert rfc9421.content_digest(b'{"hello": "world"}') == (
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    )


def test_agent_signed_request_verifies_with_both_implementations() -> None:
    key = new_key()
    body = encode(sample_snapshot(key, SCHOOL, seq=1))
    request = signed_post(URL, body, key)
    assert _collector_verify(request, key, body) == key.agent_id
    results = _library_verifier(key).verify(
        request, body=body, require_components=COVERED_COMPONENTS
    )
    assert results[0].parameters["keyid"] == key.agent_id
    assert "nonce" in results[0].parameters and "created" in results[0].parameters


def test_collector_implementation_signature_verifies_with_the_library() -> None:
    key = new_key()
    body = b'{"x": 1}'
    request = hand_signed(URL, body, key, encoding=None)
    results = _library_verifier(key).verify(
        request, body=body, require_components=COVERED_COMPONENTS
    )
    assert results[0].label == "sig1"


def test_library_options_the_agent_does_not_use_still_verify_at_the_collector() -> None:
    """Another signer could order components and parameters differently or pick a label."""
    import httpx
    from http_message_signatures import HTTPMessageSigner

    key = new_key()
    body = b'{"x": 2}'
    request = httpx.Request("POST", URL, content=body, headers={"Content-Type": "application/json"})
    resolver = MappingKeyResolver(public_keys={}, private_keys={key.agent_id: key.private_key})
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=resolver).sign(
        request,
        key_id=key.agent_id,
        nonce="another-signer-nonce-0001",
        label="other",
        include_alg=False,
        covered_component_ids=("content-type", "content-digest", "@target-uri", "@method"),
        body=body,
    )
    assert _collector_verify(request, key, body) == key.agent_id


@pytest.mark.parametrize("signer", ["library", "independent", "requests-http-signature"])
def test_running_collector_accepts_each_implementation(
    collector: LiveCollector, signer: str
) -> None:
    import httpx

    key = new_key()
    collector.enrol(key, SCHOOL)
    url = collector.url + "/v1/snapshots"
    body = encode(sample_snapshot(key, SCHOOL, seq=7))
    if signer == "requests-http-signature":
        auth = HTTPSignatureAuth(
            signature_algorithm=algorithms.ED25519,
            key=key.private_key,  # type: ignore[arg-type]  # annotated bytes; takes key objects
            key_id=key.agent_id,
            covered_component_ids=COVERED_COMPONENTS,
            use_nonce=True,
        )
        response = requests.post(
            url,
            data=body,
            auth=auth,
            timeout=10,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )
        assert response.status_code == 201, response.text
        return
    request = signed_post(url, body, key) if signer == "library" else hand_signed(url, body, key)
    with httpx.Client() as client:
        answer = client.send(request)
    assert answer.status_code == 201, answer.text
    assert answer.json()["seq"] == 7


__all__ = ["collector"]  # fixture
