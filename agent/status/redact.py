"""Keep secrets off the page even when they leak into free text.

`effective_config` masks `SecretStr` fields, but an error message can still quote a
community string or a URL with credentials. Every free text the page shows (job errors,
upload errors, configuration values) passes through `Redactor`, which knows the actual
secret values of the running settings and removes them.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, SecretStr

from agent.config import AgentSettings
from agent.config_view import MASK, effective_config

_MIN_SECRET_CHARS = 4  # shorter values would blank out ordinary words
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)


def _secret_values(value: object) -> set[str]:
    found: set[str] = set()
    if isinstance(value, SecretStr):
        found.add(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            found |= _secret_values(getattr(value, name))
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            found |= _secret_values(item)
    elif isinstance(value, dict):
        for item in value.values():
            found |= _secret_values(item)
    return found


class Redactor:
    def __init__(self, settings: AgentSettings) -> None:
        secrets = {s for s in _secret_values(settings) if len(s) >= _MIN_SECRET_CHARS}
        self._secrets = sorted(secrets, key=len, reverse=True)  # longest first

    def text(self, value: str | None) -> str:
        if not value:
            return ""
        cleaned = _URL_CREDENTIALS.sub(rf"\g<scheme>{MASK}@", value)
        for secret in self._secrets:
            cleaned = cleaned.replace(secret, MASK)
        return cleaned

    def config_rows(self, settings: AgentSettings) -> list[tuple[str, str]]:
        """`(dotted.key, value)` rows of the effective configuration, secrets masked."""
        rows: list[tuple[str, str]] = []
        _flatten(effective_config(settings), "", rows)
        return [(key, self.text(value)) for key, value in rows]


def _flatten(value: Any, prefix: str, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), rows)
    elif isinstance(value, list) and value and all(_flat_dict(i) for i in value):
        rows.append((prefix, "; ".join(_inline(item) for item in value)))  # one row per list
    elif isinstance(value, list) and value and any(isinstance(i, dict | list) for i in value):
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}[{index}]", rows)
    else:
        rows.append((prefix, _scalar(value)))


def _flat_dict(value: Any) -> bool:
    return isinstance(value, dict) and not any(isinstance(v, dict | list) for v in value.values())


def _inline(value: dict[str, Any]) -> str:
    """`start=08:30:00 end=11:30:00`: a small table (a time range, a credential) on one line."""
    return " ".join(f"{key}={_scalar(item)}" for key, item in value.items())


def _scalar(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_scalar(item) for item in value) or "[]"
    if isinstance(value, dict):
        return "{}"
    return str(value)
