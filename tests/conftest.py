"""Shared pytest fixtures.

The simulated school (``tests/rig``) needs root (or user namespaces) plus
iproute2, snmpd, nginx and iperf3.  When it cannot be built, rig tests SKIP
with the reason, except in CI (``CI=true``) where they FAIL: CI always has
what the rig needs, so a skip there would hide a broken rig.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest

from tests.rig import RigUnavailable, School, build_school, cleanup_stale


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "rig: needs the simulated school network (network namespaces, root or unshare)"
    )


def in_ci() -> bool:
    """CI=true (GitHub Actions, GitLab, ...)."""
    return os.environ.get("CI", "").lower() == "true"


def rig_unavailable(reason: str) -> NoReturn:
    """Fail in CI, skip elsewhere, always saying why."""
    msg = f"simulated school network unavailable: {reason}"
    if in_ci():
        pytest.fail(msg, pytrace=False)
    pytest.skip(msg)


def _start(**options: Any) -> School:
    school = build_school(**options)
    try:
        return school.start()
    except RigUnavailable as e:
        rig_unavailable(str(e))
    except (OSError, RuntimeError, TimeoutError) as e:
        if in_ci():
            raise
        rig_unavailable(f"{type(e).__name__}: {e}")


@pytest.fixture(scope="session")
def school() -> Iterator[School]:
    """The default school (4 classrooms, >= 10 device hosts, 20/5 Mbit/s), shared by the session."""
    if os.geteuid() == 0:
        try:
            cleanup_stale()  # namespaces of rigs whose owner was killed
        except RigUnavailable as e:
            rig_unavailable(str(e))
    s = _start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def school_factory() -> Iterator[Callable[..., School]]:
    """Build custom schools: ``school_factory(classrooms=2, hosts=5, down_mbit=8)``; all torn down."""
    made: list[School] = []

    def make(**options: Any) -> School:
        s = _start(**options)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()
