"""What the daemon and its short-lived worker say to each other, as JSON over pipes.

The daemon hands over the settings it holds *now* (after SIGHUP too, and even when the
file on disk has since been edited badly), so the worker gets them on stdin rather than
re-reading the config path. Secrets are part of them (SNMP communities and keys, the
PJLink password): a pipe to a child is private to the two processes, while a command
line is readable by every user through `ps` and /proc. Nothing here imports a probe
library: the daemon imports this module and must stay small.
"""

from __future__ import annotations

from datetime import datetime
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from pydantic import SecretStr
from pydantic_core import to_jsonable_python

from agent.config import AgentSettings
from agent.discovery import CycleResult
from agent.inventory import Inventory
from agent.targets import ScanTarget
from probes.base import Observation


class WireError(ValueError):
    """The other side sent something that is not what this protocol says."""


def _reveal(value: Any) -> Any:
    """pydantic masks SecretStr as `**********` in JSON; the worker needs the real value."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {key: _reveal(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_reveal(item) for item in value]
    return value


def settings_to_wire(settings: AgentSettings) -> dict[str, Any]:
    """Settings as plain JSON, secrets included: only ever written to the worker's stdin."""
    data: dict[str, Any] = to_jsonable_python(_reveal(settings.model_dump()))
    return data


def settings_from_wire(data: object) -> AgentSettings:
    if not isinstance(data, dict):
        raise WireError("settings: expected an object")
    return AgentSettings.model_validate(data)


def request(job: str, settings: AgentSettings, **options: Any) -> dict[str, Any]:
    """One job for the worker: its name, the settings, and job options (JSON values)."""
    return {"job": job, "settings": settings_to_wire(settings), "options": options}


# -- discovery: the sweep travels, the merge stays in the daemon ---------------------------


def sweep_to_wire(result: CycleResult, observations: list[Observation]) -> dict[str, Any]:
    """A sweep before merging: the daemon merges it into the inventory it keeps."""
    return {
        "started_at": result.started_at.isoformat(),
        "elapsed_s": result.elapsed_s,
        "targets": [
            {
                "network": str(t.network),
                "interface": t.interface,
                "address": None if t.address is None else str(t.address),
            }
            for t in result.targets
        ],
        "timings_s": result.timings_s,
        "observations_by_probe": result.observations,
        "errors": result.errors,
        "live_hosts": result.live_hosts,
        "observations": [o.model_dump(mode="json") for o in observations],
    }


def sweep_from_wire(data: object, inventory: Inventory) -> tuple[CycleResult, list[Observation]]:
    """The worker's sweep, ready for `agent.discovery.merge` into `inventory`."""
    if not isinstance(data, dict):
        raise WireError("discovery result: expected an object")
    try:
        result = CycleResult(
            started_at=datetime.fromisoformat(data["started_at"]),
            inventory=inventory,
            targets=[
                ScanTarget(
                    network=IPv4Network(t["network"]),
                    interface=t["interface"],
                    address=None if t["address"] is None else IPv4Address(t["address"]),
                )
                for t in data["targets"]
            ],
            timings_s={str(k): float(v) for k, v in data["timings_s"].items()},
            observations={str(k): int(v) for k, v in data["observations_by_probe"].items()},
            errors={str(k): str(v) for k, v in data["errors"].items()},
            live_hosts=int(data["live_hosts"]),
            elapsed_s=float(data["elapsed_s"]),
        )
        observations = [Observation.model_validate(o) for o in data["observations"]]
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise WireError(f"discovery result: {type(exc).__name__}: {exc}") from exc
    return result, observations
