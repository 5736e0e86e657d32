"""A case whose analysts' code a limit stopped becomes an incident: status `failed`, a `case_failed`
timeline entry naming the BPMN element and why, its open tasks cancelled and its timers removed
(the scheduler does not retry it every poll). The step that was stopped is rolled back; what
stays is the case as it was before that step (a start keeps the case with its start data, so
a passenger's report is not lost). Operators find incidents with GET /cases?status=failed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from engine.models import Case, CaseStatus, CaseTimer, EventKind, TaskStatus
from engine.recorder import StepRecorder
from engine.sandbox import ScriptStopped
from engine.steps import open_task_rows
from infra.errors import Conflict

# What a limit was, for people (the timeline and the console are read in Chinese).
LIMIT_LABELS = {
    "time": "超过运行时限",
    "memory": "超过内存上限",
    "size": "数据或数值过大",
    "budget": "单次流程运行超过总时限或步数",
    "instances": "多实例数量超过上限",
}


class CaseFailed(Conflict):
    """The step was stopped by a limit and rolled back; the case is now an incident."""

    def __init__(self, case_id: int, number: str, stop: ScriptStopped) -> None:
        where = f"{stop.element} ({stop.name})" if stop.name else stop.element or "?"
        super().__init__(f"case {number} stopped at {where}: {stop.reason}; it is now an incident")
        self.case_id, self.number, self.stop = case_id, number, stop


def incident_payload(stop: ScriptStopped) -> dict[str, Any]:
    return {
        "element": stop.element,
        "name": stop.name,
        "limit": stop.limit,
        "reason": stop.reason,
        "label": LIMIT_LABELS.get(stop.limit, "脚本被终止"),
    }


def mark_failed(recorder: StepRecorder, stop: ScriptStopped) -> None:
    """Status, reason and timeline entry of the incident (on the recorder's case)."""
    case = recorder.case
    case.status = CaseStatus.FAILED
    case.close_reason = f"{stop.element or '?'}: {stop.reason}"[:200]
    case.open_key = None  # a new signal for the elevator opens a new case (on a fixed version)
    recorder.event(EventKind.CASE_FAILED, incident_payload(stop))


def end_open_work(session: Session, case: Case, recorder: StepRecorder) -> None:
    """Cancel the case's open tasks (with their timeline entries) and remove its timers."""
    for row in open_task_rows(session, case.id).values():
        row.status = TaskStatus.CANCELLED
        row.completed_at = recorder.now
        recorder.event(EventKind.TASK_CANCELLED, {"task": row.spiff_task_id, "element": row.bpmn_id})
    session.execute(delete(CaseTimer).where(CaseTimer.case_id == case.id))
