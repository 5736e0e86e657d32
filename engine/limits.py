"""How much one engine run may take, whatever the BPMN says, and finding the stop in an error.

Per script or expression: `script_seconds` and `memory_mb` (enforced in a child process,
engine.script_pool). Per engine run (one start or one step of a case): `run_seconds` of wall time
and `run_transitions` tasks run, which end BPMN-level loops (script -> gateway -> back) that no
single script limit sees; per case, `max_depth` levels of task tree, which a loop also grows. A
multi-instance or loop task has at most MAX_INSTANCES instances.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from engine.sandbox import ScriptStopped

MAX_INSTANCES = 100


@dataclass(frozen=True)
class Limits:
    script_seconds: float = 1.0
    run_seconds: float = 5.0
    run_transitions: int = 10_000
    memory_mb: int = 64
    # SpiffWorkflow stops looking for tasks 1000 levels down its task tree (TaskIterator's max_depth),
    # and a BPMN loop adds levels each round: past that the case would stall silently.
    max_depth: int = 900


class RunBudget:
    """One engine run's wall time and task transitions; each script gets what is left, at most its own limit."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.run_seconds
        self.transitions = 0

    def next_limit(self) -> float:
        """Seconds the next script may take; ScriptStopped when the run has none left."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self.out_of_time()
        return min(self.limits.script_seconds, left)

    def out_of_time(self) -> ScriptStopped:
        return ScriptStopped(f"the engine run took more than {self.limits.run_seconds:g} s", limit="budget")

    def tick(self, task: Any) -> None:
        """Before each task runs (do_engine_steps' will_complete_task)."""
        self.transitions += 1
        if self.transitions > self.limits.run_transitions:
            stop = ScriptStopped(f"the engine run took more than {self.limits.run_transitions} steps", limit="budget")
            raise stop.at(task.task_spec)
        if time.monotonic() > self.deadline:
            raise self.out_of_time().at(task.task_spec)
        if task.depth >= self.limits.max_depth:
            stop = ScriptStopped(f"the process went round a loop too often ({task.depth} tasks deep)", limit="budget")
            raise stop.at(task.task_spec)


def find_stop(error: BaseException | None) -> ScriptStopped | None:
    """The ScriptStopped behind an error (SpiffWorkflow wraps what scripts raise), or None."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ScriptStopped):
            return error
        seen.add(id(error))
        error = getattr(error, "exception", None) or error.__cause__ or error.__context__
    return None
