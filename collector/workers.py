"""Several uvicorn workers, each accepting on its own socket (SO_REUSEPORT).

uvicorn's own `workers=N` shares one listening socket between the processes:
whichever worker's event loop wakes first accepts, so a busy worker keeps taking
connections from an idle one (agents keep their connections: the ingest benchmark
split 50 agents ~32/18 between two workers). Here each worker gets its own socket
bound to the same address with SO_REUSEPORT, and the kernel spreads new
connections over the sockets by a hash of the connection's addresses.

The parent binds the sockets (so a port already in use fails at once, and a
restarted worker finds its queue intact), starts the workers as uvicorn does
(spawned processes), restarts one that dies, and on SIGTERM or SIGINT stops them
all. Linux only lets processes of the same user join a SO_REUSEPORT group, and a
port something already listens on is refused (as uvicorn refuses it).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess

import uvicorn

log = logging.getLogger(__name__)
STARTUP_GRACE_S = 10.0  # a worker that dies sooner failed to start: stop, do not loop
STOP_TIMEOUT_S = 10.0  # per worker, after SIGTERM, before SIGKILL


def reuseport_available() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def refuse_if_taken(host: str, port: int) -> None:
    """OSError (address in use) when anything listens there already.

    SO_REUSEPORT would let a second collector of the same user join the group and
    silently take half the connections; a plain bind first refuses, as uvicorn does.
    """
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not in use
        probe.bind((host, port))


def bind_reuseport(host: str, port: int, backlog: int = 2048) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def _run_worker(config: uvicorn.Config, sock: socket.socket) -> None:
    config.configure_logging()  # a spawned process starts with none (as uvicorn's workers)
    uvicorn.Server(config).run(sockets=[sock])


class Workers:
    """N worker processes, worker i serving socket i."""

    def __init__(self, config: uvicorn.Config, workers: int) -> None:
        self.config = config
        refuse_if_taken(config.host, config.port)
        first = bind_reuseport(config.host, config.port)
        port = int(first.getsockname()[1])  # the same port for all, even when asked for 0
        self.sockets = [first] + [bind_reuseport(config.host, port) for _ in range(workers - 1)]
        self.processes: list[tuple[BaseProcess, float]] = []
        self.stop = threading.Event()

    def _start(self, sock: socket.socket) -> tuple[BaseProcess, float]:
        process = multiprocessing.get_context("spawn").Process(
            target=_run_worker, args=(self.config, sock)
        )
        process.start()
        return process, time.monotonic()

    def run(self) -> int:
        """Serve until SIGTERM or SIGINT; non-zero when a worker failed to start."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop.set())
        self.processes = [self._start(sock) for sock in self.sockets]
        failed = False
        while not self.stop.wait(0.5):
            for index, (process, started) in enumerate(self.processes):
                if process.is_alive():
                    continue
                if time.monotonic() - started < STARTUP_GRACE_S:
                    log.error("worker %s failed to start (exit %s)", process.pid, process.exitcode)
                    failed = True
                    self.stop.set()
                    break
                log.warning("worker %s died (exit %s), restarting", process.pid, process.exitcode)
                self.processes[index] = self._start(self.sockets[index])
        self._stop_all()
        return 1 if failed else 0

    def _stop_all(self) -> None:
        for process, _ in self.processes:
            if process.is_alive():
                process.terminate()
        for process, _ in self.processes:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join()
        for sock in self.sockets:
            sock.close()
