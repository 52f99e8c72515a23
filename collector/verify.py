"""Who sent this request, and is it intact? The collector's signature policy.

Stricter than RFC 9421 requires, on purpose: exactly one signature, covering at
least the components agents sign (other signers may cover more header fields),
with `created`, `keyid` and `nonce`. Checks
run cheapest first and every failure becomes a `Rejection` with a stable code,
so the HTTP layer never has to guess a status (and never returns a 5xx for bad
input). The nonce is only returned here; remembering it is the store's job,
inside the transaction that stores the snapshot, so it works across instances.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from collector.ed25519 import signature_valid
from collector.rfc9421 import (
    SignatureFormatError,
    digest_matches,
    parse_signature_fields,
    signature_base,
)

COVERED_COMPONENTS = frozenset({"@method", "@target-uri", "content-digest", "content-type"})
DERIVED = frozenset({"@method", "@target-uri", "@authority", "@scheme", "@path", "@query"})
_FIELD_NAME = re.compile(r"^[a-z0-9!#$%&'*+.^_`|~-]+$")
_NEVER_COVERED = frozenset({"signature", "signature-input"})
ALLOWED_PARAMS = frozenset({"created", "keyid", "nonce", "alg", "expires"})
MAX_SKEW_S = 300.0  # issue 5: `created` more than 5 minutes away from our clock is refused
NONCE_MIN_CHARS, NONCE_MAX_CHARS = 16, 128


@dataclass(frozen=True)
class KeyRecord:
    public_key: Ed25519PublicKey
    revoked: bool
    uai: str
    raw_public_key: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:  # the form libsodium takes, extracted once per key
        object.__setattr__(self, "raw_public_key", self.public_key.public_bytes_raw())


class Rejection(Exception):
    """A request refused for a reason the sender can read (no secrets, no internals)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.message, **self.extra}


@dataclass(frozen=True)
class Verified:
    agent_id: str
    uai: str
    nonce: str
    created: int
    skew_s: float  # created minus our clock: positive means the agent runs ahead
    params: dict[str, int | str] = field(default_factory=dict)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    return None if value is None else value.strip(" \t")


def verify_request(
    *,
    method: str,
    target_uri: str,
    headers: Mapping[str, str],
    body: bytes,
    lookup_key: Callable[[str], KeyRecord | None],
    now: float,
    max_skew_s: float = MAX_SKEW_S,
    covered: frozenset[str] = COVERED_COMPONENTS,
    body_digest: bool = True,
) -> Verified:
    """Return who signed, or raise Rejection. `headers` must be case-insensitive."""
    sig_input, sig_value = _header(headers, "signature-input"), _header(headers, "signature")
    if not sig_input or not sig_value:
        raise Rejection(401, "missing_signature", "Signature-Input and Signature are required")
    try:
        parsed = parse_signature_fields(sig_input, sig_value)
    except SignatureFormatError as exc:
        raise Rejection(401, "bad_signature", str(exc)) from None
    params = dict(parsed.params)
    _check_shape(parsed.components, params, covered)
    keyid, created, nonce = str(params["keyid"]), int(params["created"]), str(params["nonce"])

    record = lookup_key(keyid)
    if record is None:
        raise Rejection(401, "unknown_key", "this key is not enrolled")
    if record.revoked:
        raise Rejection(401, "revoked_key", "this key has been revoked")

    skew = created - now
    if abs(skew) > max_skew_s:
        raise Rejection(
            401,
            "clock_skew",
            f"clock skew: signature created {skew:+.0f} s from the collector's clock "
            f"(limit ±{max_skew_s:.0f} s)",
            skew_s=round(skew, 1),
        )
    expires = params.get("expires")
    if isinstance(expires, int) and expires < now:
        raise Rejection(401, "bad_signature", "signature expired")

    digest_field = _header(headers, "content-digest")
    if digest_field is None and body_digest:
        raise Rejection(400, "missing_digest", "Content-Digest is required")
    try:
        values = _component_values(parsed.components, method, target_uri, headers)
        base = signature_base(values, parsed.components, parsed.params)
    except (SignatureFormatError, ValueError):
        raise Rejection(401, "bad_signature", "signature does not verify") from None
    if not signature_valid(record.raw_public_key, parsed.signature, base):
        raise Rejection(401, "bad_signature", "signature does not verify")

    if not body_digest:  # e.g. a throughput GET: no body worth a digest
        return Verified(keyid, record.uai, nonce, created, skew, params)
    assert digest_field is not None
    try:
        intact = digest_matches(digest_field, body)
    except SignatureFormatError as exc:
        raise Rejection(400, "bad_digest", str(exc)) from None
    if not intact:
        raise Rejection(400, "digest_mismatch", "Content-Digest does not match the body")
    return Verified(keyid, record.uai, nonce, created, skew, params)


def _component_values(
    components: tuple[str, ...], method: str, target_uri: str, headers: Mapping[str, str]
) -> dict[str, str]:
    """Values of the covered components; a missing covered field fails the signature."""
    url = urlsplit(target_uri)
    derived = {
        "@method": method.upper(),
        "@target-uri": target_uri,
        "@authority": url.netloc.lower(),
        "@scheme": url.scheme.lower(),
        "@path": url.path or "/",
        "@query": f"?{url.query}",
    }
    values: dict[str, str] = {}
    for name in components:
        value = derived.get(name) if name.startswith("@") else _header(headers, name)
        if value is None:
            raise ValueError(f"covered component {name} is not in the request")
        values[name] = value
    return values


def _check_shape(
    components: tuple[str, ...], params: dict[str, int | str], covered: frozenset[str]
) -> None:
    if len(set(components)) != len(components) or not covered <= set(components):
        raise Rejection(
            401, "bad_signature", f"signature must cover at least: {', '.join(sorted(covered))}"
        )
    for name in components:
        derived_ok = name in DERIVED
        field_ok = bool(_FIELD_NAME.match(name)) and name not in _NEVER_COVERED
        if not (derived_ok or field_ok):
            raise Rejection(401, "bad_signature", f"cannot verify a signature covering {name}")
    unknown = set(params) - ALLOWED_PARAMS
    if unknown:
        raise Rejection(401, "bad_signature", f"unexpected signature parameter {min(unknown)}")
    if params.get("alg", "ed25519") != "ed25519":
        raise Rejection(401, "bad_signature", "only alg=ed25519 is accepted")
    for name, kind in (("created", int), ("keyid", str), ("nonce", str)):
        if not isinstance(params.get(name), kind):
            raise Rejection(401, "bad_signature", f"signature parameter {name} is required")
    nonce = str(params["nonce"])
    if not NONCE_MIN_CHARS <= len(nonce) <= NONCE_MAX_CHARS:
        raise Rejection(
            401, "bad_signature", f"nonce must be {NONCE_MIN_CHARS}–{NONCE_MAX_CHARS} characters"
        )
    if "expires" in params and not isinstance(params["expires"], int):
        raise Rejection(401, "bad_signature", "expires must be an integer")
    keyid = str(params["keyid"])
    if not (0 < len(keyid) <= 64):
        raise Rejection(401, "bad_signature", "keyid is too long")
