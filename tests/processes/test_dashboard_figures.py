"""The dashboard's figures from cases whose times the test sets (SQLite and PostgreSQL): open
cases by type, today's cases, response / arrival / release medians and the 30-minute arrival
rate, and the maintenance units' ranking, as a regulator reads them off the wall screen."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from demo.scenarios import complete
from engine.models import Case
from infra.clock import SimulatedClock
from processes import dashboard
from processes.intake import open_or_join
from processes.system import System
from registry.models import Elevator, OrgKind, Role
from registry.scope import Scope

CITY = Scope(
    user_id=0,
    username="regulator",
    roles=frozenset({Role.REGULATOR}),
    organisation_id=None,
    organisation_kind=OrgKind.CITY_REGULATOR,
    district_code=None,
)


def _rescue(system: System, elevator_id: int) -> int:
    return open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=elevator_id, signal={"source": "phone"}
    ).case_id


def _work(system: System, clock: SimulatedClock, case_id: int, minutes: tuple[int, int, int, int]) -> None:
    """Verify, accept, arrive and release the rescue, each after the given minutes."""
    steps = [
        ("verify_dispatch", {"outcome": "dispatch", "trapped_count": 1}),
        ("accept_order", {"eta_minutes": 15}),
        ("report_arrival", {"on_site": True}),
        ("report_release", {"released_count": 1, "method": "leveling_and_open"}),
    ]
    for wait, (bpmn_id, data) in zip(minutes, steps, strict=True):
        clock.advance(timedelta(minutes=wait))
        complete(system, case_id, bpmn_id, data, actor="test")


def test_the_figures_are_the_cases_times(system: System, clock: SimulatedClock) -> None:
    with system.sessions() as session:
        lifts = list(session.execute(select(Elevator.id, Elevator.maintenance_unit_id).order_by(Elevator.id)))
    (fast_lift, fast_unit) = lifts[0]
    (slow_lift, slow_unit) = next((e, u) for e, u in lifts if u != fast_unit)
    other_lift = next(e for e, _ in reversed(lifts) if e not in (fast_lift, slow_lift))
    fast, slow, waiting = _rescue(system, fast_lift), _rescue(system, slow_lift), _rescue(system, other_lift)
    _work(system, clock, fast, (2, 3, 15, 10))  # response 2, arrival 20, release 30 minutes after opening
    _work(system, clock, slow, (0, 0, 5, 5))  # opened 30 minutes before: response 30, arrival 35, release 40

    with system.sessions() as session:
        figures = dashboard.summary(session, CITY, clock.now())
        statuses = dict(session.execute(select(Case.id, Case.status)).all())
        ranked = dashboard.ranking(session, CITY, clock.now() - timedelta(days=30), clock.now())

    assert figures["today_by_type"] == {"rescue": 3}
    still_open = sum(1 for s in statuses.values() if s == "open")
    assert figures["open_by_type"] == {"rescue": still_open} and figures["open_total"] == still_open
    assert statuses[waiting] == "open"
    today = figures["today"]
    assert today["response"] == {"count": 2, "median_min": 16.0}  # (2 + 30) / 2
    assert today["arrival"] == {"count": 2, "median_min": 27.5}  # (20 + 35) / 2
    assert today["release"] == {"count": 2, "median_min": 35.0}  # (30 + 40) / 2
    assert today["arrival_30min_rate"] == 0.5
    assert [(r["organisation_id"], r["median_arrival_min"], r["arrival_30min_rate"]) for r in ranked] == [
        (fast_unit, 20.0, 1.0),
        (slow_unit, 35.0, 0.0),
    ]
