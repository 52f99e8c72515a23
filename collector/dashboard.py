"""The fleet and school pages (server-rendered HTML, no script).

Each handler parses its parameters into a validated model (a bad one is a 422),
runs one bounded query module (fleet_query, school_query) and renders a template.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from agent.referential import load_referential
from agent.uai import validate_uai
from collector.auth import Principal
from collector.charts import Line, Series, time_chart
from collector.fleet_query import ALERTS, PER_PAGE_CHOICES, FleetFilter, fleet_page
from collector.i18n import translator
from collector.school_query import HISTORY, SchoolView, school_view
from collector.web import config_of, language, page_user, parse_query, render

router = APIRouter(tags=["dashboard"])
PageUser = Annotated[Principal, Depends(page_user)]
_REFERENTIAL = load_referential()
SIZES = ("small", "medium", "large", "unknown")
VERDICTS = ("minimum_pass", "minimum_fail", "desirable_pass", "desirable_fail", "unknown")


def engine_of(request: Request) -> Any:
    return request.app.state.store.engine


@router.get("/", include_in_schema=False)
async def root(request: Request) -> RedirectResponse:
    lang = request.query_params.get("lang")
    return RedirectResponse("/fleet" + (f"?lang={lang}" if lang in ("fr", "en") else ""), 303)


@router.get("/fleet", response_class=HTMLResponse, summary="Fleet page: one row per school")
def fleet(request: Request, user: PageUser) -> HTMLResponse:
    filters = parse_query(request, FleetFilter)
    silent_after = timedelta(hours=config_of(request).alerts.silent_after_h)
    page = fleet_page(engine_of(request), filters, silent_after=silent_after)
    return render(
        request,
        "fleet.html",
        {
            "page": page,
            "f": filters,
            "alerts": ALERTS,
            "sizes": SIZES,
            "verdicts": VERDICTS,
            "per_page_choices": PER_PAGE_CHOICES,
        },
        principal=user,
    )


def _thresholds(size: str | None) -> tuple[str, float, float, float]:
    """(size used, minimum down, desirable down, desirable up) from the referential."""
    used = size if size in ("small", "medium", "large") else "medium"
    internet = _REFERENTIAL.internet
    desirable = internet.desirable.for_size(used)  # type: ignore[arg-type]
    minimum = internet.minimum_down_mbps.for_size(used)  # type: ignore[arg-type]
    return used, minimum, desirable.down_mbps, desirable.up_mbps


def _chart(view: SchoolView, lang: str) -> Any:
    t = translator(lang)
    _, minimum, desirable, _ = _thresholds(view.school["size"])
    down = [(m["started_at"], m["down_mbps"]) for m in view.measurements if m["down_mbps"]]
    up = [(m["started_at"], m["up_mbps"]) for m in view.measurements if m["up_mbps"]]
    now = datetime.now(UTC)
    return time_chart(
        [Series(down, t("down"), "down"), Series(up, t("up"), "up")],
        [Line(minimum, t("minimum"), "minimum"), Line(desirable, t("desirable"), "desirable")],
        start=now - HISTORY,
        end=now,
        unit="Mbit/s",
        title=t("history"),
    )


@router.get("/schools/{uai}", response_class=HTMLResponse, summary="One school's page")
def school(request: Request, uai: str, user: PageUser) -> HTMLResponse:
    try:
        code = validate_uai(uai)
    except ValueError:
        raise HTTPException(404, "unknown school") from None
    view = school_view(engine_of(request), code)
    if view is None:
        raise HTTPException(404, "unknown school")
    size_used, minimum, desirable, desirable_up = _thresholds(view.school["size"])
    silent_after = timedelta(hours=config_of(request).alerts.silent_after_h)
    summary = view.summary
    silent = summary is None or summary["last_seen_at"] < datetime.now(UTC) - silent_after
    return render(
        request,
        "school.html",
        {
            "v": view,
            "chart": _chart(view, language(request)),
            "latency": view.latency(),
            "size_used": size_used,
            "thresholds": {"minimum": minimum, "desirable": desirable, "up": desirable_up},
            "silent": silent,
            "alerts": ALERTS,
        },
        principal=user,
    )
