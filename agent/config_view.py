"""The effective configuration as an operator may see it: every value, no secret."""

from __future__ import annotations

from typing import Any

from agent.config import AgentSettings

MASK = "***"


def effective_config(settings: AgentSettings) -> dict[str, Any]:
    """JSON-ready settings; pydantic's SecretStr dumps masked, we make the mask explicit."""
    data = settings.model_dump(mode="json")
    data["school"]["effective_size"] = settings.school.effective_size
    masked: dict[str, Any] = _mask(data)
    return masked


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (MASK if isinstance(v, str) and v.startswith("**********") else _mask(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask(item) for item in value]
    return value


def format_config(view: dict[str, Any], prefix: str = "") -> str:
    """Flat `key = value` lines, easy to grep and to compare between schools."""
    lines: list[str] = []
    for key, value in view.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            lines.append(format_config(value, f"{dotted}."))
        else:
            lines.append(
                f"{dotted} = {value!r}" if isinstance(value, str) else f"{dotted} = {value}"
            )
    return "\n".join(lines)
