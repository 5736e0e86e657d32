"""A completion's `next_task` found without a query (case_service.next_task_after): the Python rule
(visibility.may_take, next_first) selects and orders exactly what the SQL rule does, and the
answer after every step equals next_task's query, for every person of every organisation, also
when a parallel branch keeps tasks open (then it is the query)."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from demo.scenarios import an_elevator, open_task
from engine.models import CaseTask, TaskStatus
from engine.runner import StepOutcome
from engine.starts import CaseStart
from processes import case_service as svc
from processes import task_flows
from processes.intake import open_or_join
from processes.system import System
from processes.visibility import TASK_TAKEABLE, actionable_params, may_take, next_first
from registry.models import Organisation, User
from registry.scope import Scope
from tests.support.bpmn_samples import HEAD
from tests.support.deploys import lint_deploy

# The columns a `next_task` answer shows (web.api.cases.NextTaskSchema).
SHOWN = ("id", "case_id", "bpmn_id", "title", "role", "organisation_id", "assignee_id", "status", "created_at",
         "due_at", "completed_at", "completed_by", "data", "form")  # fmt: skip


def _shown(task: Any) -> tuple[Any, ...] | None:
    return None if task is None else tuple(getattr(task, k) for k in SHOWN)


def _everyone(system: System) -> list[Scope]:
    with system.sessions() as s:
        rows = s.execute(select(User, Organisation).outerjoin(Organisation, Organisation.id == User.organisation_id))
        return [Scope.of(user, org) for user, org in rows]


def test_may_take_is_the_sql_rule_over_a_matrix_of_scopes_and_tasks(system: System) -> None:
    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=an_elevator(system), signal={"source": "qr"}
    ).case_id
    now = system.clock.now()
    with system.sessions() as s, s.begin():
        (u1, o1), (u2, o2) = s.execute(
            select(User.id, User.organisation_id).where(User.organisation_id.is_not(None)).order_by(User.id).limit(2)
        ).all()
        if o2 == o1:
            o2 = s.scalar(select(Organisation.id).where(Organisation.id != o1).order_by(Organisation.id))
        matrix = itertools.product(
            [TaskStatus.OPEN, TaskStatus.COMPLETED],
            [None, u1, u2],
            [None, o1, o2],
            ["maintenance", "rescue_centre", "backup_maintenance", "public_security"],
            [None, now + timedelta(minutes=5), now + timedelta(minutes=1)],  # ties, so the id decides too
        )
        for status, assignee, org, role, due in matrix:
            s.add(
                CaseTask(
                    case_id=case_id, spiff_task_id=str(uuid.uuid4()), bpmn_id="x", title="x", role=role,
                    organisation_id=org, assignee_id=assignee, status=status, created_at=now, due_at=due,
                )
            )  # fmt: skip
    with system.sessions() as s:
        tasks = list(s.scalars(select(CaseTask).where(CaseTask.case_id == case_id)))
        ordered = (
            select(CaseTask.id)
            .where(CaseTask.case_id == case_id, TASK_TAKEABLE)
            .order_by(CaseTask.due_at.is_(None), CaseTask.due_at, CaseTask.id)
        )
        seen: set[bool] = set()
        for user_id, org_id, roles in itertools.product(
            [u1, u2], [None, o1, o2], [set(), {"maintenance"}, {"dispatcher"}, {"maintenance", "dispatcher"}]
        ):
            scope = Scope(user_id, "u", frozenset(roles), org_id, None, None)
            by_sql = list(s.scalars(ordered, actionable_params(scope)))
            by_python = [t.id for t in sorted((t for t in tasks if may_take(scope, t)), key=next_first)]
            assert by_python == by_sql, (user_id, org_id, roles)
            first = svc.next_task(s, scope, case_id)
            assert (first and first.id) == (by_sql[0] if by_sql else None)
            seen.update(may_take(scope, t) for t in tasks)
        assert seen == {True, False}


RESCUE = [
    ("verify_dispatch", {"outcome": "dispatch", "trapped_count": 1}),
    ("accept_order", {"eta_minutes": 15}),
    ("report_arrival", {"on_site": True}),
    ("report_release", {"released_count": 1, "method": "leveling_and_open"}),
    ("report_cause", {"cause_category": "power_loss", "description": "市电中断"}),
    ("return_visit", {"satisfied": True}),
]


def _same_answer_for_everyone(system: System, outcome: StepOutcome, scopes: list[Scope]) -> int:
    """Asserts next_task_after == next_task for every scope; returns how many had a next task."""
    answered = 0
    with system.sessions() as s:
        for scope in scopes:
            derived = svc.next_task_after(s, scope, outcome)
            assert _shown(derived) == _shown(svc.next_task(s, scope, outcome.case.id)), scope.username
            answered += derived is not None
    return answered


def test_next_task_after_each_rescue_step_is_the_querys_answer_for_everyone(system: System) -> None:
    elevators = [an_elevator(system), an_elevator(system, urban=False)]
    started = [
        open_or_join(system.engine, system.settings.sla_file, "rescue", elevator_id=e, signal={"source": "qr"})
        for e in elevators
    ]
    scopes = _everyone(system)
    assert len({s.organisation_id for s in scopes}) > 3
    case_id = started[0].case_id  # the other case's open tasks (another unit's, other lanes) must not leak in
    joined = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=elevators[0], signal={"source": "phone"}
    )
    assert joined.joined and joined.opened is None  # a join does not know what is open: the query answers
    with system.sessions() as s:  # a start answers from the tasks it opened, as the query would
        for scope in scopes:
            derived = svc.next_task_among(s, scope, case_id, started[0].opened)
            assert _shown(derived) == _shown(svc.next_task(s, scope, case_id)), scope.username
        assert [t.bpmn_id for t in started[0].opened or ()] == ["verify_dispatch"]
    for bpmn_id, data in RESCUE:
        outcome = task_flows.complete_and_next(system, open_task(system, case_id, bpmn_id), data, actor="tester")
        assert not outcome.others_open  # the rescue is one path: the step's own tasks are all that is open
        answered = _same_answer_for_everyone(system, outcome, scopes)
        assert answered == 0 if bpmn_id == "return_visit" else answered > 0, bpmn_id


def parallel(key: str = "parallel_pair") -> str:
    """start -> fork: (a -> c) in the maintenance lane, b in the rescue centre's -> join -> end."""
    lanes = (
        '<bpmn:lane id="l1" name="maintenance"><bpmn:flowNodeRef>a</bpmn:flowNodeRef>'
        "<bpmn:flowNodeRef>c</bpmn:flowNodeRef></bpmn:lane>"
        '<bpmn:lane id="l2" name="rescue_centre"><bpmn:flowNodeRef>b</bpmn:flowNodeRef></bpmn:lane>'
    )
    return f"""{HEAD}
  <bpmn:process id="{key}" isExecutable="true">
    <bpmn:laneSet id="ls">{lanes}</bpmn:laneSet>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork" />
    <bpmn:parallelGateway id="fork" />
    <bpmn:sequenceFlow id="f2" sourceRef="fork" targetRef="a" />
    <bpmn:sequenceFlow id="f3" sourceRef="fork" targetRef="b" />
    <bpmn:userTask id="a" name="a" />
    <bpmn:sequenceFlow id="f4" sourceRef="a" targetRef="c" />
    <bpmn:userTask id="c" name="c" />
    <bpmn:sequenceFlow id="f5" sourceRef="c" targetRef="join" />
    <bpmn:userTask id="b" name="b" />
    <bpmn:sequenceFlow id="f6" sourceRef="b" targetRef="join" />
    <bpmn:parallelGateway id="join" />
    <bpmn:sequenceFlow id="f7" sourceRef="join" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_with_a_parallel_branch_open_the_answer_is_the_querys(system: System) -> None:
    lint_deploy(system, parallel())
    case = system.engine.start_case(
        CaseStart(process_key="parallel_pair", case_type="rescue", variables={}, elevator_id=an_elevator(system))
    )
    scopes = _everyone(system)
    dispatcher = next(s for s in scopes if s.username == "dispatcher")
    task_flows.claim(system, open_task(system, case.id, "b"), user_id=dispatcher.user_id, actor="dispatcher")
    outcome = task_flows.complete_and_next(system, open_task(system, case.id, "a"), {}, actor="tester")
    assert [t.bpmn_id for t in outcome.opened] == ["c"] and outcome.others_open  # b is still open
    assert _same_answer_for_everyone(system, outcome, scopes) > 0
    with system.sessions() as s:  # the query's answer, not the opened task: b is the dispatcher's
        assert svc.next_task_after(s, dispatcher, outcome).bpmn_id == "b"  # type: ignore[union-attr]
    outcome = task_flows.complete_and_next(system, open_task(system, case.id, "b"), {}, actor="dispatcher")
    assert outcome.opened == [] and outcome.others_open  # c is still open
    assert _same_answer_for_everyone(system, outcome, scopes) > 0
    outcome = task_flows.complete_and_next(system, open_task(system, case.id, "c"), {}, actor="tester")
    assert outcome.opened == [] and not outcome.others_open
    assert _same_answer_for_everyone(system, outcome, scopes) == 0
