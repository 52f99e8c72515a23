"""PJLink projector simulator (class 1 and 2), written from the JBMIA PJLink spec.

Why: the agent's PJLink probe must be tested against something that behaves
like a classroom projector, including authentication, errors and broken
devices, without a projector in the CI room.

- TCP 4352: greeting ``PJLINK 0\\r`` or ``PJLINK 1 <8 random>\\r``; with a
  password the first command carries MD5(random + password) as 32 hex digits,
  a wrong digest gets ``PJLINK ERRA\\r`` and the connection is closed.
- Commands ``%<class><CMD4> <param>\\r`` -> ``%<class><CMD4>=<value>\\r``; ``ERR1``
  undefined command, ``ERR2`` bad parameter.
- UDP 4352: ``%2SRCH\\r`` -> ``%2ACKN=<mac>\\r`` from the projector's own address.
- ``mode``: ``normal``; ``silent`` (accepts TCP, never answers); ``no_udp``.

Usage: ``python -m tests.rig.pjlink_projector --ip IP --mac MAC --spec JSON``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import secrets
import string
import sys
from dataclasses import asdict, dataclass, field, fields
from typing import Any

PORT = 4352
IDLE_TIMEOUT_S = 30.0  # the spec closes idle connections after 30 s
_RANDOM_ALPHABET = string.ascii_letters + string.digits
_SETTABLE = {"POWR": {"0", "1"}, "AVMT": {"10", "11", "20", "21", "30", "31"}}


@dataclass
class ProjectorState:
    """Mutable state of one simulated projector (fields mirror model.PjlinkSpec)."""

    name: str = "Salle 1"
    manufacturer: str = "EPSON"
    model: str = "EB-4770W"
    password: str | None = None
    lamp_hours: int = 1234
    lamp_on: bool = True
    error_status: str = "000000"
    power: str = "1"
    input: str = "31"
    serial: str = "X4HK7300123"
    software: str = "1.02"
    filter_hours: int = 560
    other_info: str = "socle-rig simulated projector"
    pjlink_class: int = 2
    mode: str = "normal"
    mac: str = "00:00:00:00:00:00"
    avmt: str = "30"
    inputs: list[str] = field(default_factory=lambda: ["11", "31", "32", "51"])

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ProjectorState:
        """Build from a JSON dict, ignoring unknown keys."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def answer(self, cls_digit: str, cmd: str, param: str) -> str:
        """Value part of the reply to one command (``ERRn`` on error)."""
        if cls_digit == "2" and self.pjlink_class < 2:
            return "ERR1"
        if param != "?":
            return self._set(cmd, param)
        queries: dict[str, str] = {
            "POWR": self.power,
            "INPT": self.input,
            "AVMT": self.avmt,
            "ERST": self.error_status,
            "LAMP": f"{self.lamp_hours} {1 if self.lamp_on and self.power == '1' else 0}",
            "INST": " ".join(self.inputs),
            "NAME": self.name,
            "INF1": self.manufacturer,
            "INF2": self.model,
            "INFO": self.other_info,
            "CLSS": str(self.pjlink_class),
        }
        if cls_digit == "2":
            queries.update(
                {
                    "SNUM": self.serial,
                    "SVER": self.software,
                    "FILT": str(self.filter_hours),
                    "RLMP": "ELPLP95",
                    "RFIL": "ELPAF41",
                    "IRES": "1280x800",
                    "RRES": "1280x800",
                    "INNM": "HDMI",
                }
            )
        return queries.get(cmd, "ERR1")

    def _set(self, cmd: str, param: str) -> str:
        if cmd == "INPT":
            if param not in self.inputs:
                return "ERR2"
            self.input = param
            return "OK"
        allowed = _SETTABLE.get(cmd)
        if allowed is None:
            return "ERR1" if cmd not in {"INPT", "NAME", "INF1", "INF2", "INFO", "CLSS"} else "ERR2"
        if param not in allowed:
            return "ERR2"
        if cmd == "POWR":
            self.power = param
        else:
            self.avmt = param
        return "OK"


def parse_command(line: str) -> tuple[str, str, str] | None:
    """Split ``%1POWR ?`` into (class, command, param); None if malformed."""
    if len(line) < 7 or line[0] != "%" or line[6] != " ":
        return None
    return line[1], line[2:6].upper(), line[7:]


def auth_digest(random_part: str, password: str) -> str:
    """The 32-hex-digit MD5 the spec requires in front of the first command."""
    return hashlib.md5((random_part + password).encode()).hexdigest()


class PjlinkTcp:
    """One TCP session handler bound to shared projector state."""

    def __init__(self, state: ProjectorState) -> None:
        self.state = state

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Greet, authenticate if needed, then answer commands until EOF or idle timeout."""
        try:
            if self.state.mode == "silent":
                while await reader.read(1024):
                    pass
                return
            rnd = "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(8))
            need_auth = bool(self.state.password)
            writer.write(f"PJLINK 1 {rnd}\r".encode() if need_auth else b"PJLINK 0\r")
            await writer.drain()
            while True:
                raw = await asyncio.wait_for(reader.readuntil(b"\r"), IDLE_TIMEOUT_S)
                line = raw.decode("utf-8", errors="replace").rstrip("\r").lstrip("\n")
                if need_auth:
                    expected = auth_digest(rnd, self.state.password or "")
                    if line[:32].lower() != expected:
                        writer.write(b"PJLINK ERRA\r")
                        await writer.drain()
                        return
                    line, need_auth = line[32:], False
                writer.write(self.reply(line).encode())
                await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def reply(self, line: str) -> str:
        """Full reply line for one command line."""
        parsed = parse_command(line)
        if parsed is None:
            head = line[:6] if line.startswith("%") and len(line) >= 6 else "%1????"
            return f"{head}=ERR1\r"
        cls_digit, cmd, param = parsed
        return f"%{cls_digit}{cmd}={self.state.answer(cls_digit, cmd, param)}\r"


class PjlinkSearch(asyncio.DatagramProtocol):
    """UDP class 2 search responder."""

    def __init__(self, state: ProjectorState) -> None:
        self.state = state
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.state.mode != "normal" or self.state.pjlink_class < 2 or self.transport is None:
            return
        if data.strip(b"\r\n").upper() == b"%2SRCH":
            self.transport.sendto(f"%2ACKN={self.state.mac.lower()}\r".encode(), addr)


async def serve(ip: str, state: ProjectorState, port: int = PORT) -> None:
    """Run TCP and UDP listeners until cancelled; prints READY when both are bound."""
    server = await asyncio.start_server(PjlinkTcp(state).handle, ip, port)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: PjlinkSearch(state), local_addr=("0.0.0.0", port), allow_broadcast=True
    )
    print("READY", json.dumps(asdict(state)), flush=True)
    try:
        async with server:
            await server.serve_forever()
    finally:
        transport.close()


def main(argv: list[str] | None = None) -> int:
    """Entry point (also called by the fork server)."""
    p = argparse.ArgumentParser(prog="pjlink_projector")
    p.add_argument("--ip", required=True)
    p.add_argument("--mac", required=True)
    p.add_argument("--port", type=int, default=PORT)
    p.add_argument("--spec", default="{}", help="JSON with PjlinkSpec fields")
    args = p.parse_args(argv)
    state = ProjectorState.from_dict({**json.loads(args.spec), "mac": args.mac})
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.ip, state, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
