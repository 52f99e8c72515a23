"""Fork server: start many small Python servers inside network namespaces, fast.

Why: a school has ~15 simulated devices, each with its own snmpsim responder,
mDNS announcer and maybe a PJLink projector.  Starting each as a fresh Python
(``ip netns exec NS snmpsim-command-responder ...``) costs ~0.5-1 s of CPU for
imports and MIB compilation; on a 2-CPU CI box that alone blows the 3 s budget.
This process imports everything once, then for each request forks a child that
``setns()``-es into the target network namespace and runs the server's
``main``.  Each child is still one process per host and per service, visible in
``ip netns pids`` and killed by the rig's teardown.

Protocol (line-oriented JSON on stdin/stdout; ``{"kind": "linger"}`` keeps the
server alive after stdin closes, for a detached rig):
  request  {"netns": "/run/netns/NAME", "kind": "snmpsim|mdns|pjlink", "args": [...],
            "log": "/path/file.log"}
  reply    {"pid": 1234} or {"error": "..."}
The server prints ``{"ready": true}`` once warmed up.  EOF on stdin ends it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import runpy
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from types import CodeType
from typing import Any

CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


def setns_net(path: str) -> None:
    """Move the calling thread into the network namespace bound at ``path``."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


class _CachedRunpy:
    """Drop-in for pysnmp's use of ``runpy.run_path`` that compiles each MIB once.

    pysnmp (when ``__debug__``) re-reads and re-compiles every MIB module for
    every SnmpEngine; compiling once here, before forking, makes each child's
    engine set-up cheap.  Semantics for pysnmp's call ``run_path(path, g)`` are
    kept: the module runs in a fresh copy of ``g``.
    """

    def __init__(self) -> None:
        self._codes: dict[str, CodeType] = {}

    def run_path(self, path: str, init_globals: dict[str, Any] | None = None) -> dict[str, Any]:
        code = self._codes.get(path)
        if code is None:
            with open(path, "rb") as fh:
                code = compile(fh.read(), path, "exec")
            self._codes[path] = code
        g: dict[str, Any] = dict(init_globals or {})
        g.update({"__name__": "<run_path>", "__file__": path})
        exec(code, g)
        return g

    def __getattr__(self, name: str) -> Any:
        return getattr(runpy, name)


def _cached_read(read: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    """Memoise MibSource.read, which (re)compiles the MIB source on every engine."""
    cache: dict[tuple[type, str], Any] = {}

    def wrapper(self: Any, f: str) -> Any:
        key = (type(self), self.full_path(f, ""))
        if key not in cache:
            cache[key] = read(self, f)
        return cache[key]

    return wrapper


def _warm_up() -> dict[str, Callable[[list[str]], int | None]]:
    """Import and pre-compile what children need; return kind -> entry point."""
    import pysnmp.hlapi.v3arch.asyncio  # noqa: F401 - imported for its side effect (warm)
    import pysnmp.smi.builder as builder
    from pysnmp.entity import engine
    from snmpsim.commands import responder

    from . import mdns_announcer, pjlink_projector

    builder.runpy = _CachedRunpy()
    for cls in (builder.DirMibSource, builder.ZipMibSource):
        cls.read = _cached_read(cls.read)
    # Load every bundled MIB once in a throw-away engine: fills both caches.
    engine.SnmpEngine().get_mib_builder().load_modules()

    def run_snmpsim(args: list[str]) -> int | None:
        real_setgroups = os.setgroups

        def tolerant_setgroups(groups: Sequence[int]) -> None:
            # rootless rig: the user namespace denies setgroups; nothing to drop anyway
            with contextlib.suppress(PermissionError):
                real_setgroups(groups)

        os.setgroups = tolerant_setgroups
        sys.argv = ["snmpsim-command-responder", *args]
        return responder.main()  # type: ignore[no-any-return]

    return {"snmpsim": run_snmpsim, "mdns": mdns_announcer.main, "pjlink": pjlink_projector.main}


def _child(req: dict[str, Any], entry: Callable[[list[str]], int | None]) -> None:
    """Runs in the forked child: detach, enter the namespace, run the server."""
    code = 1
    try:
        os.setsid()
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # die with the fork server
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        fd = os.open(req["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.stdout = os.fdopen(1, "w", buffering=1)
        sys.stderr = os.fdopen(2, "w", buffering=1)
        setns_net(req["netns"])
        rc = entry(list(req["args"]))
        code = int(rc or 0)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    """Main loop: read requests, fork children, report their PIDs."""
    entries = _warm_up()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    out = sys.stdout
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    linger = False
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if req.get("kind") == "linger":
                linger = True
                continue
            entry = entries[req["kind"]]
        except (ValueError, KeyError) as e:
            out.write(json.dumps({"error": f"bad request: {e!r}"}) + "\n")
            out.flush()
            continue
        out.flush()
        pid = os.fork()
        if pid == 0:
            _child(req, entry)
        out.write(json.dumps({"pid": pid}) + "\n")
        out.flush()
    while linger:  # detached rig: keep children's PDEATHSIG parent alive until killed
        signal.pause()


if __name__ == "__main__":
    serve()
