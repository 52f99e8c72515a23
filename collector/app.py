"""The collector's application factory: one place that wires config, storage and routes.

`create_app` is what uvicorn runs (`socle-collector serve`) and what tests and
the benchmark start on loopback. The snapshot writer thread lives as long as
the application (lifespan). The LibreSpeed-compatible throughput target, when
its module is present, is mounted here too.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from collector import __version__
from collector.config import CollectorConfig, load_config
from collector.db import make_engine
from collector.faults import FaultInjection
from collector.ingest import IngestService, router
from collector.migrate import upgrade
from collector.store import Store
from collector.writer import SnapshotWriter

log = logging.getLogger(__name__)
CONFIG_ENV_VAR = "SOCLE_COLLECTOR_CONFIG_JSON"  # how `serve` hands settings to uvicorn workers


def create_app(config: CollectorConfig | None = None, *, fault_ratio: float = 0.0) -> ASGIApp:
    config = config or CollectorConfig()
    engine = make_engine(config.database.url)
    if config.database.migrate_on_start:
        upgrade(engine)
    store = Store(engine, key_cache_s=config.ingest.key_cache_s)
    writer = SnapshotWriter(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        writer.start()
        try:
            yield
        finally:
            writer.stop()
            engine.dispose()

    app = FastAPI(title="socle-collector", version=__version__, lifespan=lifespan)
    app.state.ingest = IngestService(config, store, writer)
    app.state.store = store
    app.include_router(router)
    _include_throughput_target(app)
    if fault_ratio > 0:
        return FaultInjection(app, fault_ratio)
    return app


def _include_throughput_target(app: FastAPI) -> None:
    try:
        module = importlib.import_module("collector.throughput_target")
    except ModuleNotFoundError as exc:
        if exc.name != "collector.throughput_target":
            raise
        return
    target_router = getattr(module, "router", None)
    if target_router is not None:
        app.include_router(target_router)


def app_from_environment() -> ASGIApp:
    """uvicorn factory for several workers: the config travels as JSON in the environment."""
    raw = os.environ.get(CONFIG_ENV_VAR)
    config = CollectorConfig.model_validate_json(raw) if raw else load_config(None)
    return create_app(config)
