"""An API process's warm-up sets the garbage collector for stepping cases (processes.system)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from processes.system import GC_THRESHOLDS, System


@pytest.fixture
def thresholds() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_warm_up_sets_the_collector_and_parses_the_processes(sqlite_system: System, thresholds: None) -> None:
    sqlite_system.engine._latest_cache.clear()
    sqlite_system.warm_up()
    assert gc.get_threshold() == GC_THRESHOLDS
    assert sqlite_system.engine._latest_cache  # every deployed process's newest version read
