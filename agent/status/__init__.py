"""The local status page: HTML for municipal IT, a JSON API and Prometheus metrics.

Read-only, no external assets (the box may be offline), French by default.
"""

from agent.status.app import create_status_app
from agent.status.runtime import DataBudget, RuntimeInfo, SpoolStats
from agent.status.server import serve_status

__all__ = [
    "DataBudget",
    "RuntimeInfo",
    "SpoolStats",
    "create_status_app",
    "serve_status",
]
