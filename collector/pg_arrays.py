"""PostgreSQL one-dimensional arrays in binary form, encoded a whole column at a time.

Why: psycopg dumps a list element by element in Python (a method call, a struct
pack and two appends each). The ingest writer sends each batch column by column
(`unnest` of one array per column), ~360 elements per snapshot, and that loop was
its largest Python cost. Here a column becomes one `bytes` in the wire format of
PostgreSQL's `array_recv` (header, one dimension, length-prefixed elements): one
struct call for a column of numbers without NULLs, a few C-level maps for text.
psycopg sends it as it is, declared with the array's OID. Measured per element:
numbers 0.06-0.09 µs against psycopg's 0.20, text 0.17 against 0.25. Datetimes
cost about as much as psycopg's (~0.6 µs) but are converted once per instant: a
snapshot's time is on each of its twenty device rows, and devices seen by one
discovery run share their last-seen time (60 values of a snapshot: 4-41 µs against
psycopg's 40).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import psycopg
from psycopg.adapt import Buffer, Dumper
from psycopg.pq import Format

_HEADER = struct.Struct(">iiIii")  # dimensions, has-NULL flag, element OID, length, lower bound
_EMPTY = struct.Struct(">iiI")  # zero dimensions, no NULL, element OID
_LENGTH = struct.Struct(">i")
_NULL = _LENGTH.pack(-1)


class EncodedArray:
    """An array ready to send; `oid` is the array type's (e.g. 1022 for float8[])."""

    __slots__ = ("data",)
    oid: ClassVar[int]

    def __init__(self, data: bytes) -> None:
        self.data = data


class _EncodedArrayDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: Any) -> Buffer:
        data: bytes = obj.data
        return data


Encoder = Callable[[Sequence[Any]], EncodedArray]


def _array_class(name: str, array_oid: int) -> type[EncodedArray]:
    cls = type(name, (EncodedArray,), {"__slots__": (), "oid": array_oid})
    dumper = type(f"{name}Dumper", (_EncodedArrayDumper,), {"oid": array_oid})
    psycopg.adapters.register_dumper(cls, dumper)
    return cls


def _fixed(name: str, element_oid: int, array_oid: int, code: str, size: int) -> Encoder:
    """Fixed-size elements (numbers, booleans): each is (length, value) on the wire."""
    cls = _array_class(name, array_oid)
    one = struct.Struct(">i" + code)

    def encode(values: Sequence[Any]) -> EncodedArray:
        count = len(values)
        if not count:
            return cls(_EMPTY.pack(0, 0, element_oid))
        try:
            if None in values:  # a C-level scan (strings and numbers never equal None)
                body = b"".join([_NULL if v is None else one.pack(size, v) for v in values])
                return cls(_HEADER.pack(1, 1, element_oid, count, 1) + body)
            pairs: list[Any] = [size, None] * count
            pairs[1::2] = values
            return cls(
                _HEADER.pack(1, 0, element_oid, count, 1)
                + struct.pack(">" + ("i" + code) * count, *pairs)
            )
        except struct.error as exc:  # out of range for the column, or not a number
            raise ValueError(f"{name}: a value does not fit ({exc})") from None

    return encode


def encode_text(values: Sequence[str | None]) -> EncodedArray:
    """text[]; the statement casts it to the column's varchar(n)[]."""
    count = len(values)
    if not count:
        return TextArray(_EMPTY.pack(0, 0, 25))
    if None in values:  # a C-level scan (strings and numbers never equal None)
        body = b"".join(
            [_NULL if v is None else _LENGTH.pack(len(e := v.encode())) + e for v in values]
        )
        return TextArray(_HEADER.pack(1, 1, 25, count, 1) + body)
    encoded = list(map(str.encode, values))  # type: ignore[arg-type]  # no None here
    parts: list[bytes] = [b""] * (2 * count)  # length, bytes, length, bytes…
    parts[0::2] = map(_LENGTH.pack, map(len, encoded))
    parts[1::2] = encoded
    return TextArray(_HEADER.pack(1, 0, 25, count, 1) + b"".join(parts))


TextArray = _array_class("TextArray", 1009)
encode_int4 = _fixed("Int4Array", 23, 1007, "i", 4)
encode_int8 = _fixed("Int8Array", 20, 1016, "q", 8)
encode_float8 = _fixed("Float8Array", 701, 1022, "d", 8)
encode_bool = _fixed("BoolArray", 16, 1000, "?", 1)


_encode_micros = _fixed("TimestamptzArray", 1184, 1185, "q", 8)
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def encode_timestamptz(values: Sequence[datetime | None]) -> EncodedArray:
    """timestamptz[]: microseconds since 2000-01-01 UTC. Naive datetimes are refused (the
    server would read them in its own zone)."""
    micros: list[int | None] = []
    done: dict[datetime, int] = {}  # by instant: a batch repeats a few times many times over
    for value in values:
        if value is None:
            micros.append(None)
            continue
        found = done.get(value)
        if found is None:
            try:
                delta = value - _PG_EPOCH
            except TypeError:
                raise ValueError("naive datetime given to the database") from None
            found = done[value] = (
                delta.days * 86_400 + delta.seconds
            ) * 1_000_000 + delta.microseconds
        micros.append(found)
    return _encode_micros(micros)
