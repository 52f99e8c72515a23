"""systemd's notify protocol, without a dependency: one datagram to $NOTIFY_SOCKET.

Outside systemd (no NOTIFY_SOCKET) every call is a no-op, so the daemon runs the same
in a terminal, in tests and under systemd.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, address: str | None = None) -> None:
        self.address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self._warned = False

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def watchdog_interval_s(self) -> float | None:
        """Half of WatchdogSec: systemd restarts us if a ping is late."""
        usec = os.environ.get("WATCHDOG_USEC", "")
        if not usec.isdigit() or os.environ.get("WATCHDOG_PID", str(os.getpid())) != str(
            os.getpid()
        ):
            return None
        return int(usec) / 2_000_000

    def send(self, **fields: str) -> None:
        if not self.enabled:
            return
        message = "\n".join(f"{key.upper()}={value}" for key, value in fields.items()).encode()
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(target)
                sock.sendall(message)
        except OSError as exc:
            if not self._warned:
                log.warning("sd_notify to %s failed: %s", self.address, exc)
                self._warned = True

    def ready(self, status: str) -> None:
        self.send(ready="1", status=status)

    def status(self, status: str) -> None:
        self.send(status=status)

    def watchdog(self) -> None:
        self.send(watchdog="1")

    def stopping(self) -> None:
        self.send(stopping="1")

    def reloading(self) -> None:
        self.send(reloading="1")
