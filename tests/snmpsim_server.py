"""Start snmpsim on loopback for a data directory, for tests only.

Why a helper: every SNMP test needs a real agent, and starting one process per
recording would make the suite slow. One `SnmpsimServer` serves a whole tree;
the community is the file's path below the data dir without `.snmprec`
(`printer/jetdirect_m252dw`). The index cache goes to a temp dir so the shared
data dir is never written to. Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api

LOOPBACK = "127.0.0.1"
_START_TIMEOUT_S = 30.0  # indexing ~50 recordings takes a few seconds on a slow box
_POLL_INTERVAL_S = 0.1


def free_udp_port() -> int:
    """A UDP port the kernel just handed out on loopback (tiny race, fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def _responder_command() -> str:
    found = shutil.which("snmpsim-command-responder", path=str(Path(sys.executable).parent))
    return found or "snmpsim-command-responder"


def snmp_get_packet(community: str, oid: tuple[int, ...] = (1, 3, 6, 1, 2, 1, 1, 2, 0)) -> bytes:
    """A v2c GET request, built with pysnmp's codec, to check that the agent answers."""
    mod = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = mod.GetRequestPDU()
    mod.apiPDU.set_defaults(pdu)
    mod.apiPDU.set_varbinds(pdu, [(oid, mod.Null(""))])
    msg = mod.Message()
    mod.apiMessage.set_defaults(msg)
    mod.apiMessage.set_community(msg, community)
    mod.apiMessage.set_pdu(msg, pdu)
    packet: bytes = encoder.encode(msg)
    return packet


def answers(port: int, community: str, timeout_s: float = 0.3) -> bool:
    """True when something on 127.0.0.1:port answers a GET with a decodable SNMP message."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.sendto(snmp_get_packet(community), (LOOPBACK, port))
            data, _ = sock.recvfrom(65535)
        except OSError:
            return False
    try:
        decoder.decode(data, asn1Spec=api.PROTOCOL_MODULES[api.SNMP_VERSION_2C].Message())
    except Exception:
        return False
    return True


@dataclass
class SnmpsimServer:
    """A running snmpsim-command-responder; `community_for(path)` names a recording."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    cache_dir: Path
    log_path: Path
    extra: Sequence[str] = field(default_factory=tuple)

    def community_for(self, recording: Path) -> str:
        return recording.relative_to(self.data_dir).with_suffix("").as_posix()

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _first_community(data_dir: Path) -> str:
    for path in sorted(data_dir.rglob("*.snmprec")):
        return path.relative_to(data_dir).with_suffix("").as_posix()
    raise FileNotFoundError(f"no .snmprec file under {data_dir}")


@contextmanager
def snmpsim_server(
    data_dir: Path,
    *,
    v3_user: str | None = None,
    v3_auth_key: str | None = None,
    v3_auth_proto: str = "SHA",
    v3_priv_key: str | None = None,
    v3_priv_proto: str = "AES",
    probe_community: str | None = None,
) -> Iterator[SnmpsimServer]:
    """Run snmpsim for `data_dir` on 127.0.0.1:<free port>; kill it on exit.

    Waits until the agent answers a GET (indexing happens at start-up), so tests
    never race the start. Raises RuntimeError with the log tail if it does not come up.
    """
    data_dir = data_dir.resolve()
    community = probe_community or _first_community(data_dir)
    with tempfile.TemporaryDirectory(prefix="snmpsim-") as tmp:
        cache_dir = Path(tmp) / "cache"
        cache_dir.mkdir()
        log_path = Path(tmp) / "snmpsim.log"
        port = free_udp_port()
        cmd = [
            _responder_command(),
            f"--data-dir={data_dir}",
            f"--cache-dir={cache_dir}",
            f"--agent-udpv4-endpoint={LOOPBACK}:{port}",
            "--log-level=error",
        ]
        if v3_user is not None:
            cmd += ["--v3-engine-id=auto", f"--v3-user={v3_user}"]
            if v3_auth_key is not None:
                cmd += [f"--v3-auth-key={v3_auth_key}", f"--v3-auth-proto={v3_auth_proto}"]
            if v3_priv_key is not None:
                cmd += [f"--v3-priv-key={v3_priv_key}", f"--v3-priv-proto={v3_priv_proto}"]
            # the engine options must precede the data dir and endpoint of that engine
            cmd = [cmd[0], *cmd[5:], *cmd[1:5]]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd += ["--process-user=root", "--process-group=root"]
        with log_path.open("wb") as log:
            process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        server = SnmpsimServer(data_dir, port, process, cache_dir, log_path, tuple(cmd))
        try:
            _wait_until_up(server, community)
            yield server
        finally:
            process.kill()
            process.wait(timeout=10)


def _wait_until_up(server: SnmpsimServer, community: str) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"snmpsim exited early:\n{server.log_tail()}")
        if answers(server.port, community):
            return
        time.sleep(_POLL_INTERVAL_S)
    raise RuntimeError(f"snmpsim did not answer within {_START_TIMEOUT_S} s:\n{server.log_tail()}")
