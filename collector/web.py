"""What every dashboard page shares: templates, language, security headers, the login gate.

Templates are autoescaped (a device named `<script>` is text); the Content
Security Policy allows no script at all and no outside resource, so even a
template mistake cannot run code or leak a request to a third party. Pages need
a signed-in user: a browser is sent to /login, an API client gets a 401.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader
from pydantic import BaseModel, ValidationError

from collector.auth import Auth, Principal
from collector.config import CollectorConfig
from collector.i18n import pick_language, translator

TEMPLATES = Path(__file__).resolve().parent / "templates"
PARIS = ZoneInfo("Europe/Paris")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _paris(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    return value.astimezone(PARIS).strftime(fmt) if value is not None else "—"


def _number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,  # every template, whatever its name
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["paris"] = _paris
    env.filters["num"] = _number
    return env


ENV = _environment()
M = TypeVar("M", bound=BaseModel)


class LoginRequired(Exception):
    """Raised by `page_user`; answered with a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def auth_of(request: Request) -> Auth:
    auth = request.app.state.auth
    assert isinstance(auth, Auth)
    return auth


def config_of(request: Request) -> CollectorConfig:
    config = request.app.state.config
    assert isinstance(config, CollectorConfig)
    return config


def page_user(request: Request) -> Principal:
    """Dependency for HTML pages: the signed-in user, or a redirect to the login page."""
    principal = auth_of(request).principal(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return principal


def api_user(request: Request) -> Principal:
    """Dependency for exports and JSON: the user, or 401 (no redirect for scripts)."""
    principal = auth_of(request).principal(request)
    if principal is None:
        raise HTTPException(401, "authentication required")
    return principal


def language(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))


def parse_query(request: Request, model: type[M]) -> M:
    """Query parameters into `model`, or 422 naming the first bad parameter."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        name = ".".join(str(p) for p in error["loc"]) or "query"
        raise HTTPException(422, f"{name}: {error['msg']}") from None


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    lang = language(request)
    t = translator(lang)

    def link(path: str, **params: Any) -> str:
        query = {k: v for k, v in params.items() if v not in (None, "")}
        if lang != "fr" and "lang" not in query:
            query["lang"] = lang
        return path + (f"?{urlencode(query)}" if query else "")

    other = "en" if lang == "fr" else "fr"
    switch = {**dict(request.query_params), "lang": other}
    html = ENV.get_template(template).render(
        t=t,
        lang=lang,
        link=link,
        switch_language=f"{request.url.path}?{urlencode(switch)}",
        user=principal,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response
