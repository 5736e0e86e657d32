"""Starting cases: one start or a burst of them, in the transaction a StartBatch is handed.

A burst (a city-wide power cut through the MQTT ingest) is computed in memory case by case and
written with one bulk statement per table; a start whose correlation key has an open case (in
the database, or opened earlier in the same burst) answers AlreadyOpen instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from engine.core import EngineCore
from engine.definitions import ParsedProcess, parsed_definition
from engine.incidents import mark_failed
from engine.limits import find_stop
from engine.models import Case, CaseStatus, EventKind, ProcessDefinition
from engine.numbers import IdSource
from engine.recorder import QueuedNotices, StepRecorder
from engine.sandbox import ScriptStopped
from engine.serialization import dump_state
from engine.steps import OpenedTask, finish_step, opened_tasks, run_engine
from engine.timeline_store import Entry, append_entries
from engine.workflow_cache import Kept
from engine.writes import CASES, Writes
from infra.settings import CITY_TZ

log = logging.getLogger(__name__)


class AlreadyOpen(Exception):
    """An open case with this correlation key exists; the caller joins it instead."""

    def __init__(self, correlation_key: str, case_id: int | None) -> None:
        super().__init__(f"an open case already exists for {correlation_key}")
        self.correlation_key = correlation_key
        self.case_id = case_id


@dataclass(frozen=True)
class CaseStart:
    process_key: str
    case_type: str
    variables: dict[str, Any]
    elevator_id: int | None = None
    equipment_id: int | None = None
    district_code: str | None = None
    priority: str | None = None
    correlation_key: str | None = None
    actor: str = "system"


def _new_case(start: CaseStart, definition_id: int, case_id: int, number: str, now: datetime) -> Case:
    """The row of a case just started, as a detached object (engine.writes inserts it)."""
    return Case(
        id=case_id,
        number=number,
        case_type=start.case_type,
        definition_id=definition_id,
        elevator_id=start.elevator_id,
        equipment_id=start.equipment_id,
        district_code=start.district_code,
        status=CaseStatus.OPEN,
        priority=start.priority,
        correlation_key=start.correlation_key,
        open_key=start.correlation_key,
        escalation_level=1,
        opened_at=now,
        closed_at=None,
        close_reason=None,
        variables=start.variables,
        milestones={},
        state="",
        version=1,
        timeline_seq=0,
        timeline_head="",
    )


def _new_workflow(parsed: ParsedProcess, script: Any, start: CaseStart) -> BpmnWorkflow:
    workflow = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=script)
    workflow.task_tree.data.update(start.variables)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(start.variables)
    return workflow


@dataclass
class StartBatch:
    """One transaction's case starts and timeline entries (CaseEngine.run_batch hands one out)."""

    engine: EngineCore
    session: Session
    notification_batches: list[QueuedNotices] = field(default_factory=list)
    stops: dict[int, ScriptStopped] = field(default_factory=dict)  # cases kept as incidents, by id
    kept: list[tuple[int, Kept]] = field(default_factory=list)  # new cases' workflows, by case id
    opened: dict[int, list[OpenedTask]] = field(default_factory=dict)  # new cases' task rows, by case id

    def start(self, starts: Sequence[CaseStart]) -> list[Case | AlreadyOpen]:
        """Each start becomes a case, or AlreadyOpen when its correlation key has an open case
        (in the database, or opened by an earlier start of the same batch)."""
        eng, session = self.engine, self.session
        now = eng.clock.now()
        local_day = now.astimezone(CITY_TZ).strftime("%Y%m%d")
        outcomes: dict[int, Case | AlreadyOpen] = {}  # by position in `starts`
        first_of: dict[str, int] = {}
        fresh: list[int] = []
        for i, start in enumerate(starts):
            key = start.correlation_key
            if key and key in first_of:
                continue  # a repeat in the same burst joins the first one's case
            if key:
                first_of[key] = i
            fresh.append(i)
        # The definitions before the numbers: a start of an undeployed process takes no number.
        definitions = {p: eng.latest(session, p) for p in {starts[i].process_key for i in fresh}}
        counters = [f"{eng.hooks.number_prefix(starts[i].case_type)}-{local_day}" for i in fresh]
        claims = eng.ids.claim(session, [(starts[i].correlation_key, c) for i, c in zip(fresh, counters, strict=True)])
        new = []
        for i, counter, (open_id, suffix) in zip(fresh, counters, claims, strict=True):
            if open_id is not None:
                outcomes[i] = AlreadyOpen(starts[i].correlation_key or "", open_id)
            else:
                new.append((i, f"{counter}-{suffix:04d}"))
        ids = eng.ids.source(session)
        writes = Writes()
        for (i, number), case_id in zip(new, ids.take(CASES.name, len(new)), strict=True):
            outcomes[i] = self._open(starts[i], definitions[starts[i].process_key], case_id, number, now, ids, writes)
        writes.flush(session)
        for i, start in enumerate(starts):
            if i not in outcomes:
                first = outcomes[first_of[start.correlation_key or ""]]
                first_id = first.id if isinstance(first, Case) else first.case_id
                outcomes[i] = AlreadyOpen(start.correlation_key or "", first_id)
        return [outcomes[i] for i in range(len(starts))]

    def _open(
        self,
        start: CaseStart,
        definition: ProcessDefinition,
        case_id: int,
        number: str,
        now: datetime,
        ids: IdSource,
        writes: Writes,
    ) -> Case:
        eng = self.engine
        parsed = parsed_definition(definition)
        script = eng.script_engine()
        workflow = _new_workflow(parsed, script, start)
        case = _new_case(start, definition.id, case_id, number, now)
        recorder = self._opened(case, start, definition, now, ids)
        try:
            run_engine(workflow, recorder)
            finish_step(workflow, parsed, script, eng.hooks, recorder, {}, new_case=True)
        except Exception as err:
            stop = find_stop(err)
            if stop is None:
                raise
            # Nothing of the stopped run is kept (its effects were only in `recorder`); the case
            # is kept, with its start data and unrun state, as an incident.
            log.warning("case %s stopped at %s: %s", number, stop.element, stop.reason)
            case = _new_case(start, definition.id, case_id, number, now)
            case.state = dump_state(_new_workflow(parsed, script, start))
            recorder = self._opened(case, start, definition, now, ids)
            mark_failed(recorder, stop)
            self.stops[case_id] = stop
        writes.add(recorder, new_case=True)
        self.opened[case_id] = opened_tasks(recorder)  # a new case's every open task: what the opener does next
        if recorder.kept is not None:
            self.kept.append((case_id, recorder.kept))
        if (queued := recorder.queued_notices()) is not None:
            self.notification_batches.append(queued)
        return case

    def _opened(
        self, case: Case, start: CaseStart, definition: ProcessDefinition, now: datetime, ids: IdSource
    ) -> StepRecorder:
        recorder = StepRecorder(self.session, case, now, start.actor, ids=ids)
        recorder.event(
            EventKind.CASE_OPENED,
            {
                "number": case.number,
                "type": start.case_type,
                "process": definition.key,
                "version": definition.version,
                "priority": start.priority,
                "variables": start.variables,
            },
        )
        return recorder

    def record(self, entries: Sequence[Entry]) -> None:
        """Append (case id, kind, payload, actor) events that are not engine steps (a signal joined)
        in this transaction; the cases are locked in id order, the large workflow state is not read."""
        append_entries(self.session, entries, self.engine.clock.now())
