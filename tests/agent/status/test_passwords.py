"""Status page password hashes: scrypt round trip, constant-time check, refuse bad input."""

from __future__ import annotations

import pytest

from agent.passwords import hash_password, parse_hash, verify_password


def test_round_trip_and_wrong_password() -> None:
    encoded = hash_password("Cartable-2026!")
    assert verify_password("Cartable-2026!", encoded)
    assert not verify_password("cartable-2026!", encoded)
    assert not verify_password("", encoded)


def test_format_carries_parameters_and_random_salt() -> None:
    first, second = hash_password("même mot"), hash_password("même mot")
    assert first != second  # salted
    scheme, n, r, p, _salt, _digest = first.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    parsed = parse_hash(first)
    assert len(parsed.salt) == 16 and len(parsed.digest) == 32
    assert verify_password("même mot", second)


def test_non_ascii_password() -> None:
    assert verify_password("élève-été-ça", hash_password("élève-été-ça"))


def test_empty_password_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        hash_password("")


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "plain-text-password",
        "bcrypt$12$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==",
        "scrypt$16384$8$1$not base64!$aGFzaGhhc2hoYXNoaGFzaA==",
        "scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==",  # n not a power of two
        "scrypt$1048576$64$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==",  # 8 GiB per check
        "scrypt$16384$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==",  # salt too short
    ],
)
def test_malformed_hash_never_matches(encoded: str) -> None:
    with pytest.raises(ValueError):
        parse_hash(encoded)
    assert not verify_password("anything", encoded)
