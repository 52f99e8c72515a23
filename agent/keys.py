"""The agent's Ed25519 identity: one private key file in the state directory.

The agent id is the key's fingerprint, so identity cannot drift from the key
that signs. The private key never leaves this module except as an object that
can sign: no `repr`, no log line, no CLI output ever contains it. The file is
created atomically with mode 0600 (temp file + fsync + rename) so a crash during
first start leaves either no key or a whole one, never a truncated one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE_NAME = "agent.key"
_FINGERPRINT_HEX_CHARS = 32  # 128 bits: a second preimage stays out of reach


class KeyFileError(Exception):
    """A key file that is missing, unreadable, malformed or too widely readable."""


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """Agent id: hex of the first 128 bits of SHA-256 over the raw 32-byte public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:_FINGERPRINT_HEX_CHARS]


def public_key_text(public_key: Ed25519PublicKey) -> str:
    """The public key as operators copy it: base64 of the raw 32 bytes (44 characters)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def parse_public_key(text: str) -> Ed25519PublicKey:
    """Inverse of `public_key_text`; raises ValueError with a reason operators can act on."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("public key is not valid base64") from exc
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True, repr=False)
class AgentKey:
    """A loaded key pair. `repr` shows the fingerprint only."""

    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def agent_id(self) -> str:
        return fingerprint(self.public_key)

    @property
    def public_key_text(self) -> str:
        return public_key_text(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data)

    def __repr__(self) -> str:
        return f"AgentKey(agent_id={self.agent_id!r})"


def key_path(state_dir: Path) -> Path:
    return state_dir / KEY_FILE_NAME


def load_key(state_dir: Path) -> AgentKey:
    path = key_path(state_dir)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no key yet (run `socle-agent keygen`)") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path}: readable by others (mode {stat.S_IMODE(mode):o}); "
            "the key may have leaked: run `chmod 600` or make a new key and enrol again"
        )
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not a readable private key ({type(exc).__name__})") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return AgentKey(loaded)


def create_key(state_dir: Path, *, replace: bool = False) -> AgentKey:
    """Write a new key atomically. Refuses to replace one unless asked: that is a new identity."""
    path = key_path(state_dir)
    if path.exists() and not replace:
        raise KeyFileError(f"{path}: a key already exists (its replacement needs a new enrolment)")
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd, tmp = tempfile.mkstemp(prefix=".agent.key.", dir=state_dir)  # created 0600
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(state_dir)
    return AgentKey(key)


def load_or_create_key(state_dir: Path) -> AgentKey:
    """What the daemon calls on every start: the first start creates the identity."""
    if key_path(state_dir).exists():
        return load_key(state_dir)
    return create_key(state_dir)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- functions for agent/cli.py -------------------------------------------------------


def keygen(state_dir: Path, *, force: bool = False) -> AgentKey:
    """`socle-agent keygen`: create the key (or replace it with force=True)."""
    return create_key(state_dir, replace=force)


def show_key(state_dir: Path) -> dict[str, str]:
    """`socle-agent show-key`: fingerprint (agent id) and public key, never the private key."""
    key = load_key(state_dir)
    return {
        "agent_id": key.agent_id,
        "public_key": key.public_key_text,
        "algorithm": "ed25519",
        "path": str(key_path(state_dir)),
    }
