"""Supervision warnings (监督预警) on SQLite and PostgreSQL with the simulated clock: each sliding-window
rule fires at its threshold and not one report below it nor outside its window; a rerun opens
nothing twice and a dismissed warning comes back only with a new report; the regulator's review is
escalated after five working days; an order opens the linked case and closes the warning."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from engine.models import Case, CaseTask, EventKind, TimelineEvent
from infra.clock import SimulatedClock
from infra.settings import CITY_TZ
from liftcase.bootstrap import PERIODIC
from processes.intake import open_or_join
from processes.supervision_rules import open_ordered_cases, scan
from processes.system import System
from registry.models import Elevator

_keys = itertools.count(1)


def _report(system: System, case_type: str, elevator_id: int, **signal: Any) -> int:
    signal.setdefault("source", "qr")
    signal["idempotency_key"] = f"test-{case_type}-{next(_keys)}"
    return open_or_join(
        system.engine, system.settings.sla_file, case_type, elevator_id=elevator_id, signal=signal
    ).case_id


def _cancel(system: System, case_id: int) -> None:
    system.engine.cancel_case(case_id, "test: the next report opens a case of its own", actor="tester")


def _elevators(system: System, n: int, **where: Any) -> list[int]:
    with system.sessions() as session:
        stmt = select(Elevator.id).filter_by(**where).order_by(Elevator.id).limit(n)
        return list(session.scalars(stmt))


def _warnings(system: System) -> list[Case]:
    with system.sessions() as session:
        return list(session.scalars(select(Case).where(Case.case_type == "supervision").order_by(Case.id)))


def _rules(system: System) -> list[tuple[str, str]]:
    return [(c.variables["rule"], c.variables["subject"]) for c in _warnings(system) if c.status == "open"]


def _complete(system: System, case_id: int, bpmn_id: str, data: dict[str, Any]) -> None:
    with system.sessions() as session:
        task_id = session.scalar(
            select(CaseTask.id).where(
                CaseTask.case_id == case_id, CaseTask.bpmn_id == bpmn_id, CaseTask.status == "open"
            )
        )
    assert task_id is not None, f"{bpmn_id} is not open"
    system.engine.complete_task(task_id, data, actor="tester")


def test_complaints_about_one_elevator_warn_at_three_in_thirty_days(system: System, clock: SimulatedClock) -> None:
    [lift] = _elevators(system, 1)
    old = _report(system, "complaint", lift, text="一月前")
    clock.advance(timedelta(days=31))  # that one falls out of the 30-day window
    _report(system, "complaint", lift, text="第一次")  # joins the open complaint: still a complaint
    _report(system, "complaint", lift, text="第二次")
    assert scan(system)[0].opened == 0 and _warnings(system) == []  # two in the window: below the threshold
    _report(system, "complaint", lift, text="第三次")
    result, found = scan(system)
    assert (result.opened, [f.rule for f in found]) == (1, ["complaints_per_elevator"])
    [warning] = _warnings(system)
    assert warning.elevator_id == lift and warning.number.startswith("JD-")
    assert (warning.variables["observed"], warning.variables["limit"]) == (3, 3)
    with system.sessions() as session:
        number = session.get(Case, old).number
        task = session.scalars(select(CaseTask).where(CaseTask.case_id == warning.id)).one()
        district = session.get(Elevator, lift).district_code
    assert warning.variables["evidence"] == [number]  # the complaints joined that one case
    assert (task.bpmn_id, task.role) == ("review_warning", "district_regulator")
    assert warning.district_code == district

    # Rerun: nothing twice. Dismissed: not again for the same complaints; a new one raises it anew.
    assert scan(system)[0].skipped == 1 and len(_warnings(system)) == 1
    _complete(system, warning.id, "review_warning", {"decision": "dismiss", "reason": "已核实为误报"})
    with system.sessions() as session:
        assert session.get(Case, warning.id).close_reason == "dismissed"
    assert scan(system)[0].opened == 0
    _report(system, "complaint", lift, text="第四次")
    assert scan(system)[0].opened == 1 and len(_warnings(system)) == 2


def test_complaints_across_one_estate_warn_for_the_use_unit(system: System, clock: SimulatedClock) -> None:
    with system.sessions() as session:
        many = select(Elevator.use_unit_id).group_by(Elevator.use_unit_id).having(func.count() >= 3)
        unit = session.scalar(many.order_by(Elevator.use_unit_id))
    a, b, c = _elevators(system, 3, use_unit_id=unit)
    for lift in (a, b):
        _report(system, "complaint", lift)
    assert _rules(system) == [] and scan(system)[0].opened == 0
    _report(system, "complaint", c)
    scan(system)
    assert _rules(system) == [("complaints_per_estate", f"use_unit:{unit}")]


def test_two_rescues_of_one_elevator_in_thirty_days(system: System, clock: SimulatedClock) -> None:
    [lift] = _elevators(system, 1)
    _cancel(system, _report(system, "rescue", lift))
    scan(system)
    assert _rules(system) == []
    clock.advance(timedelta(days=29))
    _report(system, "rescue", lift)
    scan(system)
    assert _rules(system) == [("rescues_per_elevator", f"elevator:{lift}")]


def test_repeated_nonconformities(system: System, clock: SimulatedClock) -> None:
    [lift] = _elevators(system, 1)
    _cancel(system, _report(system, "rectification", lift, source="inspection", findings=["制动器"]))
    scan(system)
    assert _rules(system) == []
    clock.advance(timedelta(days=200))
    _report(system, "rectification", lift, source="inspection", findings=["门锁"])
    scan(system)
    assert _rules(system) == [("repeated_nonconformities", f"elevator:{lift}")]


def _rescue_arriving_after(system: System, clock: SimulatedClock, lift: int, minutes: int) -> None:
    case_id = _report(system, "rescue", lift)
    _complete(system, case_id, "verify_dispatch", {"outcome": "dispatch", "trapped_count": 1, "injured": False})
    _complete(system, case_id, "accept_order", {"eta_minutes": 10})
    clock.advance(timedelta(minutes=minutes))
    _complete(system, case_id, "report_arrival", {"on_site": True})
    _cancel(system, case_id)


def test_a_maintenance_unit_arriving_late_too_often(system: System, clock: SimulatedClock) -> None:
    with system.sessions() as session:
        unit, district = session.execute(
            select(Elevator.maintenance_unit_id, Elevator.district_code).where(Elevator.district_code == "511702")
        ).first()
    lifts = _elevators(system, 5, maintenance_unit_id=unit, district_code=district)
    assert len(lifts) == 5
    # Four rescues, one late (75 % on time) are too few to judge (min_rescues 5).
    for n, lift in enumerate(lifts[:4]):
        _rescue_arriving_after(system, clock, lift, 40 if n == 0 else 20)
    scan(system)
    assert _rules(system) == []
    # The fifth on time: 4 of 5 = 80 % < 90 %.
    _rescue_arriving_after(system, clock, lifts[4], 29)
    found = scan(system)[1]
    assert _rules(system) == [("late_arrivals", f"maintenance_unit:{unit}")]
    assert found[0].observed == 0.8 and found[0].elevator_id == lifts[0]


def test_the_review_is_escalated_after_five_working_days_and_an_order_opens_a_linked_case(
    system: System, clock: SimulatedClock
) -> None:
    [lift] = _elevators(system, 1)
    for _ in range(3):
        _report(system, "complaint", lift)
    scan(system)
    [warning] = _warnings(system)
    # Opened Monday 23 Nov (Beijing): five working days end Monday 30 Nov, 24:00.
    deadline = datetime(2026, 12, 1, 0, 0, tzinfo=CITY_TZ)
    with system.sessions() as session:
        task = session.scalars(select(CaseTask).where(CaseTask.case_id == warning.id)).one()
    assert task.due_at == deadline
    clock.set(deadline - timedelta(minutes=1))
    system.engine.fire_timers(warning.id)
    with system.sessions() as session:
        assert session.get(Case, warning.id).escalation_level == 1
    clock.set(deadline)
    system.engine.fire_timers(warning.id)
    with system.sessions() as session:
        escalated = session.scalars(
            select(TimelineEvent).where(TimelineEvent.case_id == warning.id, TimelineEvent.kind == EventKind.ESCALATED)
        ).one()
    assert escalated.payload["roles"] == ["city_regulator", "district_regulator"]

    # An inspection ordered on an elevator of another district falls back to the warning's own.
    [elsewhere] = _elevators(system, 1, district_code="511781")
    _complete(
        system,
        warning.id,
        "review_warning",
        {"decision": "order_inspection", "reason": "投诉集中，责令检验", "target_elevator_id": elsewhere},
    )
    with system.sessions() as session:
        assert session.get(Case, warning.id).status == "open"  # waits for the linked case
    assert open_ordered_cases(system) == 1
    assert open_ordered_cases(system) == 0  # once
    with system.sessions() as session:
        done = session.get(Case, warning.id)
        linked = session.scalars(select(Case).where(Case.case_type == "expiry")).one()
        message = session.scalars(
            select(TimelineEvent).where(
                TimelineEvent.case_id == warning.id, TimelineEvent.kind == EventKind.MESSAGE_RECEIVED
            )
        ).one()
    assert (done.status, done.close_reason) == ("closed", "inspection_ordered")
    assert linked.elevator_id == lift and linked.variables["source"] == "supervision"
    assert linked.variables["ordered_by"] == warning.number
    due_day = (clock.now().astimezone(CITY_TZ) + timedelta(days=30)).date()
    assert datetime.fromisoformat(linked.variables["due_date"]).astimezone(CITY_TZ).date() == due_day + timedelta(
        days=1
    )
    assert message.payload["payload"]["linked_number"] == linked.number


def test_an_ordered_rectification(system: System, clock: SimulatedClock) -> None:
    [lift] = _elevators(system, 1)
    for _ in range(3):
        _report(system, "complaint", lift)
    scan(system)
    [warning] = _warnings(system)
    _complete(
        system,
        warning.id,
        "review_warning",
        {"decision": "order_rectification", "reason": "门系统投诉集中", "findings": ["门保护装置失效"]},
    )
    open_ordered_cases(system)
    with system.sessions() as session:
        linked = session.scalars(select(Case).where(Case.case_type == "rectification")).one()
        assert session.get(Case, warning.id).close_reason == "rectification_ordered"
    assert linked.variables["findings"] == ["门保护装置失效"]
    assert linked.variables["report_no"] == linked.variables["ordered_by"] == warning.number


def test_the_daily_rules_run_at_0240_and_orders_every_minute() -> None:
    cron = {p.name: p.cron for p in PERIODIC}
    assert cron["supervision_scan"] == {"hour": 2, "minute": 40}
    assert cron["supervision_orders"] == {"minute": "*"}


def test_a_dry_run_changes_nothing(system: System, clock: SimulatedClock) -> None:
    [lift] = _elevators(system, 1)
    for _ in range(3):
        _report(system, "complaint", lift)
    result, found = scan(system, dry_run=True)
    assert (result.opened, result.dry_run, len(found)) == (1, True, 1)
    assert _warnings(system) == []
