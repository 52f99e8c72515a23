"""Test-only fault injection: make a share of snapshot posts fail with a 500.

Half of the injected failures happen before the snapshot is processed and half
after it was stored (the answer is lost), which is exactly what an agent must
survive: a resend then meets the idempotent store. Never enabled by
configuration; only tests and the benchmark pass `fault_ratio` to `create_app`.
"""

from __future__ import annotations

import random

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_FAIL_BODY = b'{"error": "injected_fault", "detail": "test fault injection"}'


class FaultInjection:
    def __init__(self, app: ASGIApp, ratio: float, seed: int | None = None) -> None:
        self.app = app
        self.ratio = ratio
        self.rng = random.Random(seed)
        self.injected = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/v1/snapshots":
            await self.app(scope, receive, send)
            return
        draw = self.rng.random()
        if draw >= self.ratio:
            await self.app(scope, receive, send)
            return
        self.injected += 1
        if draw < self.ratio / 2:
            await _fail(send)
            return

        async def swallow(message: Message) -> None:  # run the request, lose the answer
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await _fail(send)

        await self.app(scope, receive, swallow)


async def _fail(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": _FAIL_BODY})
