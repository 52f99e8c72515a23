"""`create_status_app`: the local status page as one Starlette app.

Read-only by construction: every route is GET/HEAD and the guard in front refuses any
other method. There are no generated docs (they would load scripts from a CDN, which
the CSP forbids and an offline school box cannot reach anyway).

Starlette, not FastAPI (which the collector uses, and which is Starlette underneath):
the page has seven routes and one validated query parameter, and FastAPI's import and
route set-up (OpenAPI models, pydantic.v1 checks on every endpoint) cost the daemon
~14 MB of its 80 MB budget on a Raspberry Pi, for features the page never used.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.config import AgentSettings
from agent.state import StateStore
from agent.status.api import Api
from agent.status.data import LevelsFor, Sources, default_levels
from agent.status.guard import Guard, PasswordCheck
from agent.status.metrics import build_registry
from agent.status.pages import Pages
from agent.status.runtime import RuntimeInfo

SettingsSource = AgentSettings | Callable[[], AgentSettings]
RuntimeArg = RuntimeInfo | Callable[[], RuntimeInfo]


def _callable_settings(settings: SettingsSource) -> Callable[[], AgentSettings]:
    if isinstance(settings, AgentSettings):
        return lambda: settings
    return settings


def _callable_runtime(runtime: RuntimeArg) -> Callable[[], RuntimeInfo]:
    if isinstance(runtime, RuntimeInfo):
        return lambda: runtime
    return runtime


def create_status_app(
    settings: SettingsSource,
    store: StateStore,
    runtime: RuntimeArg,
    *,
    levels: LevelsFor = default_levels,
) -> Starlette:
    """Build the app. Pass callables for `settings` and `runtime` to keep the page live
    (a SIGHUP reload or a new spool depth shows on the next request); `levels` lets the
    daemon use a municipality's referential instead of the national thresholds."""
    sources = Sources(_callable_settings(settings), store, _callable_runtime(runtime), levels)

    def password_hash() -> str | None:
        secret = sources.settings().status_page.password_hash
        return secret.get_secret_value() if secret is not None else None

    registry = build_registry(sources)

    def metrics(_request: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    routes = [
        *Pages(sources).routes(),
        *Api(sources).routes(),
        Route("/metrics", metrics, methods=["GET", "HEAD"]),
    ]
    guard = Middleware(Guard, check=PasswordCheck(password_hash))
    return Starlette(routes=routes, middleware=[guard])
