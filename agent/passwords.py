"""Status page password: hash with stdlib scrypt, verify in constant time.

The settings file holds only a hash (`scrypt$n$r$p$salt_b64$hash_b64`), never the
password, so a copied `agent.toml` does not hand out access to the page. scrypt is in
the standard library and is memory-hard, which is what makes a stolen hash slow to
brute-force even on a GPU. The parameters travel inside the hash, so they can be raised
later without breaking passwords already set.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import NamedTuple

SCHEME = "scrypt"
DEFAULT_N = 2**14  # cost; 128·n·r = 16 MiB per check, ~0.1 s on a Raspberry Pi 4
DEFAULT_R = 8  # block size (the scrypt paper's recommendation)
DEFAULT_P = 1  # parallelism; the box has few cores and other work to do
SALT_BYTES = 16  # 128-bit random salt: no two schools share a hash for one password
HASH_BYTES = 32  # 256-bit derived key
MAX_MEMORY_BYTES = 256 * 1024 * 1024  # one check must not starve a 1 GiB Raspberry Pi
MAX_P = 16  # p multiplies CPU time, not memory; more than this is a typo


class ScryptHash(NamedTuple):
    """A parsed `scrypt$…` string."""

    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _derive(plain: str, n: int, r: int, p: int, salt: bytes, length: int) -> bytes:
    maxmem = 128 * n * r * (p + 1) + 1024 * 1024  # what scrypt needs, plus slack
    return hashlib.scrypt(
        plain.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=length
    )


def hash_password(plain: str) -> str:
    """Hash for `status_page.password_hash`; the `socle-agent hash-password` command prints it."""
    if not plain:
        raise ValueError("the password must not be empty")
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _derive(plain, DEFAULT_N, DEFAULT_R, DEFAULT_P, salt, HASH_BYTES)
    return f"{SCHEME}${DEFAULT_N}${DEFAULT_R}${DEFAULT_P}${_b64(salt)}${_b64(digest)}"


def parse_hash(encoded: str) -> ScryptHash:
    """Parse and bound-check a hash; ValueError names what is wrong (for config checks)."""
    parts = encoded.strip().split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError(
            "expected scrypt$n$r$p$salt$hash (make one with `socle-agent hash-password`)"
        )
    try:
        n, r, p = (int(part) for part in parts[1:4])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"malformed scrypt hash: {exc}") from None
    if n < 2 or n & (n - 1):
        raise ValueError("scrypt n must be a power of two")
    if r < 1 or not 1 <= p <= MAX_P:
        raise ValueError(f"scrypt r must be at least 1 and p 1..{MAX_P}")
    if 128 * n * r > MAX_MEMORY_BYTES:
        raise ValueError(f"scrypt n·r needs more than {MAX_MEMORY_BYTES // 2**20} MiB per check")
    if len(salt) < 8 or len(digest) < 16:
        raise ValueError("scrypt salt or hash too short")
    return ScryptHash(n, r, p, salt, digest)


def verify_password(plain: str, encoded: str) -> bool:
    """True when `plain` matches; a malformed hash never matches (and never raises)."""
    try:
        parsed = parse_hash(encoded)
    except ValueError:
        return False
    candidate = _derive(plain, parsed.n, parsed.r, parsed.p, parsed.salt, len(parsed.digest))
    return hmac.compare_digest(candidate, parsed.digest)
