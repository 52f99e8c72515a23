"""speedtest-cli backend against a Speedtest Mini emulated on loopback.

The config URL is always explicit: nothing here may resolve www.speedtest.net.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from probes.speedtest_backend import SpeedtestOptions, parse_config, run_speedtest_test
from probes.throughput import ThroughputRequest
from probes.throughput_model import ThroughputError
from tests.probes.throughput_servers import free_port, serve_app

CONFIG = b"""<?xml version="1.0" encoding="UTF-8"?>
<settings>
<client ip="127.0.0.1" lat="48.85" lon="2.35" isp="Loopback" />
<server-config threadcount="2" ignoreids="" />
<download testlength="1" threadsperurl="2" />
<upload testlength="1" ratio="5" maxchunkcount="20" threads="2" />
</settings>
"""


def mini_app(config: bytes = CONFIG) -> FastAPI:
    app = FastAPI()

    @app.get("/speedtest-config.php")
    async def speedtest_config() -> Response:
        return Response(config, media_type="text/xml")

    @app.get("/mini/")
    async def index() -> Response:
        return PlainTextResponse('upload_extension: "php"')

    @app.get("/mini/speedtest/latency.txt")
    async def latency() -> Response:
        return PlainTextResponse("test=test")

    @app.get("/mini/speedtest/{name}")
    async def random_jpg(name: str) -> Response:
        return Response(b"\x00" * 500_000, media_type="image/jpeg")

    @app.post("/mini/speedtest/upload.php")
    async def upload(request: Request) -> Response:
        body = await request.body()
        return PlainTextResponse(f"size={len(body)}")

    return app


@pytest.fixture
def mini() -> Iterator[str]:
    with serve_app(mini_app()) as url:
        yield url


def options(url: str, **kwargs: object) -> SpeedtestOptions:
    return SpeedtestOptions(
        mini_url=f"{url}/mini/",
        config_url=f"{url}/speedtest-config.php",
        max_total_s=20,
        **kwargs,  # type: ignore[arg-type]
    )


def test_no_default_target() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SpeedtestOptions()
    with pytest.raises(ValueError, match="exactly one"):
        SpeedtestOptions(mini_url="http://a/", server_id=1)
    with pytest.raises(ValueError, match="no target"):
        ThroughputRequest.build("speedtest", None)


async def test_mini_on_loopback(mini: str) -> None:
    result = await run_speedtest_test(options(mini))
    assert result.ok, result.reason
    assert result.backend == "speedtest" and result.target.endswith("/mini/")
    assert result.download is not None and result.download.goodput_mbps > 1
    assert result.upload is not None and result.upload.goodput_mbps > 1
    assert result.bytes_used > 0


async def test_mini_that_is_not_a_mini(mini: str) -> None:
    opts = SpeedtestOptions(
        mini_url=f"{mini}/nothing-here/", config_url=f"{mini}/speedtest-config.php", max_total_s=10
    )
    result = await run_speedtest_test(opts)
    assert not result.ok and "speedtest-cli failed" in (result.reason or "")


async def test_malformed_config_is_an_error_result() -> None:
    with serve_app(mini_app(b"<settings><client/></broken>")) as url:
        result = await run_speedtest_test(options(url))
    assert not result.ok and "malformed XML" in (result.reason or "")


async def test_server_down(mini: str) -> None:
    opts = SpeedtestOptions(
        mini_url=f"http://127.0.0.1:{free_port()}/",
        config_url=f"{mini}/speedtest-config.php",
        max_total_s=10,
    )
    result = await run_speedtest_test(opts)
    assert not result.ok and result.reason


async def test_hung_config_server_hits_the_hard_timeout() -> None:
    held: list[socket.socket] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        opts = SpeedtestOptions(
            mini_url=f"http://127.0.0.1:{port}/",
            config_url=f"http://127.0.0.1:{port}/speedtest-config.php",
            socket_timeout_s=1,
            max_total_s=0.8,
        )
        async with asyncio.timeout(10):
            result = await run_speedtest_test(opts)
    finally:
        listener.close()
        for s in held:
            s.close()
    assert not result.ok and (
        "did not finish" in (result.reason or "") or "timed out" in (result.reason or "")
    )


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"<settings/>", "no <client>"),
        (CONFIG.replace(b'ratio="5"', b'ratio="9"'), "out of range"),
        (CONFIG.replace(b'threads="2"', b'threads="many"'), "not a number"),
        (b"x" * 70_000, "too large"),
    ],
)
def test_config_parser_is_strict(xml: bytes, message: str) -> None:
    with pytest.raises(ThroughputError, match=message):
        parse_config(xml)


def test_config_parser_matches_speedtest_cli_shape() -> None:
    config = parse_config(CONFIG)
    assert config["threads"] == {"upload": 2, "download": 4}
    assert config["length"] == {"upload": 1, "download": 1}
    assert config["sizes"]["upload"][0] == 524288
    assert config["upload_max"] == 21
