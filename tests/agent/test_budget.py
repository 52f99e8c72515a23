"""Monthly data budget: per calendar month (Paris), persisted atomically, conservative."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.budget import FILE_NAME, MB, DataBudget

NOV = datetime(2026, 11, 15, 12, tzinfo=UTC)


def test_no_limit_allows_everything(tmp_path: Path) -> None:
    budget = DataBudget(tmp_path, 0)
    assert budget.check(10**12, NOV).allowed
    assert budget.status(NOV).remaining_bytes is None


def test_refuses_a_test_whose_worst_case_does_not_fit(tmp_path: Path) -> None:
    budget = DataBudget(tmp_path, 100 * MB)
    budget.record(70 * MB, NOV)
    assert budget.check(30 * MB, NOV).allowed
    decision = budget.check(31 * MB, NOV)
    assert not decision.allowed and "only 30 MB" in decision.reason


def test_persists_across_restarts_and_months_are_separate(tmp_path: Path) -> None:
    DataBudget(tmp_path, 100 * MB).record(40 * MB, NOV)
    again = DataBudget(tmp_path, 100 * MB)
    assert again.used(NOV) == 40 * MB
    assert again.used(datetime(2026, 12, 1, 12, tzinfo=UTC)) == 0
    stored = json.loads((tmp_path / FILE_NAME).read_text())
    assert stored == {"version": 1, "months": {"2026-11": 40 * MB}}
    assert not list(tmp_path.glob(".budget-*"))  # temp files never linger


def test_month_boundary_is_in_paris_time(tmp_path: Path) -> None:
    budget = DataBudget(tmp_path, 100 * MB)
    # 23:30 UTC on 30 November is already 1 December in Paris.
    assert budget.month_of(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == "2026-12"


def test_unreadable_file_means_month_spent(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("{not json")
    budget = DataBudget(tmp_path, 100 * MB, now=NOV)
    assert not budget.check(1, NOV).allowed
    budget.record(5 * MB, datetime(2026, 12, 2, tzinfo=UTC))
    assert budget.check(1 * MB, datetime(2026, 12, 3, tzinfo=UTC)).allowed


def test_history_is_bounded(tmp_path: Path) -> None:
    budget = DataBudget(tmp_path, 100 * MB)
    for month in range(1, 13):
        budget.record(MB, datetime(2025, month, 10, tzinfo=UTC))
    for month in range(1, 6):
        budget.record(MB, datetime(2026, month, 10, tzinfo=UTC))
    assert len(json.loads((tmp_path / FILE_NAME).read_text())["months"]) == 13


def test_rejects_bad_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        DataBudget(tmp_path, -1)
    with pytest.raises(ValueError):
        DataBudget(tmp_path, 10).record(-5, NOV)
