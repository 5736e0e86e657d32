"""SLA state of a case per milestone: met, missed, time left or overdue.

A milestone's deadline is the due time of the user task that reaches it (the BPMN's `dueIn`,
fed from sla.toml), so an analyst who changes a deadline in the process changes the SLA too.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from engine.models import CaseTask, TaskStatus


@dataclass(frozen=True)
class MilestoneState:
    milestone: str
    task: str
    due_at: datetime | None
    reached_at: datetime | None
    state: str  # met | missed | pending | overdue | waiting (no task yet) | cancelled
    seconds_left: int | None  # negative when overdue or missed by that much

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def milestone_states(milestones: dict[str, str], tasks: list[CaseTask], now: datetime) -> list[MilestoneState]:
    """`milestones` maps a BPMN task id to a milestone name, in lifecycle order; `tasks` are the
    case's task rows. The latest row of a task counts (a loop re-creates it)."""
    latest: dict[str, CaseTask] = {}
    for task in sorted(tasks, key=lambda t: (t.created_at, t.id)):
        latest[task.bpmn_id] = task
    out: list[MilestoneState] = []
    for bpmn_id, name in milestones.items():
        row = latest.get(bpmn_id)
        if row is None:
            out.append(MilestoneState(name, bpmn_id, None, None, "waiting", None))
            continue
        due = row.due_at
        if row.status == TaskStatus.COMPLETED:
            done = row.completed_at
            late = bool(due and done and done > due)
            left = int((due - done).total_seconds()) if due and done else None
            out.append(MilestoneState(name, bpmn_id, due, done, "missed" if late else "met", left))
        elif row.status == TaskStatus.OPEN:
            left = int((due - now).total_seconds()) if due else None
            state = "overdue" if left is not None and left < 0 else "pending"
            out.append(MilestoneState(name, bpmn_id, due, None, state, left))
        else:
            out.append(MilestoneState(name, bpmn_id, due, None, "cancelled", None))
    return out


def is_overdue(states: list[MilestoneState]) -> bool:
    return any(s.state == "overdue" for s in states)
