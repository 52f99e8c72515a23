"""The four HTML pages: overview, equipment, socle checklist, agent.

Jinja2 with autoescape on every template: device names, vendors and error texts come
from the network and must render as text, never as markup. The only markup injected
unescaped is the SVG chart, which escapes its own texts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

from agent.config import AgentSettings
from agent.status.chart import ChartText, throughput_chart
from agent.status.checklist import build_checklist
from agent.status.data import (
    CHART_DAYS,
    Sources,
    assessment_summary,
    bandwidth_view,
    collector_view,
    runs_view,
)
from agent.status.i18n import LANGUAGES, Translator, negotiate
from agent.status.inventory import build_inventory, health_of
from agent.status.redact import Redactor

TEMPLATES = Path(__file__).parent / "templates"
NAV = (
    ("/", "page_overview"),
    ("/equipment", "page_equipment"),
    ("/checklist", "page_checklist"),
    ("/agent", "page_agent"),
)
VERDICT_CLASS = {"desirable": "ok", "minimum": "warn", "below_minimum": "bad", "unknown": "info"}
STATUS_CLASS = {
    "met": "ok",
    "partly_met": "warn",
    "not_met": "bad",
    "unknown": "info",
    "not_applicable": "info",
}
_GET_HEAD = ["GET", "HEAD"]


def translator(request: Request, settings: AgentSettings) -> Translator:
    language = negotiate(
        request.query_params.get("lang"),
        request.headers.get("accept-language"),
        settings.status_page.language,
    )
    return Translator(language, ZoneInfo(settings.schedule.timezone))


class Pages:
    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, request: Request, template: str, title: str, **extra: Any) -> HTMLResponse:
        settings = self.sources.settings()
        t = translator(request, settings)
        context = {
            "t": t,
            "school": settings.school,
            "runtime": extra.pop("runtime", None) or self.sources.runtime(),
            "now": extra.pop("now", None) or datetime.now(UTC),
            "nav": NAV,
            "languages": LANGUAGES,
            "request_path": request.url.path,
            "page_title": title,
            **extra,
        }
        html = self.env.get_template(template).render(context)
        headers = {"content-language": t.language, "vary": "Accept-Language, Authorization"}
        return HTMLResponse(html, headers=headers)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/", self.overview, methods=_GET_HEAD),
            Route("/equipment", self.equipment, methods=_GET_HEAD),
            Route("/checklist", self.checklist, methods=_GET_HEAD),
            Route("/agent", self.agent, methods=_GET_HEAD),
        ]

    def overview(self, request: Request) -> HTMLResponse:
        settings = self.sources.settings()
        runtime = self.sources.runtime()
        redactor = Redactor(settings)
        now = datetime.now(UTC)
        bw = bandwidth_view(self.sources, settings, now)
        t = translator(request, settings)
        text = ChartText(
            title=t("chart_title"),
            minimum=t("minimum"),
            desirable=t("desirable"),
            empty=t("chart_empty"),
            months=t.months,
        )
        chart = throughput_chart(bw.points, bw.levels, now, text, t.tz, CHART_DAYS)
        return self.render(
            request,
            "overview.html",
            "page_overview",
            runtime=runtime,
            now=now,
            bw=bw,
            chart=chart,
            verdict_class=VERDICT_CLASS,
            runs=runs_view(self.sources, runtime, redactor),
            collector=collector_view(settings, runtime, redactor),
            summary=assessment_summary(self.sources.store.latest_assessment()),
        )

    def equipment(self, request: Request) -> HTMLResponse:
        store = self.sources.store
        return self.render(
            request,
            "equipment.html",
            "page_equipment",
            inventory=build_inventory(store.devices()),
            checklist=build_checklist(store.latest_assessment()),
            health_of=health_of,
        )

    def checklist(self, request: Request) -> HTMLResponse:
        return self.render(
            request,
            "checklist.html",
            "page_checklist",
            checklist=build_checklist(self.sources.store.latest_assessment()),
            status_class=STATUS_CLASS,
        )

    def agent(self, request: Request) -> HTMLResponse:
        settings = self.sources.settings()
        redactor = Redactor(settings)
        store = self.sources.store
        return self.render(
            request,
            "agent.html",
            "page_agent",
            errors=store.job_runs(20, errors_only=True),
            recent=store.job_runs(20),
            config=redactor.config_rows(settings),
            redact=redactor.text,
        )
