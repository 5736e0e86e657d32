"""A completion answers the tasks its step opened on the case, as committed: the person who completed
one task finds the next without reading the task list (engine.runner.CaseEngine.complete_and_next)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from demo.scenarios import an_elevator, open_task
from engine.models import CaseTask, TaskStatus
from processes.intake import open_or_join
from processes.system import System

STEPS: list[tuple[str, dict[str, Any], str]] = [
    ("verify_dispatch", {"outcome": "dispatch"}, "accept_order"),
    ("accept_order", {"eta_minutes": 15}, "report_arrival"),
    ("report_arrival", {"on_site": True}, "report_release"),
]


def _open_rows(system: System, case_id: int) -> list[CaseTask]:
    with system.sessions() as session:
        return list(
            session.scalars(
                select(CaseTask)
                .where(CaseTask.case_id == case_id, CaseTask.status == TaskStatus.OPEN)
                .order_by(CaseTask.id)
            )
        )


def test_each_completion_answers_the_task_rows_its_step_opened(system: System) -> None:
    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=an_elevator(system), signal={"source": "qr"}
    ).case_id
    for element, data, following in STEPS:
        before = {row.id for row in _open_rows(system, case_id)}
        outcome = system.engine.complete_and_next(open_task(system, case_id, element), data, actor="tester")
        assert outcome.case.id == case_id
        rows = {row.id: row for row in _open_rows(system, case_id) if row.id not in before}
        assert [t.bpmn_id for t in outcome.opened] == [following]
        for task in outcome.opened:  # exactly the committed row, id included
            row = rows[task.id]
            assert (task.case_id, task.bpmn_id, task.title, task.role, task.form) == (
                row.case_id, row.bpmn_id, row.title, row.role, row.form,
            )  # fmt: skip
            assert (task.organisation_id, task.assignee_id, task.due_at) == (
                row.organisation_id, row.assignee_id, row.due_at,
            )  # fmt: skip
            assert (task.status, task.created_at, task.completed_at, task.completed_by, task.data) == (
                row.status, row.created_at, row.completed_at, row.completed_by, row.data,
            )  # fmt: skip
        assert set(rows) == {t.id for t in outcome.opened}
        assert not outcome.others_open  # the task completed was the only one open before


def test_complete_task_is_the_same_step(system: System) -> None:
    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=an_elevator(system), signal={"source": "qr"}
    ).case_id
    case = system.engine.complete_task(
        open_task(system, case_id, "verify_dispatch"), {"outcome": "dispatch"}, actor="tester"
    )
    assert case.id == case_id
    assert [row.bpmn_id for row in _open_rows(system, case_id)] == ["accept_order"]
