"""Garbage cycles are still collected while the collector paces collection by the clock."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.gc_pacing import GcPacing
from tests.collector.live import LiveCollector


class _Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def _cycle() -> weakref.ref[_Node]:
    return weakref.ref(_Node())


async def _freed_within(ref: weakref.ref[_Node], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ref() is None:
            return True
        await asyncio.sleep(0.01)
    return ref() is None


@pytest.fixture
def automatic_gc_restored() -> Iterator[None]:
    yield
    gc.enable()


async def test_cycles_wait_for_the_next_tick_not_for_allocations(
    automatic_gc_restored: None,
) -> None:
    gc.disable()
    unpaced = _cycle()
    junk = [[i] for i in range(5_000)]  # far past the allocation threshold
    del junk
    assert not await _freed_within(unpaced, 0.3)  # the control: nothing collects it

    task = asyncio.create_task(GcPacing(young_every_s=0.05, full_every_s=10).run())
    try:
        await asyncio.sleep(0)
        assert not gc.isenabled()
        assert await _freed_within(unpaced, 1.0)
        young = _cycle()
        assert await _freed_within(young, 1.0)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert gc.isenabled()


async def test_old_cycles_go_at_the_full_collection(automatic_gc_restored: None) -> None:
    node = _Node()
    ref = weakref.ref(node)
    task = asyncio.create_task(GcPacing(young_every_s=0.05, full_every_s=0.6).run())
    try:
        await asyncio.sleep(0.2)  # young collections promote it to the oldest generation
        del node
        # Young collections (every 0.05 s) do not walk the oldest generation:
        assert not await _freed_within(ref, 0.15)
        assert await _freed_within(ref, 1.5)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_the_serving_application_paces_and_then_restores(tmp_path: Path) -> None:
    assert gc.isenabled()
    live = LiveCollector(tmp_path).start()
    try:
        assert not gc.isenabled()
    finally:
        live.close()
    assert gc.isenabled()
