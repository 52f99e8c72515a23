"""`_latest`: one row per key, the newest (the later one on a tie), sorted by key.

Checked against a plain reference over random batches, with and without repeated
keys: the fast path (every key once) and the merging path must agree with it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from collector.derived_write import _latest


def _reference(rows: list[dict[str, Any]], key: tuple[str, ...], when: str) -> list[dict[str, Any]]:
    best: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        k = tuple(row[name] for name in key)
        if k not in best or best[k][when] <= row[when]:
            best[k] = row
    return [best[k] for k in sorted(best)]


ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "uai": st.sampled_from(["0750001A", "0750002B", "0750003C"]),
            "mac": st.sampled_from(["00:00:00:00:00:01", "00:00:00:00:00:02"]),
            "at": st.integers(min_value=0, max_value=3),
            "n": st.integers(),
        }
    ),
    max_size=12,
)


@given(ROWS)
def test_two_column_key(rows: list[dict[str, Any]]) -> None:
    got = _latest(rows, ("uai", "mac"), "at")
    assert [id(r) for r in got] == [id(r) for r in _reference(rows, ("uai", "mac"), "at")]


@given(ROWS)
def test_one_column_key(rows: list[dict[str, Any]]) -> None:
    got = _latest(rows, ("uai",), "at")
    assert [id(r) for r in got] == [id(r) for r in _reference(rows, ("uai",), "at")]


def test_newest_wins_and_a_tie_goes_to_the_later_row() -> None:
    old, new, tie = {"uai": "A", "at": 1}, {"uai": "A", "at": 2}, {"uai": "A", "at": 2}
    assert _latest([new, old], ("uai",), "at") == [new]
    assert _latest([new, tie], ("uai",), "at")[0] is tie
