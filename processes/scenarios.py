"""End-to-end runs of each case type on a simulated clock (`liftcase scenario NAME --json`).

Each scenario lets deadlines pass where the ladder should fire, so a person can read the
timeline and see every escalation step happen at its time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine.clock import SimulatedClock
from engine.models import CaseTask, TaskStatus
from liftcase.registry.models import Elevator
from liftcase.system import System
from processes.intake import open_or_join

Scenario = Callable[[System, SimulatedClock], int]
SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str) -> Callable[[Scenario], Scenario]:
    def register(func: Scenario) -> Scenario:
        SCENARIOS[name] = func
        return func

    return register


def open_task(system: System, case_id: int, bpmn_id: str) -> int:
    with system.sessions() as session:
        task_id = session.scalar(
            select(CaseTask.id).where(
                CaseTask.case_id == case_id, CaseTask.bpmn_id == bpmn_id, CaseTask.status == TaskStatus.OPEN
            )
        )
    if task_id is None:
        raise LookupError(f"no open task {bpmn_id} on case {case_id}")
    return task_id


def complete(system: System, case_id: int, bpmn_id: str, data: dict[str, Any], actor: str) -> None:
    system.engine.complete_task(open_task(system, case_id, bpmn_id), data, actor=actor)


def wait(system: System, clock: SimulatedClock, delta: timedelta) -> None:
    """Let time pass minute by minute, firing timers as the scheduler would."""
    from engine.scheduler import fire_due_timers

    end = clock.now() + delta
    while clock.now() < end:
        clock.advance(min(timedelta(minutes=1), end - clock.now()))
        fire_due_timers(system.engine)


def an_elevator(system: System, urban: bool = True) -> int:
    with system.sessions() as session:
        codes = ("511702", "511703") if urban else ("511722", "511723", "511724", "511725", "511781")
        return session.scalar(select(Elevator.id).where(Elevator.district_code.in_(codes)).order_by(Elevator.id))


@scenario("rescue")
def rescue(system: System, clock: SimulatedClock) -> int:
    """QR call; dispatched at once; nobody accepts for 12 minutes (levels 2 and 3), on site at 35 min
    (overdue at 30: district regulator), released at 40, cause reported, return visit, closed."""
    case_id = open_or_join(
        system.engine,
        system.settings.sla_file,
        "rescue",
        elevator_id=an_elevator(system),
        signal={"source": "qr", "trapped_count": 2},
    ).case_id
    complete(
        system, case_id, "verify_dispatch", {"outcome": "dispatch", "trapped_count": 2, "injured": False}, "dispatcher"
    )
    wait(system, clock, timedelta(minutes=12))
    complete(system, case_id, "accept_order", {"eta_minutes": 20, "technician": "张工"}, "maint")
    wait(system, clock, timedelta(minutes=23))
    complete(system, case_id, "report_arrival", {"on_site": True}, "maint")
    wait(system, clock, timedelta(minutes=5))
    complete(system, case_id, "report_release", {"released_count": 2, "method": "leveling_and_open"}, "maint")
    complete(
        system, case_id, "report_cause", {"cause_category": "door_system", "description": "门锁回路接触不良"}, "maint"
    )
    wait(system, clock, timedelta(hours=2))
    complete(system, case_id, "return_visit", {"satisfied": True}, "dispatcher")
    return case_id
