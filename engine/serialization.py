"""Workflow state <-> JSON. A configuration, as SpiffWorkflow intends: one class, one converter.

The process spec is not stored with each case: it lives once in its definition version and is
parsed once per process (engine.definitions caches it), so a case's state holds only its tasks
and data. That keeps every persisted step small and fast.
"""

from __future__ import annotations

import json
import re
from copy import copy
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.timers import CLOCKED

STATE_FORMAT = 1


def _workflow_dict(converter: WorkflowConverter, workflow: Any) -> dict[str, Any]:
    """WorkflowConverter.to_dict's dict, its tasks built by tasks_to_dict."""
    registry = converter.registry
    return {
        "data": registry.convert(registry.clean(workflow.data)),
        "correlations": workflow.correlations,
        "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
        "success": workflow.success,
        "completed": workflow.completed,
        "tasks": tasks_to_dict(workflow.tasks, registry),
        "root": str(workflow.task_tree.id),
    }


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the spec out of the dict; restoring takes the cached spec as an argument. Tasks go
    through tasks_to_dict and tasks_from_dict."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = _workflow_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = tasks_from_dict(dct["tasks"], workflow, self.registry)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class LeanSubWorkflowConverter(BpmnSubWorkflowConverter):
    """The library's subprocess dict and restore, its tasks by tasks_to_dict and tasks_from_dict."""

    def to_dict(self, workflow: BpmnSubWorkflow) -> dict[str, Any]:
        dct = _workflow_dict(self, workflow)
        dct["parent_task_id"] = str(workflow.parent_task_id)
        dct["spec"] = workflow.spec.name
        return dct

    def from_dict(self, dct: dict[str, Any], task: Task, top_workflow: BpmnWorkflow) -> BpmnSubWorkflow:
        spec = top_workflow.subprocess_specs.get(task.task_spec.spec)
        subprocess = self.target_class(spec, task.id, top_workflow, deserializing=True)
        subprocess.tasks = tasks_from_dict(dct["tasks"], subprocess, self.registry)
        subprocess.task_tree = subprocess.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(subprocess, dct)
        return subprocess


def _task_dict(task: Task, parent: Task | None, ids: tuple[str, str | None, list[str]], convert: Any) -> dict[str, Any]:
    """SpiffWorkflow's task dict (TaskConverter.to_dict); `ids` are the task's, its parent's and
    its children's ids as text."""
    data = task.data
    if parent is None:
        delta: dict[str, Any] = {}
    else:
        above = parent.data
        delta = {
            "updates": DeepMerge.get_updated_keys(above, data),
            "deletions": DeepMerge.get_deleted_keys(above, data),
        }
        data = {}
    internal = task.internal_data
    return {
        "id": ids[0],
        "parent": ids[1],
        "children": ids[2],
        "last_state_change": task.last_state_change,
        "state": task._state,
        "task_spec": task.task_spec.name,
        "triggered": task.triggered,
        "internal_data": convert(internal) if internal else {},
        "data": data,
        "delta": delta,
    }


def tasks_to_dict(tasks: dict[UUID, Task], registry: Any) -> dict[str, dict[str, Any]]:
    """A workflow's task mapping as BpmnConverter.mapping_to_dict writes it, in one loop. A step
    writes every task of the case (~60 for a rescue, with its subprocesses): the library's way
    turns each task id into text four times (its key, its own, its parent's, its children's),
    UUID.__str__ in Python each time, and dispatches each task through the registry. Here each id
    is made text once and found again by its integer (hashed in C)."""
    typename = registry.typenames[Task]
    convert = registry.convert
    text = {uid.int: str(uid) for uid in tasks}
    by_int = {uid.int: task for uid, task in tasks.items()}
    out: dict[str, dict[str, Any]] = {}
    for uid, task in tasks.items():
        if task.__class__ is not Task:  # another registered class: the library's own way
            out[str(uid)] = convert(task)
            continue
        key = text[uid.int]
        parent_id = task._parent
        parent = by_int.get(parent_id.int) if parent_id is not None else None
        children = [text.get(c.int) or str(c) for c in task._children]
        dct = _task_dict(task, parent, (key, text[parent_id.int] if parent is not None else None, children), convert)
        dct["typename"] = typename
        out[key] = dct
    return out


def tasks_from_dict(tasks: dict[str, dict[str, Any]], workflow: Any, registry: Any) -> dict[UUID, Task]:
    """A workflow's tasks as TaskConverter.from_dict restores them, task by task, in their order
    (a task's data is its parent's with its delta applied, so parents come first). Every step that
    starts from a stored state runs this: the library parses each task id from text five times
    (its key, its own, its parent's, its children's), ~1 us each; here each is parsed once."""
    typename = registry.typenames[Task]
    restore = registry.restore
    specs = workflow.spec.task_specs
    events = workflow.top_workflow.event_manager
    ids = {key: UUID(key) for key in tasks}
    restored: dict[UUID, Task] = {}
    for key, dct in tasks.items():
        uid = ids[key]
        if dct.get("typename") != typename:  # another registered class: the library's own way
            restored[uid] = restore(dct, workflow=workflow)
            continue
        task_spec = specs.get(dct["task_spec"])
        task = Task(workflow, task_spec, state=dct["state"], id=uid)
        parent_id = dct["parent"]
        task._parent = (ids.get(parent_id) or UUID(parent_id)) if parent_id is not None else None
        task._children = [ids.get(child) or UUID(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = _restored(dct["internal_data"], restore)
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            events.add_task(task)
        delta = dct.get("delta")
        parent = workflow.tasks.get(task._parent) if delta else None
        if delta and parent is not None:
            data = _copied(parent.data)
            data.update(_restored(delta.get("updates", {}), restore))
            for name in delta.get("deletions", {}):
                if name in data:
                    del data[name]
        else:
            data = _restored(dct["data"], restore)
        task.data = data
        restored[uid] = task
    return restored


# What DictionaryConverter.restore returns as it is (its _JSON_PRIMITIVE_TYPES), and what
# DeepMerge.merge copies rather than shares.
_PRIMITIVE = frozenset({str, int, float, bool, type(None)})
_MUTABLE = (dict, list, set)


def _restored(value: Any, restore: Any) -> Any:
    """registry.restore(value), without a call per plain value: most of a task's data is strings
    and numbers, which restore hands back as they are. With _copied, restoring a rescue's state
    takes 0.51 ms instead of 0.66 (each task's data is rebuilt from its parent's at every restore)."""
    if value.__class__ is not dict or "typename" in value:
        return restore(value)
    out = value.copy()
    for k, v in value.items():
        if v.__class__ not in _PRIMITIVE:
            out[k] = restore(v)
    return out


def _copied(data: dict[str, Any]) -> dict[str, Any]:
    """DeepMerge.merge({}, data), which the library restores each task's data from: into an empty
    dict every key is new, so it is a copy with dicts, lists and sets copied one level down."""
    out = data.copy()
    for k, v in data.items():
        if v.__class__ not in _PRIMITIVE and isinstance(v, _MUTABLE):
            out[k] = copy(v)
    return out


class LeanTaskConverter(TaskConverter):
    """SpiffWorkflow's task dict, built with less work: the library's to_dict looks the parent up
    three times (a dict lookup hashing a UUID in Python each) and runs the generic converter over
    an empty internal_data. The dict is the library's exactly (tests/engine/test_state_text.py
    compares them); reading it back is the library's from_dict. Whole workflows use
    tasks_to_dict."""

    def to_dict(self, task: Task) -> dict[str, Any]:
        parent_id = task._parent
        parent = task.workflow.tasks.get(parent_id) if parent_id is not None else None
        ids = (str(task.id), str(parent_id) if parent is not None else None, [str(c) for c in task._children])
        return _task_dict(task, parent, ids, self.registry.convert)


def _config() -> dict[type, type]:
    config: dict[type, type] = copy(SPIFF_CONFIG)
    config[BpmnWorkflow] = SpeclessWorkflowConverter
    config[Task] = LeanTaskConverter
    config[BpmnSubWorkflow] = LeanSubWorkflowConverter
    for clocked in CLOCKED.values():
        config[clocked] = TimerConditionalEventDefinitionConverter
    return config


_SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config()))


# A number token of 19 digits or more in compact JSON: orjson would read it as a float.
_LONG_INTEGER = re.compile(r"[:\[,]-?\d{19}")
# How a text that dump_checked saw orjson read back exactly begins: "format" first. Every other
# text (the standard library's fallback, and states written before this mark) has it last.
_EXACT = f'{{"format":{STATE_FORMAT},'


def _parse(state: str) -> Any:
    """orjson reads a state several times faster than the standard library (every step reads one);
    what only the standard library reads as written (NaN, integers past 64 bits) it reads. A text
    marked exact is read by orjson at once (looking for long integers cost more than the read)."""
    if state.startswith(_EXACT):
        return orjson.loads(state)
    if _LONG_INTEGER.search(state) is None:
        try:
            return orjson.loads(state)
        except orjson.JSONDecodeError:
            pass
    return json.loads(state)


def dump_state(workflow: BpmnWorkflow) -> str:
    return dump_checked(workflow)[0]


def dump_checked(workflow: BpmnWorkflow) -> tuple[str, bool]:
    """The state as JSON text, and whether that text reads back exactly as the workflow holds it.

    orjson writes it (several times faster than the standard library) and reads it back; the text
    is kept when what it reads equals what was written. Else (a NaN, which orjson writes as null;
    an integer past 64 bits or a key that is not a string, which it refuses; a tuple, which reads
    back as a list) the standard library writes it as before, and the workflow in memory is not
    what reading the text gives: engine.workflow_cache keeps only workflows whose text reads back."""
    dct = {"format": STATE_FORMAT, **_SERIALIZER.to_dict(workflow)}  # "format" first: the exact mark
    try:
        text = orjson.dumps(dct)
        if orjson.loads(text) == dct:
            return text.decode(), True
    except TypeError:  # orjson.JSONEncodeError included
        pass
    dct["format"] = dct.pop("format")  # last: a text orjson may not read as written carries no mark
    return json.dumps(dct, separators=(",", ":"), ensure_ascii=False), False


def load_state(state: str, spec: Any, subprocess_specs: dict[str, Any], script_engine: Any) -> BpmnWorkflow:
    dct = _parse(state)
    fmt = dct.pop("format", None)
    if fmt != STATE_FORMAT:
        raise ValueError(f"unknown workflow state format {fmt!r}")
    workflow = _SERIALIZER.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
