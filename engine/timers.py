"""BPMN timer events on the engine's clock, and the due times the scheduler fires.

SpiffWorkflow's timer definitions read `datetime.now()`; these subclasses read the clock of
the workflow's script engine instead, so tests and scenarios move time by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import durations


def _now(my_task: Any) -> datetime:
    now: datetime = my_task.workflow.script_engine.clock.now()
    return now


def _report_fired(my_task: Any, due: str) -> None:
    """Tell the step a timer fired (once per firing; a cycle reports each beat) for the timeline."""
    fired = getattr(my_task.workflow.script_engine, "fired_timers", None)
    if fired is not None:
        spec = my_task.task_spec
        fired.append({"element": spec.bpmn_id, "name": spec.bpmn_name, "due": due})


def parse_cycle(expression: str, now: datetime) -> tuple[int, datetime, timedelta]:
    """R[n]/[start/]duration -> (cycles, first due time, interval); a bare duration starts at now."""
    parts = expression.upper().replace("--", "/").strip("R").split("/")
    if len(parts) == 2 and parts[1].startswith("P"):
        cycles = int(parts[0]) if parts[0] else -1
        interval = durations.after(now, durations.parse_duration(parts[1]))
        return cycles, now + interval, interval
    for part in parts[1:]:
        if part.startswith("P"):
            durations.parse_duration(part)  # refuse what SpiffWorkflow would count month by month
    cycle: tuple[int, datetime, timedelta] = TimerEventDefinition.parse_iso_recurring_interval(expression)
    return cycle


def parse_date_time(value: Any, element: str = "") -> datetime:
    """A timeDate's value: an ISO 8601 date-time (or week date), never a duration."""
    text = str(value)
    if text.upper().startswith(("P", "R")):
        raise ValueError(f"timer {element} needs a date-time (timeDate), got {text!r}: durations go in a timeDuration")
    when = TimerEventDefinition.parse_time_or_duration(text)
    if not isinstance(when, datetime):
        raise ValueError(f"timer {element} needs a date-time (timeDate), got {text!r}")
    return when


class ClockedTimeDate(TimeDateEventDefinition):
    def has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=event_value)
        if not my_task._get_internal_data("event_fired", False) and (
            parse_date_time(event_value, my_task.task_spec.bpmn_id) <= _now(my_task)
        ):
            my_task._set_internal_data(event_fired=True)
            _report_fired(my_task, event_value)
        return bool(my_task._get_internal_data("event_fired", False))


class ClockedDuration(DurationTimerEventDefinition):
    def has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            start = _now(my_task)
            event_value = (start + durations.after(start, durations.parse_duration(str(expression)))).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if not my_task._get_internal_data("event_fired", False) and (
            TimerEventDefinition.get_datetime(event_value) <= _now(my_task)
        ):
            my_task._set_internal_data(event_fired=True)
            _report_fired(my_task, event_value)
        return bool(my_task._get_internal_data("event_fired", False))


class ClockedCycle(CycleTimerEventDefinition):
    def cycle_complete(self, my_task: Any) -> bool:
        now = _now(my_task)
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            cycles, start, interval = parse_cycle(expression, now)
            if interval <= timedelta(0):
                element = my_task.task_spec.bpmn_id
                raise ValueError(f"timer {element} repeats every {interval}: the interval must be positive")
            event_value = {"cycles": cycles, "next": start.isoformat(), "duration": interval.total_seconds()}
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                # After downtime a cycle fires once, then resumes from now: no burst of missed beats.
                # Counted, not stepped: a short interval after a long downtime is many beats.
                interval = timedelta(seconds=event_value["duration"])
                following = next_event + ((now - next_event) // interval + 1) * interval
                event_value["next"] = following.isoformat()
                event_value["cycles"] -= 1
                ready = True
                _report_fired(my_task, next_event.isoformat())
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


CLOCKED = {
    TimeDateEventDefinition: ClockedTimeDate,
    DurationTimerEventDefinition: ClockedDuration,
    CycleTimerEventDefinition: ClockedCycle,
}


def use_engine_clock(event_definition: Any) -> None:
    """Swap a parsed timer definition to its clocked twin (same state, same converter)."""
    if isinstance(event_definition, MultipleEventDefinition):
        for inner in event_definition.event_definitions:
            use_engine_clock(inner)
    elif type(event_definition) in CLOCKED:
        event_definition.__class__ = CLOCKED[type(event_definition)]


def is_timer(event_definition: Any) -> bool:
    if isinstance(event_definition, MultipleEventDefinition):
        return any(is_timer(e) for e in event_definition.event_definitions)
    return isinstance(event_definition, TimerEventDefinition)


def pending_timers(workflow: BpmnWorkflow) -> list[tuple[str, str, datetime]]:
    """(spiff task id, BPMN element id, due time) of every waiting timer, subprocesses included."""
    return timers_among(workflow.get_tasks(state=TaskState.WAITING))


def timers_among(waiting: Iterable[Task]) -> list[tuple[str, str, datetime]]:
    """pending_timers of these WAITING tasks (a caller that walked the task tree already)."""
    due: list[tuple[str, str, datetime]] = []
    for task in waiting:
        definition = getattr(task.task_spec, "event_definition", None)
        if definition is None or not is_timer(definition):
            continue
        value = task._get_internal_data("event_value")
        if isinstance(value, dict):  # cycle
            value = value.get("next") if value.get("cycles") else None
        if not value:
            continue
        try:
            when = TimerEventDefinition.parse_time_or_duration(value)
        except Exception:
            continue
        if isinstance(when, datetime):
            due.append((str(task.id), task.task_spec.bpmn_id or task.task_spec.name, when))
    return due
