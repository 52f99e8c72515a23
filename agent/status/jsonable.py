"""JSON-ready values for the status API, as FastAPI's `jsonable_encoder` made them.

The status page runs on Starlette without FastAPI (see `agent.status.app`), so this is
the small part of `jsonable_encoder` its views need. Same output, on purpose: a fleet
script reading `/api/v1/…` must not see `+00:00` turn into `Z`. Datetimes use
`isoformat()`, pydantic models their JSON dump, dataclasses their fields; anything
else that is not plain JSON (addresses, paths) becomes its string form.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import date, time
from enum import Enum
from typing import Any

from pydantic import BaseModel


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {jsonable(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, date | time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    return str(value)
