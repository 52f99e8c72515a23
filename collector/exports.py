"""CSV and JSON exports: one row per school with the socle indicators, and device lists.

What an academy or ministry report needs, with the same filters as the fleet page.
Rows are streamed from a server-side cursor, so exporting 45,000 schools (or their
900,000 devices) holds one batch in memory, not the whole fleet.

CSV cells are read by spreadsheets, which execute formulas: any text cell that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with `'`
(OWASP's advice), so a device named `=HYPERLINK(…)` stays text. Numbers we
compute ourselves are written as numbers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine, select

from collector.auth import Principal
from collector.db import READ_ONLY, devices
from collector.fleet_query import FleetFilter, fleet_select
from collector.web import SECURITY_HEADERS, api_user, config_of, parse_query

router = APIRouter(prefix="/export", tags=["exports"])
ApiUser = Annotated[Principal, Depends(api_user)]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
STREAM_BATCH = 1000

SCHOOL_COLUMNS = [
    "uai",
    "name",
    "commune",
    "size",
    "last_seen_at",
    "silent",
    "verdict_minimum",
    "verdict_desirable",
    "median_down_mbps",
    "median_up_mbps",
    "tests",
    "met",
    "judged",
    "score_pct",
    "equipment_ok",
    "devices",
    "alert_below_minimum",
    "alert_toner_low",
    "alert_lamp_end",
    "alert_wifi_on",
    "alert_clock_skew",
    "alert_dead_letters",
    "agent_version",
    "dead_letters",
    "clock_skew_s",
]
DEVICE_COLUMNS = [
    "uai",
    "category",
    "vendor",
    "model",
    "name",
    "ip",
    "mac",
    "serial",
    "first_seen",
    "last_seen",
    "min_toner_percent",
    "lamp_hours",
    "toner_low",
    "lamp_end",
    "health_text",
]


def neutralise(value: Any) -> Any:
    """A CSV cell that no spreadsheet will evaluate as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return value


def _school_rows(
    engine: Engine, f: FleetFilter, silent_after: timedelta
) -> Iterator[dict[str, Any]]:
    query = fleet_select(f, datetime.now(UTC) - silent_after)
    with engine.connect().execution_options(**READ_ONLY, yield_per=STREAM_BATCH) as conn:
        for row in conn.execute(query):
            data = row._mapping
            yield {c: _plain(data[c]) for c in SCHOOL_COLUMNS}


def _device_rows(engine: Engine, uai: str | None) -> Iterator[dict[str, Any]]:
    query = select(*(devices.c[c] for c in DEVICE_COLUMNS)).order_by(devices.c.uai, devices.c.mac)
    if uai:
        query = query.where(devices.c.uai == uai)
    with engine.connect().execution_options(**READ_ONLY, yield_per=STREAM_BATCH) as conn:
        for row in conn.execute(query):
            yield {c: _plain(v) for c, v in row._mapping.items()}


def _csv(rows: Iterator[dict[str, Any]], columns: list[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for n, row in enumerate(rows, 1):
        writer.writerow([neutralise("" if row[c] is None else row[c]) for c in columns])
        if n % STREAM_BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield "["
    for n, row in enumerate(rows):
        yield ("," if n else "") + json.dumps(row, ensure_ascii=False)
    yield "]\n"


def _download(chunks: Iterator[str], media_type: str, filename: str) -> StreamingResponse:
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


def _uai_param(request: Request) -> str | None:
    value = request.query_params.get("uai", "").strip().upper()
    if not value:
        return None
    if not (len(value) == 8 and value.isascii() and value.isalnum()):
        raise HTTPException(422, "uai: expected 7 digits and a letter")
    return value


@router.get("/schools.csv", summary="One row per school (fleet filters apply)")
def schools_csv(request: Request, user: ApiUser) -> StreamingResponse:
    f = parse_query(request, FleetFilter)
    silent = timedelta(hours=config_of(request).alerts.silent_after_h)
    rows = _school_rows(request.app.state.store.engine, f, silent)
    return _download(_csv(rows, SCHOOL_COLUMNS), "text/csv; charset=utf-8", "socle-schools.csv")


@router.get("/schools.json", summary="One object per school (fleet filters apply)")
def schools_json(request: Request, user: ApiUser) -> StreamingResponse:
    f = parse_query(request, FleetFilter)
    silent = timedelta(hours=config_of(request).alerts.silent_after_h)
    rows = _school_rows(request.app.state.store.engine, f, silent)
    return _download(_json(rows), "application/json", "socle-schools.json")


@router.get("/devices.csv", summary="Infrastructure devices, all schools or ?uai=")
def devices_csv(request: Request, user: ApiUser) -> StreamingResponse:
    rows = _device_rows(request.app.state.store.engine, _uai_param(request))
    return _download(_csv(rows, DEVICE_COLUMNS), "text/csv; charset=utf-8", "socle-devices.csv")


@router.get("/devices.json", summary="Infrastructure devices, all schools or ?uai=")
def devices_json(request: Request, user: ApiUser) -> StreamingResponse:
    rows = _device_rows(request.app.state.store.engine, _uai_param(request))
    return _download(_json(rows), "application/json", "socle-devices.json")
