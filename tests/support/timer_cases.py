"""Rescue cases whose first ladder timer (level 2, 5 minutes after the report) falls due at a
chosen instant, and the timeline's count of firings: for the scheduler's tests."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import create_engine, select, text

from engine.models import TimelineEvent
from infra.clock import SimulatedClock
from processes.intake import IntakeItem, open_or_join_many
from processes.system import System
from registry.models import Elevator

LADDER = timedelta(minutes=5)  # report -> level 2 (bpmn/rescue.bpmn t_level2)
ELEMENT = "t_level2"


def open_rescues(system: System, clock: SimulatedClock, n: int, due: datetime, *, skip: int = 0) -> list[int]:
    """n rescue cases (elevators after the first `skip`) reported 5 minutes before `due`; the
    clock is left at the report time."""
    with system.sessions() as session:
        elevators = list(session.scalars(select(Elevator.id).order_by(Elevator.id).offset(skip).limit(n)))
    assert len(elevators) == n, f"the city has {len(elevators)} elevators after {skip}, {n} wanted"
    clock.set(due - LADDER)
    items = [IntakeItem("rescue", e, {"source": "iot", "kind": "trapped"}, "system") for e in elevators]
    ids: list[int] = []
    for i in range(0, n, 100):
        ids += [r.case_id for r in open_or_join_many(system.engine, system.settings.sla_file, items[i : i + 100])]
    return ids


def firings(system: System) -> Counter[tuple[int, str]]:
    """(case id, BPMN element) -> how many timer_fired entries the timelines hold."""
    with system.sessions() as session:
        rows = session.execute(
            select(TimelineEvent.case_id, TimelineEvent.payload).where(TimelineEvent.kind == "timer_fired")
        )
        return Counter((case_id, payload["element"]) for case_id, payload in rows)


def firings_at(url: str) -> Counter[tuple[int, str]]:
    """The same, read over a fresh connection (a database another process writes)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT case_id, payload->>'element' FROM timeline_events WHERE kind = 'timer_fired'")
            ).all()
        return Counter((r[0], r[1]) for r in rows)
    finally:
        engine.dispose()
