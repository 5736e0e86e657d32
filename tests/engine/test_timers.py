"""Timers really fire: boundary (both kinds), intermediate and cycle; missed ones fire once after a restart;
the APScheduler loop fires them without anyone asking."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from demo.scenarios import complete
from engine.definitions import deploy
from engine.models import CaseTimer
from engine.scheduler import fire_due_timers, start_background
from engine.starts import CaseStart
from infra.clock import SimulatedClock
from infra.settings import Settings
from liftcase.bootstrap import build_system
from processes.roles import KNOWN_ROLES
from processes.system import System
from tests.support.bpmn_samples import cycle_and_intermediate
from tests.support.helpers import case, kinds, open_tasks


def _start_ticker(system: System) -> int:
    with system.sessions() as session, session.begin():
        deploy(
            session,
            cycle_and_intermediate(),
            forms_dir=system.settings.forms_dir,
            known_roles=KNOWN_ROLES,
            services=system.engine.services.handlers,
            deployed_by="test",
            now=system.clock.now(),
        )
    return system.engine.start_case(CaseStart("ticker", "expiry", {}, elevator_id=1)).id


def _fired(system: System, case_id: int, element: str) -> int:
    return sum(1 for p in kinds(system, case_id, "timer_fired") if p["element"] == element)


def test_cycle_timer_fires_each_period_then_stops(system: System, clock: SimulatedClock) -> None:
    case_id = _start_ticker(system)
    for expected in (1, 2, 3, 3):
        clock.advance(timedelta(minutes=10))
        fire_due_timers(system.engine)
        assert _fired(system, case_id, "remind") == expected
    assert len(kinds(system, case_id, "notification_queued")) == 3


def test_intermediate_timer_holds_then_closes(system: System, clock: SimulatedClock) -> None:
    case_id = _start_ticker(system)
    complete(system, case_id, "work", {}, "property")
    clock.advance(timedelta(minutes=59))
    fire_due_timers(system.engine)
    assert case(system, case_id).status == "open"
    clock.advance(timedelta(minutes=1))
    fire_due_timers(system.engine)
    assert case(system, case_id).status == "closed"
    with system.sessions() as session:
        assert session.scalars(select(CaseTimer).where(CaseTimer.case_id == case_id)).all() == []


def test_timers_missed_while_down_fire_once_after_restart(system: System, clock: SimulatedClock) -> None:
    case_id = _start_ticker(system)
    url = system.settings.database_url
    system.db.dispose()  # the system goes down
    clock.advance(timedelta(hours=5))  # 30 cycle periods and more pass unobserved
    restarted = build_system(Settings(database_url=url), clock=clock)
    assert fire_due_timers(restarted.engine) == 1
    assert fire_due_timers(restarted.engine) == 0
    assert _fired(restarted, case_id, "remind") == 1
    with restarted.sessions() as session:
        due = session.scalar(select(CaseTimer.fire_at).where(CaseTimer.case_id == case_id))
    assert due > clock.now()  # resumes from now: no burst of missed beats
    assert open_tasks(restarted, case_id) == ["work"]
    restarted.db.dispose()


def test_background_loop_fires_due_timers_on_its_own(system: System, clock: SimulatedClock) -> None:
    case_id = _start_ticker(system)
    loop = start_background(system.engine, poll_seconds=0.05)
    try:
        clock.advance(timedelta(minutes=10))
        deadline = time.monotonic() + 10
        while _fired(system, case_id, "remind") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _fired(system, case_id, "remind") == 1
    finally:
        loop.shutdown(wait=True)
