"""Our binary array encoding, read back by a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.pg_arrays import (
    EncodedArray,
    encode_bool,
    encode_float8,
    encode_int4,
    encode_int8,
    encode_text,
    encode_timestamptz,
)
from tests.collector.postgres import Cluster

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def conn(postgres_cluster: Cluster) -> Iterator[psycopg.Connection[Any]]:
    url = postgres_cluster.database().replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        yield connection


def _read_back(conn: psycopg.Connection[Any], encoded: EncodedArray, cast: str) -> Any:
    row = conn.execute(f"SELECT %b::{cast}[]", [encoded]).fetchone()
    assert row is not None
    return row[0]


CASES: list[tuple[Callable[[Sequence[Any]], EncodedArray], str, list[Any]]] = [
    (encode_text, "text", ["école", "", "a\"b'c\\d", "x" * 5000, "Épson EB-695Wi"]),
    (encode_text, "varchar(8)", ["0750001A", None, "0750002B"]),
    (encode_int4, "int4", [0, 1, -1, 2**31 - 1, -(2**31)]),
    (encode_int4, "int4", [None, 7, None]),
    (encode_int8, "int8", [2**62, -(2**63), 0, None]),
    (encode_float8, "float8", [0.0, -1.5, 1e300, 5e-324, 3]),  # an int among floats too
    (encode_float8, "float8", [None, 12.25]),
    (encode_bool, "bool", [True, False, None, True]),
    (
        encode_timestamptz,
        "timestamptz",
        [
            datetime(2026, 12, 7, 9, 30, 15, 123456, tzinfo=UTC),
            None,
            datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
            datetime(1, 1, 1, tzinfo=UTC),
            datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        ],
    ),
]


@pytest.mark.parametrize(("encode", "cast", "values"), CASES)
def test_values_come_back_as_sent(conn, encode, cast, values) -> None:  # type: ignore[no-untyped-def]
    back = _read_back(conn, encode(values), cast)
    assert back == [float(v) if cast == "float8" and v is not None else v for v in values]


@pytest.mark.parametrize(
    ("encode", "cast"), [(encode_text, "text"), (encode_int4, "int4"), (encode_bool, "bool")]
)
def test_empty_array(conn, encode, cast) -> None:  # type: ignore[no-untyped-def]
    assert _read_back(conn, encode([]), cast) == []


def test_unnest_gives_one_row_per_element(conn) -> None:  # type: ignore[no-untyped-def]
    rows = conn.execute(
        "SELECT * FROM unnest(%b::text[], %b::int4[]) AS v(name, n) ORDER BY n",
        [encode_text(["b", "a"]), encode_int4([2, 1])],
    ).fetchall()
    assert rows == [("a", 1), ("b", 2)]


@pytest.mark.parametrize(
    ("encode", "values"),
    [(encode_int4, [1, 2**31]), (encode_int8, [2**63]), (encode_float8, ["1.0"])],
)
def test_values_that_do_not_fit_are_refused_by_name(encode, values) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="Array: a value does not fit"):
        encode(values)


_text = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(st.none(), _text), max_size=30))
def test_any_text_round_trips(conn, values: list[str | None]) -> None:  # type: ignore[no-untyped-def]
    assert _read_back(conn, encode_text(values), "text") == values


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=False)), max_size=30))
def test_any_float_round_trips(conn, values: list[float | None]) -> None:  # type: ignore[no-untyped-def]
    assert _read_back(conn, encode_float8(values), "float8") == values


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.datetimes(
                timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))])
            ),
        ),
        max_size=30,
    )
)
def test_any_aware_datetime_round_trips(conn, values: list[datetime | None]) -> None:  # type: ignore[no-untyped-def]
    """Same instant back (the server answers in UTC), each object converted once."""
    twice = values + values  # the same objects again: the per-object cache must not mix them
    assert _read_back(conn, encode_timestamptz(twice), "timestamptz") == twice
