"""libsodium's verification (collector/ed25519.py) agrees with cryptography's signatures.

The collector verifies with libsodium but agents sign with `cryptography`
(OpenSSL): every signature one makes, the other must accept, and a changed bit
anywhere must be refused. RFC 8032's first test vector pins the raw forms.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.ed25519 import signature_valid

# RFC 8032, section 7.1, TEST 1 (empty message).
RFC_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC_SIGNATURE = bytes.fromhex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555f"
    "b8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)
KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key().public_bytes_raw()


def test_rfc8032_vector() -> None:
    assert Ed25519PrivateKey.from_private_bytes(RFC_SECRET).sign(b"") == RFC_SIGNATURE
    assert signature_valid(RFC_PUBLIC, RFC_SIGNATURE, b"")
    assert not signature_valid(RFC_PUBLIC, RFC_SIGNATURE, b"\x00")


@settings(max_examples=200)
@given(message=st.binary(max_size=600), flip=st.integers(min_value=0))
def test_agrees_with_cryptography(message: bytes, flip: int) -> None:
    signature = KEY.sign(message)
    assert signature_valid(PUBLIC, signature, message)
    bit = flip % ((len(signature) + len(message)) * 8)
    changed = bytearray(signature + message)
    changed[bit // 8] ^= 1 << (bit % 8)
    assert not signature_valid(PUBLIC, bytes(changed[:64]), bytes(changed[64:]))


def test_wrong_key_and_malformed_inputs_are_refused() -> None:
    signature = KEY.sign(b"snapshot")
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    assert not signature_valid(other, signature, b"snapshot")
    assert not signature_valid(PUBLIC, signature[:63], b"snapshot")
    assert not signature_valid(PUBLIC, signature + b"\x00", b"snapshot")
    assert not signature_valid(PUBLIC[:31], signature, b"snapshot")
    assert not signature_valid(PUBLIC, bytes(64), b"snapshot")


def test_small_order_key_is_refused() -> None:
    """The identity point (y = 1) as key, with R = identity and S = 0, "verifies" any
    message under OpenSSL (checked with cryptography 46); libsodium refuses small-order
    keys, so such a key cannot even pass enrolment's proof of possession."""
    identity = (1).to_bytes(32, "little")
    assert not signature_valid(identity, identity + bytes(32), b"anything")
