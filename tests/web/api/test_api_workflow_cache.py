"""The workflow a process keeps after a step (engine.workflow_cache) under two API processes: a step
through one, the next through the other, and back. A kept workflow that the other process's step
made stale is never used (it would still wait for the task the other process completed: the
completion would be refused or the case stepped from an old state); a failed step keeps nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from engine.definitions import parsed_definition
from engine.models import Case, CaseStatus, CaseTask, TaskStatus, TimelineEvent
from engine.serialization import dump_checked, load_state
from engine.timeline import verify_chain
from infra.clock import SimulatedClock
from infra.jobs import InProcessJobs
from liftcase.bootstrap import JOBS, build_system
from processes.system import System
from tests.conftest import _fresh_pg
from tests.support.api_client import Client, app_for, demo_elevator
from tests.support.system import make_system

ROOT = Path(__file__).resolve().parents[3]
STEPS = [
    ("dispatcher", "verify_dispatch", {"outcome": "dispatch", "trapped_count": 1}),
    ("maint", "accept_order", {"eta_minutes": 15}),
    ("maint", "report_arrival", {"on_site": True}),
    ("maint", "report_release", {"released_count": 1, "method": "leveling_and_open"}),
]


@pytest.fixture
def first(db_url: str, clock: SimulatedClock) -> Iterator[System]:
    system = make_system(db_url, clock, elevators=40)
    yield system
    system.db.dispose()


def another_process(seeded: System, clock: SimulatedClock) -> System:
    """One more API process over the same database, with its own engine (and its own cache)."""
    return build_system(replace(seeded.settings), clock=clock, jobs=InProcessJobs(JOBS))


def open_task(system: System, case_id: int, bpmn_id: str) -> int:
    with system.sessions() as session:
        found = session.scalar(
            select(CaseTask.id).where(
                CaseTask.case_id == case_id, CaseTask.bpmn_id == bpmn_id, CaseTask.status == TaskStatus.OPEN
            )
        )
    assert found is not None, f"no open {bpmn_id} on case {case_id}"
    return found


def assert_rescued_with_a_sound_chain(system: System, case_id: int) -> None:
    """Each of the four tasks completed once, in order; the cause report is what is open now."""
    with system.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.OPEN
        still_open = session.scalars(
            select(CaseTask.bpmn_id).where(CaseTask.case_id == case_id, CaseTask.status == TaskStatus.OPEN)
        ).all()
        assert still_open == ["report_cause"]
        events = session.scalars(
            select(TimelineEvent).where(TimelineEvent.case_id == case_id).order_by(TimelineEvent.seq)
        ).all()
        done = [e.payload["element"] for e in events if e.kind == "task_completed"]
        assert done == [bpmn_id for _, bpmn_id, _ in STEPS]  # each task once, in order
        assert verify_chain(case_id, list(events), case.timeline_head, case.timeline_seq) is None


def test_steps_alternating_between_two_api_processes(first: System, clock: SimulatedClock) -> None:
    second = another_process(first, clock)
    apps: list[Flask] = [app_for(first), app_for(second)]
    engines = [first.engine, second.engine]
    clients = [{u: Client(app, u) for u in ("dispatcher", "maint")} for app in apps]
    started = clients[0]["dispatcher"].post(
        "/api/v1/cases", json={"type": "rescue", "elevator_id": demo_elevator(first)}
    )
    assert started.status_code == 201, started.get_json()
    case_id = started.get_json()["case_id"]
    # steps through processes 1, 0, 1, 0: each time the other process wrote the state last
    for n, (user, bpmn_id, data) in enumerate(STEPS):
        via = (n + 1) % 2
        task_id = open_task(first, case_id, bpmn_id)
        answer = clients[via][user].post(f"/api/v1/tasks/{task_id}/complete", json={"data": data})
        assert answer.status_code == 200, (bpmn_id, via, answer.get_json())
    assert_rescued_with_a_sound_chain(first, case_id)
    # every step found a kept workflow stale (the other process stepped last) and restored the state
    assert engines[0].workflows.hits == 0 and engines[1].workflows.hits == 0
    assert engines[0].workflows.misses + engines[1].workflows.misses == len(STEPS)
    second.db.dispose()


def test_a_process_steps_again_from_its_kept_workflow_only_while_nobody_else_stepped(
    first: System, clock: SimulatedClock
) -> None:
    second = another_process(first, clock)
    one, two = Client(app_for(first), "maint"), Client(app_for(second), "maint")
    dispatcher = Client(app_for(first), "dispatcher")
    case_id = dispatcher.post("/api/v1/cases", json={"type": "rescue", "elevator_id": demo_elevator(first)}).get_json()[
        "case_id"
    ]
    verify = open_task(first, case_id, "verify_dispatch")
    assert dispatcher.post(f"/api/v1/tasks/{verify}/complete", json={"data": STEPS[0][2]}).status_code == 200
    assert first.engine.workflows.hits == 1  # the start's workflow, kept by the same process

    # process one completes accept_order from its kept workflow ...
    accept = open_task(first, case_id, "accept_order")
    assert one.post(f"/api/v1/tasks/{accept}/complete", json={"data": STEPS[1][2]}).status_code == 200
    assert first.engine.workflows.hits == 2
    # ... process two the arrival (its cache knows nothing of the case) ...
    arrival = open_task(first, case_id, "report_arrival")
    assert two.post(f"/api/v1/tasks/{arrival}/complete", json={"data": STEPS[2][2]}).status_code == 200
    assert second.engine.workflows.misses == 1
    # ... and process one the release: its kept workflow still waits for the arrival, so it must
    # not be used (with it, the release would be refused as not waiting for input)
    release = open_task(first, case_id, "report_release")
    assert one.post(f"/api/v1/tasks/{release}/complete", json={"data": STEPS[3][2]}).status_code == 200
    assert first.engine.workflows.hits == 2 and first.engine.workflows.misses == 1
    assert_rescued_with_a_sound_chain(first, case_id)
    second.db.dispose()


def test_a_refused_step_keeps_nothing(first: System, clock: SimulatedClock) -> None:
    dispatcher = Client(app_for(first), "dispatcher")
    case_id = dispatcher.post("/api/v1/cases", json={"type": "rescue", "elevator_id": demo_elevator(first)}).get_json()[
        "case_id"
    ]
    verify = open_task(first, case_id, "verify_dispatch")
    bad = dispatcher.post(f"/api/v1/tasks/{verify}/complete", json={"data": {"outcome": "no such outcome"}})
    assert bad.status_code == 422
    assert first.engine.workflows.hits == 1  # taken by the refused step, and not put back
    ok = dispatcher.post(f"/api/v1/tasks/{verify}/complete", json={"data": STEPS[0][2]})
    assert ok.status_code == 200 and first.engine.workflows.misses == 1


def test_only_states_that_read_back_as_written_are_kept(first: System) -> None:
    case_id = _a_case(first)
    with first.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None
        spec = parsed_definition(first.engine.definition(session, case.definition_id))
    workflow = load_state(case.state, spec.spec, spec.subprocess_specs, None)
    text, reads_back = dump_checked(workflow)
    assert reads_back and text == dump_checked(load_state(text, spec.spec, spec.subprocess_specs, None))[0]
    for odd in ((1, 2), {3: "three"}, float("nan"), 2**70):
        workflow.data["odd"] = odd
        text, reads_back = dump_checked(workflow)
        assert not reads_back, odd  # written by the standard library, as before; not kept
        load_state(text, spec.spec, spec.subprocess_specs, None)  # and it still reads


def _a_case(system: System) -> int:
    dispatcher = Client(app_for(system), "dispatcher")
    started = dispatcher.post("/api/v1/cases", json={"type": "rescue", "elevator_id": demo_elevator(system)})
    assert started.status_code == 201
    return int(started.get_json()["case_id"])


_OTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from infra.settings import Settings
    from liftcase.bootstrap import build_system
    system = build_system(Settings(database_url=sys.argv[1]))
    system.engine.complete_task(int(sys.argv[2]), {"on_site": True}, actor="other-process")
    print("hits", system.engine.workflows.hits)
    """
)


def test_a_step_in_another_os_process_makes_the_kept_workflow_stale(pg_server: str, clock: SimulatedClock) -> None:
    """Two real processes: this one keeps the case's workflow, another process (its own
    interpreter) completes the arrival, and this one then completes the release."""
    pg_url = _fresh_pg(pg_server)
    system = make_system(pg_url, clock, elevators=40)
    try:
        case_id = _a_case(system)
        for _, bpmn_id, data in STEPS[:2]:
            system.engine.complete_task(open_task(system, case_id, bpmn_id), data, actor="here")
        hits = system.engine.workflows.hits
        arrival = open_task(system, case_id, "report_arrival")
        done = subprocess.run(
            [sys.executable, "-c", _OTHER_PROCESS, pg_url, str(arrival)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert "hits 0" in done.stdout
        release = open_task(system, case_id, "report_release")
        system.engine.complete_task(release, STEPS[3][2], actor="here")
        assert system.engine.workflows.hits == hits  # the kept workflow was stale: restored instead
        assert_rescued_with_a_sound_chain(system, case_id)
    finally:
        system.db.dispose()


def test_a_process_set_to_keep_no_workflows_restores_every_step(sqlite_url: str, clock: SimulatedClock) -> None:
    system = make_system(sqlite_url, clock, elevators=40, workflow_cache_cases=0)
    try:
        case_id = _a_case(system)
        for _, bpmn_id, data in STEPS:
            system.engine.complete_task(open_task(system, case_id, bpmn_id), data, actor="here")
        assert system.engine.workflows.hits == 0 and system.engine.workflows.misses == len(STEPS)
        assert_rescued_with_a_sound_chain(system, case_id)
    finally:
        system.db.dispose()
