"""Collector settings: TOML in, one frozen model out, one clear line per mistake.

Precedence: command-line flags over the file over defaults. With neither file nor
flags the collector runs on 127.0.0.1:8443 with SQLite in the working directory,
which is enough for one municipality; a PostgreSQL URL scales it out.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from agent.config import ConfigError, describe_validation_errors

DEFAULT_DATABASE_URL = "sqlite:///socle-collector.sqlite3"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8443
MAX_BODY_BYTES = 1024 * 1024  # issue 5: 1 MiB, compressed or decompressed


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerSettings(Frozen):
    host: str = DEFAULT_HOST
    port: int = Field(DEFAULT_PORT, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    public_url: str | None = None  # base URL agents use, when behind a reverse proxy

    @field_validator("public_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http://)")
        return value.rstrip("/")


class DatabaseSettings(Frozen):
    url: str = DEFAULT_DATABASE_URL
    migrate_on_start: bool = True  # SQLite users expect `serve` to just work


class IngestSettings(Frozen):
    max_body_bytes: int = Field(MAX_BODY_BYTES, ge=1024, le=64 * 1024 * 1024)
    max_clock_skew_s: float = Field(300.0, gt=0, le=3600)
    enrol_token_ttl_s: float = Field(7 * 86400.0, gt=0)
    key_cache_s: float = Field(5.0, ge=0, le=300)  # a revocation takes this long everywhere


class AlertSettings(Frozen):
    """Thresholds that raise a school's alert flags (computed at ingest, except silence)."""

    silent_after_h: float = Field(24.0, gt=0, le=24 * 365)
    toner_low_percent: float = Field(10.0, ge=0, le=100)  # as config/socle.toml ([maintenance])
    lamp_rated_hours: int = Field(4000, gt=0, le=100_000)  # when the referential has no model
    lamp_warn_ratio: float = Field(0.9, gt=0, le=1)
    max_clock_skew_s: float = Field(300.0, gt=0)


class RetentionSettings(Frozen):
    """Raw snapshot bodies are evidence, not the dashboard's source: they may go."""

    raw_snapshot_days: int = Field(90, ge=0, le=36500)  # 0: keep raw bodies forever


class AuthSettings(Frozen):
    """Who may read the dashboard: local users with sessions, or a trusted reverse proxy."""

    session_ttl_s: float = Field(12 * 3600.0, ge=60, le=30 * 86400)
    cookie_secure: bool | None = None  # None: Secure when the request came over HTTPS
    proxy_header: str | None = None  # e.g. "X-Remote-User", set by the SSO proxy
    trusted_proxies: list[str] = []  # addresses or networks allowed to set that header
    login_window_s: float = Field(900.0, ge=10, le=86400)
    login_max_failures_per_ip: int = Field(20, ge=1, le=10_000)
    login_max_failures_per_user: int = Field(5, ge=1, le=10_000)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value

    @model_validator(mode="after")
    def _proxy_needs_trust(self) -> AuthSettings:
        if self.proxy_header and not self.trusted_proxies:
            raise ValueError("proxy_header needs trusted_proxies (who may set it)")
        return self


class ThroughputSettings(Frozen):
    """The LibreSpeed target: enrolled agents only, and not a free bandwidth sink."""

    token_ttl_s: float = Field(3600.0, ge=60, le=7 * 86400)
    max_requests_per_minute: int = Field(600, ge=1, le=1_000_000)
    max_mib_per_hour: int = Field(4096, ge=1, le=10_000_000)
    max_chunks: int = Field(100, ge=1, le=1024)  # MiB per download request


class OpsSettings(Frozen):
    """Who may scrape /metrics without signing in (Prometheus on the same host by default)."""

    metrics_allow: list[str] = ["127.0.0.1/32", "::1/128"]

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)
        return value


class CollectorConfig(Frozen):
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    ingest: IngestSettings = IngestSettings()
    alerts: AlertSettings = AlertSettings()
    retention: RetentionSettings = RetentionSettings()
    auth: AuthSettings = AuthSettings()
    throughput: ThroughputSettings = ThroughputSettings()
    ops: OpsSettings = OpsSettings()

    def with_overrides(
        self, *, database_url: str | None = None, listen: str | None = None
    ) -> CollectorConfig:
        """Apply `--database` and `--listen HOST:PORT` on top of the file."""
        data: dict[str, Any] = self.model_dump()
        if database_url:
            data["database"]["url"] = database_url
        if listen:
            host, port = parse_listen(listen)
            data["server"].update(host=host, port=port)
        return CollectorConfig.model_validate(data)


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--listen expects HOST:PORT, got {text!r}")
    return host.strip("[]") or DEFAULT_HOST, int(port)


def load_config(path: Path | None) -> CollectorConfig:
    """Defaults when path is None; ConfigError with one line per problem otherwise."""
    if path is None:
        return CollectorConfig()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, [f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"{path}: cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"{path}: not valid TOML: {exc}"]) from None
    try:
        return CollectorConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(path, describe_validation_errors(exc, raw)) from None
