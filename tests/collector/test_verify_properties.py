"""Property tests on the verifier: any change to a signed request is refused, nothing crashes."""

from __future__ import annotations

import time

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.signing import signed_post
from collector.verify import KeyRecord, Rejection, Verified, verify_request
from tests.collector.live import new_key, uai

URL = "http://127.0.0.1:8443/v1/snapshots"
KEY = new_key()
OTHER = new_key()
BODY = b'{"hello": "world", "n": 12345678901234567890}'


def _lookup(kid: str) -> KeyRecord | None:
    return KeyRecord(KEY.public_key, False, uai(750001)) if kid == KEY.agent_id else None


def _verify(method: str, url: str, headers: dict[str, str], body: bytes) -> Verified:
    return verify_request(
        method=method,
        target_uri=url,
        headers={k.lower(): v for k, v in headers.items()},
        body=body,
        lookup_key=_lookup,
        now=time.time(),
    )


def _signed() -> tuple[str, str, dict[str, str], bytes]:
    request: httpx.Request = signed_post(URL, BODY, KEY)
    return request.method, str(request.url), dict(request.headers), BODY


def test_the_unmodified_request_verifies() -> None:
    method, url, headers, body = _signed()
    assert _verify(method, url, headers, body).agent_id == KEY.agent_id


def _flip(text: str, index: int, char: str) -> str:
    index %= max(len(text), 1)
    replacement = char if text[index : index + 1] != char else chr((ord(char) % 94) + 33)
    return text[:index] + replacement + text[index + 1 :]


_TARGETS = st.sampled_from(
    ["body", "content-digest", "signature", "signature-input", "content-type", "method", "url"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=_TARGETS,
    index=st.integers(0, 10_000),
    char=st.characters(min_codepoint=32, max_codepoint=126),
)
def test_any_single_character_mutation_is_rejected(target: str, index: int, char: str) -> None:
    method, url, headers, body = _signed()
    if target == "body":
        i = index % len(body)
        body = body[:i] + bytes([body[i] ^ (1 + ord(char) % 255)]) + body[i + 1 :]
    elif target == "method":
        method = "PUT"
    elif target == "url":
        url = _flip(url, index, char)
    else:
        headers[target] = _flip(headers[target], index, char)
    with pytest.raises(Rejection) as caught:
        _verify(method, url, headers, body)
    assert caught.value.status in (400, 401, 413, 415)


@settings(max_examples=150, deadline=None)
@given(
    drop=st.sampled_from(["signature", "signature-input", "content-digest", "content-type"]),
)
def test_a_missing_covered_header_is_rejected(drop: str) -> None:
    method, url, headers, body = _signed()
    del headers[drop]
    with pytest.raises(Rejection):
        _verify(method, url, headers, body)


def test_non_canonical_base64_in_the_signature_is_rejected() -> None:
    method, url, headers, body = _signed()
    value = headers["signature"]
    last = value[-4]  # final data character before "==:", it carries 4 unused bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = alphabet[alphabet.index(last) ^ 1]
    headers["signature"] = value[:-4] + twin + value[-3:]
    with pytest.raises(Rejection):
        _verify(method, url, headers, body)


def test_a_signature_by_another_key_under_this_keyid_is_rejected() -> None:
    request = signed_post(URL, BODY, OTHER)
    headers = dict(request.headers)
    headers["signature-input"] = headers["signature-input"].replace(OTHER.agent_id, KEY.agent_id)
    with pytest.raises(Rejection, match="does not verify"):
        _verify("POST", URL, headers, BODY)


@settings(max_examples=300, deadline=None)
@given(
    sig_input=st.text(max_size=200),
    sig=st.text(max_size=200),
    digest=st.text(max_size=100),
    body=st.binary(max_size=100),
)
def test_arbitrary_header_values_only_ever_raise_rejection(
    sig_input: str, sig: str, digest: str, body: bytes
) -> None:
    headers = {
        "signature-input": sig_input,
        "signature": sig,
        "content-digest": digest,
        "content-type": "application/json",
    }
    with pytest.raises(Rejection) as caught:
        _verify("POST", URL, headers, body)
    assert 400 <= caught.value.status < 500


@settings(max_examples=200, deadline=None)
@given(created_shift=st.integers(-10_000, 10_000), nonce=st.text(max_size=200))
def test_structurally_plausible_forgeries_are_rejected(created_shift: int, nonce: str) -> None:
    """Well-formed fields with a wrong signature value (the attacker has no key)."""
    created = int(time.time()) + created_shift
    safe_nonce = "".join(c for c in nonce if c.isalnum()) or "x"
    headers = {
        "signature-input": (
            f'sig1=("@method" "@target-uri" "content-digest" "content-type");created={created};'
            f'keyid="{KEY.agent_id}";nonce="{safe_nonce}";alg="ed25519"'
        ),
        "signature": "sig1=:" + "A" * 86 + "==:",
        "content-digest": signed_post(URL, BODY, KEY).headers["content-digest"],
        "content-type": "application/json",
    }
    with pytest.raises(Rejection) as caught:
        _verify("POST", URL, headers, BODY)
    assert caught.value.status == 401
