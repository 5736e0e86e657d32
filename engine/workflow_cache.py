"""Restored workflows of the cases this process stepped last, so the next step skips restoring one.

Restoring a workflow from its stored state is a third of a step's CPU. After a step commits, the
process keeps the workflow object it stepped, with the exact state text it wrote. The next step
on that case reads the state with the case row locked, as always; the kept object is used only
when that text is the very text it was saved as, so a step made by another process (or anything
else that wrote the state) makes it unusable without any message between processes. A kept
object is also equal to what restoring the text would give: dump_state keeps only states that
read back as written (no tuples, no non-string keys; engine.serialization.round_trips).

A step takes its object out of the cache (two threads never share one) and puts it back only
after its commit; a step that fails or loses its race leaves nothing behind.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

# Cases kept per process (LIFTCASE_WORKFLOW_CACHE_CASES): a rescue's workflow is about 100 kB
# and a few thousand objects, which every full collection of the cyclic GC walks.
DEFAULT_SIZE = 256


@dataclass(frozen=True)
class Kept:
    """A workflow as a committed step left it, with what that step knew of it."""

    state: str  # the exact text written to cases.state
    workflow: BpmnWorkflow
    open_tasks: dict[str, Any]  # engine.steps.open_tasks_of(workflow)
    timers: set[tuple[str, str, datetime]]  # engine.steps.timer_set(workflow)


class WorkflowCache:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._kept: OrderedDict[int, Kept] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def take(self, case_id: int, state: str) -> Kept | None:
        """The kept workflow of this case if it was saved as exactly `state`; it leaves the cache."""
        with self._lock:
            kept = self._kept.pop(case_id, None)
            if kept is not None and (kept.state is state or kept.state == state):
                self.hits += 1
                return kept
            self.misses += 1
            return None

    def keep(self, case_id: int, kept: Kept) -> None:
        """After the commit that wrote `kept.state`."""
        if self.size <= 0:
            return
        with self._lock:
            self._kept[case_id] = kept
            self._kept.move_to_end(case_id)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
