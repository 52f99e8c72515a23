"""Reference servers for the ingest benchmark: what this machine allows before any storage.

    .venv/bin/python -m bench.ingest_reference --mode http|verify --keys FILE
                                               --listen HOST:PORT [--workers N]

Why: ingest figures swing by ±20 % between machines of the same kind, so
`bench.ingest` runs the same requests, in the same invocation, against two
references served exactly as the collector is (uvicorn, uvloop, httptools, one
SO_REUSEPORT socket per worker):

- `http`: read the body, answer 201 — the HTTP stack's ceiling with this load
  generator on this machine;
- `verify`: also everything the collector does to a snapshot before storing it
  (RFC 9421 signature and digest, capped gunzip, schema validation, derived rows),
  using the collector's own functions, but no database.

The collector's rate divided by these is a ratio that holds from one machine to
the next, and `verify` bounds what any storage design could reach here.
Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from starlette.types import Receive, Scope, Send

from agent.keys import parse_public_key
from agent.snapshot import Snapshot
from collector.body import gunzip_capped
from collector.config import AlertSettings
from collector.derive import derive
from collector.verify import KeyRecord, Rejection, verify_request
from collector.workers import Workers

MODES = ("http", "verify")
MAX_BODY = 1024 * 1024
_MODE_ENV = "SOCLE_BENCH_REFERENCE_MODE"
_KEYS_ENV = "SOCLE_BENCH_REFERENCE_KEYS"
_STORED = b'{"status":"stored"}'


def write_keys(path: Path, keys: dict[str, tuple[str, str]]) -> None:
    """agent id → (public key text, UAI), as the collector's agents table holds them."""
    path.write_text(json.dumps(keys))


def _load_keys(path: str) -> dict[str, KeyRecord]:
    data: dict[str, list[str]] = json.loads(Path(path).read_text())
    return {
        agent_id: KeyRecord(parse_public_key(key), False, uai)
        for agent_id, (key, uai) in data.items()
    }


class ReferenceApp:
    """A bare ASGI app: one POST route, no framework, so only the work measured costs."""

    def __init__(self, mode: str, keys: dict[str, KeyRecord]) -> None:
        self.verify = mode == "verify"
        self.keys = keys
        self.alerts = AlertSettings()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # nothing to set up; answered so uvicorn logs readiness
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        parts = []
        more = True
        while more:
            message = await receive()
            parts.append(message.get("body", b""))
            more = message.get("more_body", False)
        status, body = 201, _STORED
        if self.verify:
            try:
                self._check(scope, b"".join(parts))
            except Rejection as rejection:
                status, body = rejection.status, json.dumps(rejection.body()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _check(self, scope: Scope, body: bytes) -> None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        verified = verify_request(
            method=scope["method"],
            target_uri=f"http://{host}{scope['path']}",
            headers=headers,
            body=body,
            lookup_key=self.keys.get,
            now=time.time(),
        )
        raw = gunzip_capped(body, MAX_BODY)
        snapshot = Snapshot.model_validate_json(raw)
        derive(
            snapshot,
            received_at=datetime.now(UTC),
            skew_s=verified.skew_s,
            alerts=self.alerts,
            has_nul=b"\\u0000" in raw,
        )


def app() -> ReferenceApp:
    """uvicorn factory: each spawned worker reads its mode and keys from the environment."""
    keys_path = os.environ.get(_KEYS_ENV)
    return ReferenceApp(os.environ[_MODE_ENV], _load_keys(keys_path) if keys_path else {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--keys", help="JSON written by write_keys (needed by --mode verify)")
    parser.add_argument("--listen", required=True, help="HOST:PORT (loopback)")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    os.environ[_MODE_ENV] = args.mode
    if args.keys:
        os.environ[_KEYS_ENV] = str(Path(args.keys).resolve())
    config = uvicorn.Config(
        "bench.ingest_reference:app",
        factory=True,
        host=host,
        port=int(port),
        loop="uvloop",
        http="httptools",
        access_log=False,
        lifespan="on",
        log_level="info",
    )
    raise SystemExit(Workers(config, args.workers).run())


if __name__ == "__main__":
    main()
