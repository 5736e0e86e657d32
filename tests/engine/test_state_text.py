"""The stored workflow state: a text orjson reads back exactly is marked so, and read without a
search for long integers; every other text (the standard library's, older states) reads as
written; its task dicts are the library's. And the one walk of the task tree a step makes finds
what the two walks it replaced did."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
)
from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from demo.scenarios import an_elevator, complete
from engine.definitions import ParsedProcess, parsed_definition
from engine.models import Case
from engine.serialization import (
    _SERIALIZER,
    STATE_FORMAT,
    SpeclessWorkflowConverter,
    _config,
    _restored,
    dump_checked,
    load_state,
)
from engine.steps import before_step, timer_set, waiting_for
from processes.intake import open_or_join
from processes.system import System

MARK = f'{{"format":{STATE_FORMAT},'


def _state(system: System, case_id: int) -> tuple[str, ParsedProcess]:
    with system.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None
        return case.state, parsed_definition(system.engine.definition(session, case.definition_id))


def _restore(text: str, parsed: ParsedProcess) -> BpmnWorkflow:
    return load_state(text, parsed.spec, parsed.subprocess_specs, None)


def _rescue(system: System) -> int:
    return open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=an_elevator(system), signal={"source": "qr"}
    ).case_id


def test_a_state_orjson_reads_exactly_is_marked_and_reads_back_the_same(sqlite_system: System) -> None:
    stored, parsed = _state(sqlite_system, _rescue(sqlite_system))
    assert stored.startswith(MARK)
    workflow = _restore(stored, parsed)
    workflow.data["big"] = 2**63 + 5  # past a signed 64-bit integer, still one orjson reads exactly
    text, exact = dump_checked(workflow)
    assert exact and text.startswith(MARK)
    again = _restore(text, parsed)
    assert again.data["big"] == 2**63 + 5 and isinstance(again.data["big"], int)
    assert dump_checked(again)[0] == text


def _places(workflow: BpmnWorkflow) -> dict[str, Any]:
    """Where a state holds what processes and people put in: name -> a dict in the workflow to put
    a value in (the workflow's data, a task's data, nested in it, a subprocess task's data, a
    task's internal data)."""
    root = workflow.task_tree
    child = next(t for t in workflow.get_tasks() if t.parent is not None and t.parent.parent is not None)
    sub_task = next(t for sp in workflow.subprocesses.values() for t in sp.tasks.values())
    child.data.setdefault("nested", {"inner": {}})
    if not child.internal_data:
        child.internal_data = {}
    return {
        "workflow data": workflow.data,
        "root task data": root.data,
        "a task's data (its delta)": child.data,
        "nested in a task's data": child.data["nested"]["inner"],
        "a subprocess task's data": sub_task.data,
        "internal data": child.internal_data,
    }


def test_a_state_orjson_cannot_read_exactly_carries_no_mark_and_reads_as_written(sqlite_system: System) -> None:
    """Wherever a value orjson cannot read back exactly sits (the workflow's data, a task's, nested,
    a subprocess's, internal data), the state is written by the standard library, unmarked, and
    reads back as that writes it; values it reads exactly keep the mark."""
    stored, parsed = _state(sqlite_system, _rescue(sqlite_system))
    odd_values = ((2**70, 2**70), (-(2**64) - 1, -(2**64) - 1), (float("nan"), None), ((1, 2), [1, 2]))
    for place in _places(_restore(stored, parsed)):
        for odd, read in odd_values:
            workflow = _restore(stored, parsed)
            _places(workflow)[place]["odd"] = odd
            text, exact = dump_checked(workflow)
            assert not exact and not text.startswith(MARK), (place, odd)
            value = _places(_restore(text, parsed))[place].get("odd")
            if read is None:
                assert math.isnan(value), place
            else:
                assert value == read and type(value) is type(read), (place, odd)
        workflow = _restore(stored, parsed)
        _places(workflow)[place]["even"] = [1, "二", {"x": 2**63 + 5}]  # orjson reads these exactly
        text, exact = dump_checked(workflow)
        assert exact and text.startswith(MARK), place


def test_an_unmarked_state_of_before_the_mark_reads_long_integers_exactly(sqlite_system: System) -> None:
    stored, parsed = _state(sqlite_system, _rescue(sqlite_system))
    dct: dict[str, Any] = json.loads(stored)
    fmt = dct.pop("format")
    dct["data"]["count"] = 2**64 + 1  # orjson would read it as a float
    dct["format"] = fmt  # last, as every state was written before the mark
    old = json.dumps(dct, separators=(",", ":"), ensure_ascii=False)
    assert not old.startswith(MARK)
    assert _restore(old, parsed).data["count"] == 2**64 + 1
    dct["data"]["count"] = 7
    assert _restore(json.dumps(dct, separators=(",", ":")), parsed).data["count"] == 7


def _two_walks(workflow: BpmnWorkflow) -> tuple[list[str], set[Any]]:
    human = [str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)]
    return human, timer_set(workflow)


def test_one_walk_finds_the_user_tasks_and_timers_of_two(system: System) -> None:
    """At every step of a rescue, its escalation timers waiting."""
    case_id = _rescue(system)
    steps: list[tuple[str | None, dict[str, Any], str]] = [
        ("verify_dispatch", {"outcome": "dispatch"}, "dispatcher"),
        ("accept_order", {"eta_minutes": 15}, "maintenance"),
        ("report_arrival", {"on_site": True}, "maintenance"),
        ("report_release", {"released_count": 1, "method": "manual_release"}, "maintenance"),
    ]
    seen_timers = 0
    for element, data, role in [*steps, (None, {}, "")]:
        stored, parsed = _state(system, case_id)
        workflow = _restore(stored, parsed)
        human, timers = _two_walks(workflow)
        found = waiting_for(workflow)
        assert list(found.human) == human and found.timers == timers
        known, before = before_step(workflow)
        assert list(known) == human and before == timers
        assert [o.bpmn_id for o in known.values()] == [found.human[s].task_spec.bpmn_id for s in human]
        seen_timers += len(timers)
        if element is None:
            break
        assert element in [t.task_spec.bpmn_id for t in found.human.values()]
        complete(system, case_id, element, data, role)
    assert seen_timers > 0
    with system.sessions() as session:
        assert session.scalar(select(Case.status).where(Case.id == case_id)) == "open"


class _LibraryRestore(SpeclessWorkflowConverter):
    """Ours without the spec, its tasks restored the library's way (mapping_from_dict, each task by
    TaskConverter.from_dict): the reference engine.serialization.tasks_from_dict must match."""

    def from_dict(self, dct: dict[str, Any], spec: Any = None, subprocess_specs: Any = None) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _assert_same(ours: BpmnWorkflow, reference: BpmnWorkflow) -> None:
    """Two restored workflows hold the same tasks, with the same links, states and data, in every
    subprocess, and wait for the same events."""
    assert list(ours.subprocesses) == list(reference.subprocesses)
    for a, b in zip([ours, *ours.subprocesses.values()], [reference, *reference.subprocesses.values()], strict=True):
        assert list(a.tasks) == list(b.tasks) and a.task_tree.id == b.task_tree.id
        assert (a.data, a.success, a.completed, a.correlations) == (b.data, b.success, b.completed, b.correlations)
        assert (a.last_task and a.last_task.id) == (b.last_task and b.last_task.id)
        for uid, x in a.tasks.items():
            y = b.tasks[uid]
            assert x.workflow is a and x.task_spec is y.task_spec
            assert (x._parent, x._children, x._state, x.triggered, x.last_state_change) == (
                y._parent,
                y._children,
                y._state,
                y.triggered,
                y.last_state_change,
            )
            assert (x.internal_data, x.data) == (y.internal_data, y.data)
    assert list(ours.event_manager.tasks) == list(reference.event_manager.tasks)
    assert ours.bpmn_events == reference.bpmn_events


def test_the_lean_task_dicts_are_the_librarys_at_every_step(sqlite_system: System) -> None:
    """engine.serialization's task dicts (tasks_to_dict, LeanTaskConverter) are exactly what
    SpiffWorkflow's converters write, but for the spec: the whole state compared at every step of a
    rescue (its subprocesses included), with internal data of every kind."""
    library_config = {
        **_config(),
        Task: TaskConverter,
        BpmnSubWorkflow: BpmnSubWorkflowConverter,
        BpmnWorkflow: BpmnWorkflowConverter,
    }
    library = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(library_config))
    reference = BpmnWorkflowSerializer(
        BpmnWorkflowSerializer.configure({**library_config, BpmnWorkflow: _LibraryRestore})
    )
    case_id = _rescue(sqlite_system)
    steps = [
        ("verify_dispatch", {"outcome": "dispatch", "trapped_count": 2}, "dispatcher"),
        ("accept_order", {"eta_minutes": 15}, "maintenance"),
        ("report_arrival", {"on_site": True}, "maintenance"),
        ("report_release", {"released_count": 2, "method": "manual_release"}, "maintenance"),
    ]
    compared = 0
    for element, data, role in [*steps, (None, {}, "")]:
        stored, parsed = _state(sqlite_system, case_id)
        workflow = _restore(stored, parsed)
        dct = {k: v for k, v in json.loads(stored).items() if k != "format"}
        _assert_same(workflow, reference.from_dict(dct, spec=parsed.spec, subprocess_specs=parsed.subprocess_specs))
        tasks = list(workflow.get_tasks())
        tasks[len(tasks) // 2].internal_data = {"when": datetime(2026, 1, 1, tzinfo=UTC), "id": uuid4(), "n": [1, "a"]}
        parent = next(t for t in reversed(tasks) if t._children)
        parent.data["removed_below"] = True  # a key its children lack: a deletion in their deltas
        for wf in (workflow, *workflow.subprocesses.values()):  # the stored tree is whole: both sides were written
            assert all(c in wf.tasks and wf.tasks[c]._parent == t.id for t in wf.tasks.values() for c in t._children)
            assert all(t.id in wf.tasks[t._parent]._children for t in wf.tasks.values() if t._parent in wf.tasks)
        expected = library.to_dict(workflow)
        del expected["spec"], expected["subprocess_specs"]  # ours leaves the spec out (parsed once per version)
        assert _SERIALIZER.to_dict(workflow) == expected
        compared += len(tasks)
        if element is None:
            break
        complete(sqlite_system, case_id, element, data, role)
    assert compared > 100


def test_task_data_of_every_kind_is_restored_as_the_library_restores_it(sqlite_system: System) -> None:
    """tasks_from_dict takes plain values as they are and copies a parent's data itself; what it
    restores (registered objects at any depth, lists, nested dicts, values beside them) is what the
    library's TaskConverter.from_dict restores, and a task's dicts and lists are its own, not its
    parent's."""
    stored, parsed = _state(sqlite_system, _rescue(sqlite_system))
    workflow = _restore(stored, parsed)
    convert = _SERIALIZER.registry.convert
    when = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    kinds = {
        "registered": convert(when),  # {"typename": "datetime", ...}: restored to a datetime
        "nested registered": {"at": convert(when), "n": 1, "deeper": {"id": convert(uuid4())}},
        "list": [1, "二", convert(when), {"k": [None, True]}],
        "plain": "电梯",
        "number": 2.5,
        "flag": False,
        "none": None,
        "big": 2**62,
    }
    for place in _places(workflow).values():
        place.update(kinds)
    parent = next(t for t in workflow.get_tasks() if t._children and t.parent is not None)
    below = workflow.tasks[parent._children[0]]
    for task in (parent, below):  # equal in both: the child's delta leaves them out, it has its parent's
        task.data["shared"] = {"a": [1]}
        task.data["list below"] = [{"b": 2}]
    dct = {k: v for k, v in json.loads(dump_checked(workflow)[0]).items() if k != "format"}
    library = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure({**_config(), BpmnWorkflow: _LibraryRestore}))
    reference = library.from_dict(
        json.loads(json.dumps(dct)), spec=parsed.spec, subprocess_specs=parsed.subprocess_specs
    )
    ours = _restore(dump_checked(workflow)[0], parsed)
    _assert_same(ours, reference)
    child = ours.tasks[parent._children[0]]
    assert child.data["nested registered"]["at"] == when and child.data["list"][2] == when
    parent_data, child_data = ours.tasks[parent.id].data, child.data
    assert child_data["shared"] == parent_data["shared"] and child_data["shared"] is not parent_data["shared"]
    assert child_data["list below"] is not parent_data["list below"]
    child_data["shared"]["a"].append(2)  # copied one level down only, as the library's DeepMerge.merge copies
    assert parent_data["shared"]["a"] == [1, 2]
    restore = _SERIALIZER.registry.restore
    for value in (*kinds.values(), kinds, {}, [convert(when)]):  # a registered object itself too
        assert _restored(value, restore) == restore(value)
