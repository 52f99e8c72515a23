"""/login and /logout: HTML forms with CSRF tokens, sessions in HttpOnly SameSite cookies.

The login form has no session yet, so its CSRF token is a double-submit cookie;
the logout form carries the session's own token. Form bodies are small and
URL-encoded: parsed here, capped at 8 KiB, without a multipart dependency.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from collector.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, LoginThrottled, Principal, same_token
from collector.body import read_capped
from collector.verify import Rejection
from collector.web import auth_of, page_user, render, secure

router = APIRouter(tags=["auth"], include_in_schema=False)
FORM_MAX_BYTES = 8 * 1024


async def _form(request: Request) -> dict[str, str]:
    try:
        body = await read_capped(
            request.stream(), request.headers.get("content-length"), FORM_MAX_BYTES
        )
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (Rejection, UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in fields.items()}


def _safe_next(value: str | None) -> str:
    """Only a path on this site: no open redirect to `//evil.example`."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/fleet"


def _login_page(request: Request, *, status: int = 200, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"csrf": token, "next": _safe_next(request.query_params.get("next")), "error": error},
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=auth_of(request).cookie_secure(request),
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    auth = auth_of(request)
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf")):
        return _login_page(request, status=403, error="login.failed")
    address = request.client.host if request.client else "unknown"
    try:
        username = await run_in_threadpool(
            auth.check_password, form.get("username", ""), form.get("password", ""), address
        )
    except LoginThrottled as exc:
        response = _login_page(request, status=429, error="login.slow")
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    if username is None:
        return _login_page(request, status=401, error="login.failed")
    token = await run_in_threadpool(auth.open_session, username)
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(auth.settings.session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=auth.cookie_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return secure(response)


@router.post("/logout")
async def logout(request: Request, user: Annotated[Principal, Depends(page_user)]) -> Response:
    form = await _form(request)
    if user.via == "session" and not same_token(user.csrf_token, form.get("csrf")):
        return secure(Response("CSRF token missing or wrong", status_code=403))
    await run_in_threadpool(auth_of(request).close_session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return secure(response)
