"""Level-2 dispatch ranks the other maintenance units by distance stretched by their late
maintenance (on SQLite and PostgreSQL): a unit that keeps missing its 15-day visits loses its
place to a punctual one a little farther off."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from infra.clock import SimulatedClock
from infra.settings import CITY_TZ
from processes.maintenance.models import MaintenanceVisit
from processes.maintenance.ontime import unit_on_time
from processes.roles import RegistryRoles, _distance
from processes.system import System
from registry.models import Elevator, Organisation, OrgKind
from tests.support.system import make_system


@pytest.fixture
def small(db_url: str, clock: SimulatedClock) -> Iterator[System]:
    system = make_system(db_url, clock, elevators=40)
    yield system
    system.db.dispose()


def _backup(system: System, roles: RegistryRoles, elevator_id: int) -> int:
    case = SimpleNamespace(elevator_id=elevator_id, equipment_id=None, district_code=None, variables={})
    with system.sessions() as session:
        org = roles.organisation(session, case, "backup_maintenance")  # type: ignore[arg-type]
    assert org is not None
    return org.id


def _visits(system: System, unit_id: int, elevator_id: int, *, on_time: bool, n: int, clock: SimulatedClock) -> None:
    today = clock.now().astimezone(CITY_TZ).date()
    with system.sessions() as session, session.begin():
        for i in range(n):
            day = today - timedelta(days=15 * (i + 1))
            session.add(
                MaintenanceVisit(
                    elevator_id=elevator_id,
                    maintenance_unit_id=unit_id,
                    maintained_on=day,
                    due_on=day if on_time else day - timedelta(days=6),
                    on_time=on_time,
                    recorded_at=clock.now(),
                    recorded_by="test",
                    source="test",
                    external_id=f"{unit_id}-{i}-{on_time}",
                )
            )


def test_late_maintenance_moves_a_unit_down_the_dispatch_ranking(small: System, clock: SimulatedClock) -> None:
    system = small
    with system.sessions() as session:
        elevator = session.scalars(select(Elevator).order_by(Elevator.id)).first()
        units = session.scalars(select(Organisation).where(Organisation.kind == OrgKind.MAINTENANCE_UNIT)).all()
        others = sorted(
            (u for u in units if u.id != elevator.maintenance_unit_id and u.lat is not None),
            key=lambda u: _distance(u, elevator),
        )
        nearest, second = others[0].id, others[1].id
        target = SimpleNamespace(id=elevator.id)
    roles = RegistryRoles({}, cache_seconds=0, clock=clock, on_time_weight=1.0)
    assert _backup(system, roles, target.id) == nearest  # nothing recorded: distance alone

    # The nearest unit is late on every visit of the window; the second punctual.
    _visits(system, nearest, target.id, on_time=False, n=4, clock=clock)
    _visits(system, second, target.id, on_time=True, n=4, clock=clock)
    with system.sessions() as session:
        today = clock.now().astimezone(CITY_TZ).date()
        rates = unit_on_time(session, today - timedelta(days=90), today)
    assert (rates[nearest].rate, rates[second].rate) == (0.0, 1.0)
    strong = RegistryRoles({}, cache_seconds=0, clock=clock, on_time_weight=50.0)
    assert _backup(system, strong, target.id) == second
    # With the weight at 0 the rate is ignored; without a clock the ranking is distance alone.
    assert _backup(system, RegistryRoles({}, cache_seconds=0, clock=clock, on_time_weight=0.0), target.id) == nearest
    assert _backup(system, RegistryRoles({}, cache_seconds=0), target.id) == nearest


def test_the_dispatch_screen_shows_each_units_on_time_rate(small: System, clock: SimulatedClock) -> None:
    from engine.models import CaseTask
    from processes.dashboard import ranking
    from processes.intake import open_or_join
    from registry.scope import Scope

    system = small
    with system.sessions() as session:
        elevator = session.scalars(select(Elevator).order_by(Elevator.id)).first()
    unit = elevator.maintenance_unit_id
    _visits(system, unit, elevator.id, on_time=True, n=3, clock=clock)
    _visits(system, unit, elevator.id, on_time=False, n=1, clock=clock)
    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=elevator.id, signal={"source": "qr"}
    ).case_id
    for bpmn_id, data in (
        ("verify_dispatch", {"outcome": "dispatch"}),
        ("accept_order", {"eta_minutes": 10}),
        ("report_arrival", {"on_site": True}),
    ):
        with system.sessions() as session:
            task_id = session.scalar(
                select(CaseTask.id).where(CaseTask.case_id == case_id, CaseTask.bpmn_id == bpmn_id)
            )
        clock.advance(timedelta(minutes=4))
        system.engine.complete_task(task_id, data, actor="tester")
    city = Scope(1, "city", frozenset({"regulator"}), None, OrgKind.CITY_REGULATOR, None)
    with system.sessions() as session:
        rows = ranking(session, city, clock.now() - timedelta(days=30), clock.now())
    [row] = [r for r in rows if r["organisation_id"] == unit]
    assert row["maintenance_on_time_rate"] == 0.75 and row["rescues"] == 1
