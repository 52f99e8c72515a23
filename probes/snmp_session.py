"""SNMP transport for the snmp probe: one device, one credential, bounded requests.

Why our own walk loop instead of pysnmp's `walk_cmd`/`bulk_walk_cmd`: those keep
going while an agent keeps answering (`bulk_walk_cmd` even loops again after a
timeout), and a school device with a broken agent must not stall discovery. Here
every walk stops at a row cap, at a deadline, at the first OID outside the subtree
and at the first OID that does not increase.

Why two pysnmp stacks: SNMPv1/v2c requests go through pysnmp's light "v1arch"
dispatcher, SNMPv3 through the full "v3arch" engine. The engine writes every new
(community, address) pair into its own MIB tables before sending (~9 ms of CPU
each here, several times that on a Raspberry Pi): a first pass of 60 hosts × 12
communities cost seconds of CPU, during which answers that had arrived could not
be read and timed out. v1arch encodes and sends with no such bookkeeping.

Credentials are turned into pysnmp auth objects here and nowhere else; the secret
values never appear in a log line or an exception message we raise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pysnmp.hlapi.v1arch import asyncio as v1arch
from pysnmp.hlapi.v3arch.asyncio import (
    USM_AUTH_HMAC96_MD5,
    USM_AUTH_HMAC96_SHA,
    USM_AUTH_HMAC128_SHA224,
    USM_AUTH_HMAC192_SHA256,
    USM_AUTH_HMAC256_SHA384,
    USM_AUTH_HMAC384_SHA512,
    USM_AUTH_NONE,
    USM_PRIV_CBC56_DES,
    USM_PRIV_CBC168_3DES,
    USM_PRIV_CFB128_AES,
    USM_PRIV_CFB192_AES,
    USM_PRIV_CFB256_AES,
    USM_PRIV_NONE,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.proto import errind
from pysnmp.proto.rfc1902 import Null, ObjectName
from pysnmp.smi import builder, view

from agent.config import SnmpCredential, SnmpV1V2Credential
from probes.snmp_values import is_absent

log = logging.getLogger(__name__)

Oid = tuple[int, ...]
VarBind = tuple[Oid, Any]

_BULK_REPETITIONS = 25  # rows per GETBULK: fills a 1500-byte reply for typical tables
_TRANSIENT_V3 = (errind.NotInTimeWindow, errind.UnknownEngineID)  # first contact: retry once

_AUTH = {
    "md5": USM_AUTH_HMAC96_MD5,
    "sha": USM_AUTH_HMAC96_SHA,
    "sha224": USM_AUTH_HMAC128_SHA224,
    "sha256": USM_AUTH_HMAC192_SHA256,
    "sha384": USM_AUTH_HMAC256_SHA384,
    "sha512": USM_AUTH_HMAC384_SHA512,
}
_PRIV = {
    "des": USM_PRIV_CBC56_DES,
    "3des": USM_PRIV_CBC168_3DES,
    "aes": USM_PRIV_CFB128_AES,
    "aes192": USM_PRIV_CFB192_AES,
    "aes256": USM_PRIV_CFB256_AES,
}


class _NoMibCompiler:
    """Stands in for pysmi's compiler: we send numeric OIDs only and never compile MIBs.

    Without it pysnmp builds a MIB compiler on the first request when pysmi is
    installed (~2 s of CPU, more on a Raspberry Pi) and may try to fetch MIB files
    from the internet when a name does not resolve.
    """


_MIB_VIEW: view.MibViewController | None = None


class SnmpStacks:
    """The two pysnmp stacks a run shares, each created on first use and closed together.

    One per probe run (or per caller identifying many hosts): creating the v3
    engine loads its MIB modules (~0.1–0.2 s of CPU), and a school that only
    configures communities never pays for it.
    """

    def __init__(self) -> None:
        self._engine: SnmpEngine | None = None
        self._dispatcher: v1arch.SnmpDispatcher | None = None

    @property
    def engine(self) -> SnmpEngine:
        """The v3arch engine (SNMPv3 users), sharing one process-wide MIB view."""
        global _MIB_VIEW
        if self._engine is None:
            if _MIB_VIEW is None:
                mib_builder = builder.MibBuilder()
                mibs_dir = mib_builder.get_mib_sources()[0].full_path()
                mib_builder.set_mib_compiler(_NoMibCompiler(), mibs_dir)
                _MIB_VIEW = view.MibViewController(mib_builder)
            self._engine = SnmpEngine()
            self._engine.cache["mibViewController"] = _MIB_VIEW
        return self._engine

    @property
    def dispatcher(self) -> v1arch.SnmpDispatcher:
        """The v1arch dispatcher (SNMPv1 and v2c communities)."""
        if self._dispatcher is None:
            self._dispatcher = v1arch.SnmpDispatcher()
        return self._dispatcher

    def close_dispatcher(self) -> None:
        """Close whichever stacks were opened (their sockets and timers)."""
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None
        if self._dispatcher is not None:
            self._dispatcher.transport_dispatcher.close_dispatcher()
            self._dispatcher = None


def parse_oid(text: str) -> Oid:
    """`1.3.6.1` or `.1.3.6.1` → (1, 3, 6, 1)."""
    return tuple(int(part) for part in text.strip(".").split("."))


def oid_text(oid: Oid) -> str:
    return ".".join(str(part) for part in oid)


def auth_data(credential: SnmpCredential) -> v1arch.CommunityData | UsmUserData:
    """pysnmp auth object for one configured credential (holds the secret; never log it)."""
    if isinstance(credential, SnmpV1V2Credential):
        model = 0 if credential.version == "1" else 1
        return v1arch.CommunityData(credential.community.get_secret_value(), mpModel=model)
    auth_key = credential.auth_key.get_secret_value() if credential.auth_key else None
    priv_key = credential.priv_key.get_secret_value() if credential.priv_key else None
    return UsmUserData(
        credential.user,
        authKey=auth_key,
        privKey=priv_key,
        authProtocol=_AUTH[credential.auth_protocol] if credential.auth_protocol else USM_AUTH_NONE,
        privProtocol=_PRIV[credential.priv_protocol] if credential.priv_protocol else USM_PRIV_NONE,
    )


class SnmpUnreachable(Exception):
    """The device did not answer with this credential (timeout, auth refused, …)."""


@dataclass
class SnmpSession:
    """One device reached with one credential; every request is bounded in time."""

    stacks: SnmpStacks
    auth: v1arch.CommunityData | UsmUserData
    target: UdpTransportTarget
    version: str

    @classmethod
    async def open(
        cls,
        stacks: SnmpStacks,
        ip: str,
        port: int,
        credential: SnmpCredential,
        *,
        timeout_s: float,
        retries: int,
    ) -> SnmpSession:
        target = await UdpTransportTarget.create((ip, port), timeout=timeout_s, retries=retries)
        return cls(stacks, auth_data(credential), target, credential.version)

    @property
    def request_budget_s(self) -> float:
        """Longest one request can take inside pysnmp (timeout × tries), plus slack."""
        return float(self.target.timeout) * (int(self.target.retries) + 1) + 0.5

    async def _call(self, kind: str, oids: Sequence[Oid], repetitions: int = 0) -> list[VarBind]:
        """One request; raises SnmpUnreachable on transport/auth errors, [] on PDU errors."""
        try:
            async with asyncio.timeout(self.request_budget_s):
                if isinstance(self.auth, UsmUserData):
                    coro = self._v3_request(self.auth, kind, oids, repetitions)
                else:
                    coro = self._v1_request(self.auth, kind, oids, repetitions)
                error, status, _index, table = await coro
        except TimeoutError as exc:
            raise SnmpUnreachable("no answer") from exc
        except Exception as exc:  # pysnmp raises PySnmpError and friends on odd input
            raise SnmpUnreachable(type(exc).__name__) from exc
        if error:
            raise SnmpUnreachable(_error_name(error))
        if status:
            return []  # v1 noSuchName and genErr: the agent is alive, this OID is not
        return [(tuple(name), value) for name, value in table]

    def _v1_request(
        self, auth: v1arch.CommunityData, kind: str, oids: Sequence[Oid], repetitions: int
    ) -> Any:
        binds = [(ObjectName(oid), Null("")) for oid in oids]
        dispatcher = self.stacks.dispatcher
        if kind == "get":
            return v1arch.get_cmd(dispatcher, auth, self.target, *binds, lookupMib=False)
        if kind == "next":
            return v1arch.next_cmd(dispatcher, auth, self.target, *binds, lookupMib=False)
        return v1arch.bulk_cmd(
            dispatcher, auth, self.target, 0, repetitions, *binds, lookupMib=False
        )

    def _v3_request(
        self, auth: UsmUserData, kind: str, oids: Sequence[Oid], repetitions: int
    ) -> Any:
        binds = [ObjectType(ObjectIdentity(oid_text(oid))) for oid in oids]
        engine, ctx = self.stacks.engine, ContextData()
        if kind == "get":
            return get_cmd(engine, auth, self.target, ctx, *binds, lookupMib=False)
        if kind == "next":
            return next_cmd(engine, auth, self.target, ctx, *binds, lookupMib=False)
        return bulk_cmd(engine, auth, self.target, ctx, 0, repetitions, *binds, lookupMib=False)

    async def get(self, oids: Sequence[Oid]) -> dict[Oid, Any]:
        """GET several scalars; a v1 agent refusing one OID fails the PDU, so retry singly."""
        found = {oid: value for oid, value in await self._call("get", oids) if not is_absent(value)}
        if not found and len(oids) > 1 and self.version == "1":
            for oid in oids:
                for name, value in await self._call("get", [oid]):
                    if not is_absent(value):
                        found[name] = value
        return found

    async def next_one(self, oid: Oid) -> VarBind | None:
        """One GETNEXT; None past the end of the agent's MIB."""
        reply = await self._call("next", [oid])
        if not reply or is_absent(reply[0][1]):
            return None
        return reply[0]

    async def first_under(self, roots: Sequence[Oid]) -> dict[Oid, VarBind]:
        """GETNEXT on each root at once: which subtrees hold anything, and their first row."""
        reply = await self._call("next", roots)
        if len(reply) != len(roots):
            reply = []
            for root in roots:  # v1 fails the whole PDU when one root is past the end
                single = await self._call("next", [root])
                reply.append(single[0] if single else (root, None))
        return {
            root: (name, value)
            for root, (name, value) in zip(roots, reply, strict=True)
            if name[: len(root)] == root and len(name) > len(root) and not is_absent(value)
        }

    async def walk(self, root: Oid, *, max_rows: int, max_s: float) -> list[VarBind]:
        """Rows under `root`, stopping at max_rows, max_s, the subtree's end or a loop."""
        rows: list[VarBind] = []
        last = root
        deadline = time.monotonic() + max_s
        try:
            async with asyncio.timeout(max_s):
                while len(rows) < max_rows and time.monotonic() < deadline:
                    batch = await self._next_batch(last, max_rows - len(rows))
                    if not batch:
                        break
                    for name, value in batch:
                        if name[: len(root)] != root or is_absent(value) or name <= last:
                            return rows
                        rows.append((name, value))
                        last = name
                        if len(rows) >= max_rows:
                            break
        except TimeoutError:
            log.debug("walk of %s stopped after %.1f s (%d rows)", oid_text(root), max_s, len(rows))
        except SnmpUnreachable as exc:
            log.debug("walk of %s stopped: %s (%d rows)", oid_text(root), exc, len(rows))
        return rows

    async def _next_batch(self, after: Oid, wanted: int) -> list[VarBind]:
        if self.version == "1":
            return await self._call("next", [after])
        return await self._call("bulk", [after], repetitions=max(1, min(_BULK_REPETITIONS, wanted)))


def _error_name(error: object) -> str:
    """A stable name for a pysnmp error indication (v1arch gives some as plain strings)."""
    if isinstance(error, str):
        return "RequestTimedOut" if "timeout" in error.lower() else "SnmpError"
    return type(error).__name__


async def reach(
    stacks: SnmpStacks,
    ip: str,
    port: int,
    credential: SnmpCredential,
    *,
    timeout_s: float,
    retries: int,
) -> tuple[SnmpSession, dict[Oid, Any]]:
    """Open a session and prove it with a GET of sysDescr/sysObjectID.

    SNMPv3 first contact may fail with notInTimeWindow/unknownEngineID while the
    engine discovers the agent's boots/time: one retry is part of the protocol.
    """
    session = await SnmpSession.open(
        stacks, ip, port, credential, timeout_s=timeout_s, retries=retries
    )
    probe = [parse_oid("1.3.6.1.2.1.1.1.0"), parse_oid("1.3.6.1.2.1.1.2.0")]
    attempts = 2 if credential.version == "3" else 1
    for attempt in range(attempts):
        try:
            return session, await session.get(probe)
        except SnmpUnreachable as exc:
            transient = str(exc) in {cls.__name__ for cls in _TRANSIENT_V3}
            if attempt + 1 >= attempts or not transient:
                raise
    raise SnmpUnreachable("no answer")  # pragma: no cover - loop always returns or raises
