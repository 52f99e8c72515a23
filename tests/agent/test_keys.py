"""The agent's identity: a 0600 key file, fingerprint as id, never shown."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from agent.keys import (
    KeyFileError,
    create_key,
    fingerprint,
    key_path,
    keygen,
    load_key,
    load_or_create_key,
    parse_public_key,
    show_key,
)


def test_first_start_creates_a_private_0600_key_and_reloads_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    key = load_or_create_key(state)
    mode = stat.S_IMODE(key_path(state).stat().st_mode)
    assert mode == 0o600
    again = load_or_create_key(state)
    assert again.agent_id == key.agent_id
    assert len(key.agent_id) == 32 and int(key.agent_id, 16) >= 0
    assert [p.name for p in state.iterdir()] == ["agent.key"]  # no temp file left behind


def test_fingerprint_is_stable_and_matches_public_key_text(tmp_path: Path) -> None:
    key = create_key(tmp_path)
    assert fingerprint(parse_public_key(key.public_key_text)) == key.agent_id


def test_key_is_never_in_repr_logs_or_show_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = keygen(tmp_path)
    secret = key_path(tmp_path).read_text()
    body = "".join(secret.splitlines()[1:-1])
    logging.getLogger("test").info("key %r", key)
    shown = show_key(tmp_path)
    assert shown["agent_id"] == key.agent_id
    assert body not in repr(key) and body not in str(shown) and body not in caplog.text


def test_keygen_refuses_to_replace_unless_forced(tmp_path: Path) -> None:
    first = keygen(tmp_path)
    with pytest.raises(KeyFileError, match="already exists"):
        keygen(tmp_path)
    second = keygen(tmp_path, force=True)
    assert second.agent_id != first.agent_id


def test_loose_permissions_are_refused(tmp_path: Path) -> None:
    create_key(tmp_path)
    os.chmod(key_path(tmp_path), 0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        load_key(tmp_path)


def test_missing_or_garbage_key_has_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="keygen"):
        load_key(tmp_path)
    path = key_path(tmp_path)
    path.write_text("not a key")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="not a readable private key"):
        load_key(tmp_path)


@pytest.mark.parametrize("text", ["", "!!!", "AAAA", "A" * 60])
def test_bad_public_keys_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_public_key(text)
