"""Multi-instance and loop tasks with at most engine.limits.MAX_INSTANCES instances each.

SpiffWorkflow creates a parallel multi-instance task's instances all at once, inside one task
update, from a cardinality or a collection that task data decides: `loopCardinality` 10,000 was
still creating and running instances after 90 s. Parsed specs get a subclass (as timers get their
clocked twin, engine.timers) whose create_child refuses the instance past the cap; the case
becomes an incident naming the task.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask

from engine.limits import MAX_INSTANCES
from engine.sandbox import ScriptStopped

_CAPPED: dict[type, type] = {}


def _capped(cls: type) -> type:
    def create_child(self: Any, my_task: Any, *args: Any, **kwargs: Any) -> Any:
        if sum(1 for _ in self._instances(my_task)) >= MAX_INSTANCES:
            stop = ScriptStopped(f"more than {MAX_INSTANCES} instances of one task", limit="instances")
            raise stop.at(self)
        return cls.create_child(self, my_task, *args, **kwargs)  # type: ignore[attr-defined]

    return type(cls.__name__, (cls,), {"create_child": create_child, "__module__": cls.__module__})


def cap_instances(task_spec: Any) -> None:
    """Swap a parsed loop or multi-instance spec to its capped twin (same state, same behaviour)."""
    cls = type(task_spec)
    if not isinstance(task_spec, LoopTask) or cls in _CAPPED.values():
        return
    if cls not in _CAPPED:
        _CAPPED[cls] = _capped(cls)
    task_spec.__class__ = _CAPPED[cls]
