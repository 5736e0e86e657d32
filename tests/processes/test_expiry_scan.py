"""The expiry scan opens the inspection and maintenance expiry cases the register calls for, on
SQLite and PostgreSQL; a rerun opens nothing twice; completing the inspection or the maintenance
writes the new date back to the register (on the case timeline) and closes the case; a date renewed
elsewhere closes the open case at the next scan; regulators open an expiry case through the API.

Expected counts are computed here from the register's rows with plain date arithmetic (the issue's
rule: inspection due within 60 days, maintenance at day 13 of the 15-day cycle), not with the scan's
query."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from engine.models import Case, CaseStatus, CaseTask, EventKind, Notification, TimelineEvent
from infra.clock import SimulatedClock
from infra.jobs import InProcessJobs
from infra.settings import CITY_TZ
from liftcase.bootstrap import JOBS, PERIODIC
from processes.expiry_scan import scan
from processes.system import System
from registry.equipment.models import Equipment
from registry.models import Elevator, Organisation, User
from tests.support.api_client import Client, app_for


def _expected(system: System, now: datetime) -> tuple[set[int], set[int]]:
    """(elevators due for an inspection-expiry case, elevators due for a maintenance-expiry case)."""
    today = now.astimezone(CITY_TZ).date()
    with system.sessions() as session:
        rows = session.execute(select(Elevator.id, Elevator.next_inspection_due, Elevator.last_maintenance_at)).all()
    inspection = {i for i, due, _ in rows if due is not None and (due - today).days < 60}
    maintenance = {i for i, _, last in rows if last is not None and now - last >= timedelta(days=13)}
    return inspection, maintenance


def _expected_equipment(system: System, now: datetime) -> set[int]:
    """Other special equipment (not retired) whose next inspection, by its own cycle, is due within 60 days."""
    today = now.astimezone(CITY_TZ).date()
    with system.sessions() as session:
        rows = session.execute(select(Equipment.id, Equipment.next_inspection_due, Equipment.status)).all()
    return {i for i, due, status in rows if status != "retired" and due is not None and (due - today).days < 60}


def _open_equipment(system: System) -> dict[int, Case]:
    with system.sessions() as session:
        cases = session.scalars(
            select(Case).where(
                Case.case_type == "expiry", Case.status == CaseStatus.OPEN, Case.equipment_id.is_not(None)
            )
        )
        return {c.equipment_id: c for c in cases}


def _open_expiry(system: System) -> dict[str, set[int]]:
    """Open expiry cases of elevators, by kind."""
    out: dict[str, set[int]] = {"inspection": set(), "maintenance": set()}
    with system.sessions() as session:
        for elevator_id, variables in session.execute(
            select(Case.elevator_id, Case.variables).where(
                Case.case_type == "expiry", Case.status == CaseStatus.OPEN, Case.elevator_id.is_not(None)
            )
        ):
            out[variables["kind"]].add(elevator_id)
    return out


def _case_of(system: System, elevator_id: int, kind: str) -> Case:
    with system.sessions() as session:
        return session.scalars(
            select(Case).where(Case.case_type == "expiry", Case.open_key == f"expiry:{kind}:{elevator_id}")
        ).one()


def _complete(system: System, case_id: int, bpmn_id: str, data: dict[str, Any]) -> None:
    with system.sessions() as session:
        task_id = session.scalar(
            select(CaseTask.id).where(
                CaseTask.case_id == case_id, CaseTask.bpmn_id == bpmn_id, CaseTask.status == "open"
            )
        )
    assert task_id is not None, f"{bpmn_id} is not open"
    system.engine.complete_task(task_id, data, actor="tester")


def _events(system: System, case_id: int, kind: EventKind) -> list[dict[str, Any]]:
    with system.sessions() as session:
        rows = session.scalars(
            select(TimelineEvent).where(TimelineEvent.case_id == case_id, TimelineEvent.kind == kind)
        ).all()
        return [e.payload for e in rows]


def _elevator(system: System, elevator_id: int) -> Elevator:
    with system.sessions() as session:
        return session.get(Elevator, elevator_id)


def test_the_scan_opens_one_case_per_expiry_the_register_shows_and_a_rerun_none(
    system: System, clock: SimulatedClock
) -> None:
    inspection, maintenance = _expected(system, clock.now())
    equipment = _expected_equipment(system, clock.now())
    assert inspection and maintenance and equipment  # the seeded city has all (else the test proves nothing)
    total = len(inspection) + len(maintenance) + len(equipment)

    forecast = scan(system, dry_run=True)
    assert (forecast.opened, forecast.joined, forecast.skipped, forecast.dry_run) == (total, 0, 0, True)
    assert _open_expiry(system) == {"inspection": set(), "maintenance": set()}  # a dry run changes nothing

    first = scan(system)
    assert (first.opened, first.joined, first.skipped) == (total, 0, 0)
    assert _open_expiry(system) == {"inspection": inspection, "maintenance": maintenance}
    assert set(_open_equipment(system)) == equipment
    assert first.line() == f"opened={total} joined=0 skipped=0 dry_run=False"

    # A rerun opens nothing twice; two hours on, only the elevators that crossed a limit since.
    assert (scan(system).opened, scan(system).skipped) == (0, total)
    clock.advance(timedelta(hours=2))
    later_inspection, later_maintenance = _expected(system, clock.now())
    later_equipment = _expected_equipment(system, clock.now())
    assert later_inspection >= inspection and later_maintenance >= maintenance and later_equipment >= equipment
    again = scan(system)
    later_total = len(later_inspection) + len(later_maintenance) + len(later_equipment)
    assert (again.opened, again.skipped) == (later_total - total, total)
    assert _open_expiry(system) == {"inspection": later_inspection, "maintenance": later_maintenance}


def test_an_expired_elevator_is_flagged_and_its_district_regulator_told_at_once(
    system: System, clock: SimulatedClock
) -> None:
    today = clock.now().astimezone(CITY_TZ).date()
    with system.sessions() as session, session.begin():
        expired, soon = session.scalars(select(Elevator.id).order_by(Elevator.id).limit(2)).all()
        session.execute(
            update(Elevator).where(Elevator.id == expired).values(next_inspection_due=today - timedelta(days=3))
        )
        session.execute(
            update(Elevator).where(Elevator.id == soon).values(next_inspection_due=today + timedelta(days=59))
        )
    scan(system)
    late = _case_of(system, expired, "inspection")
    assert _elevator(system, expired).stop_use is True
    assert [e["roles"] for e in _events(system, late.id, EventKind.ESCALATED)] == [["district_regulator", "property"]]
    assert late.escalation_level == 2
    due_soon = _case_of(system, soon, "inspection")
    assert _elevator(system, soon).stop_use is False
    # Opened at the 60-day mark: the first warning goes to the property at once, nothing more.
    with system.sessions() as session:
        roles = session.scalars(select(Notification.role).where(Notification.case_id == due_soon.id)).all()
    assert set(roles) == {"property"}
    assert [e["element"] for e in _events(system, due_soon.id, EventKind.TIMER_FIRED)] == ["t_warn_first"]


def test_a_passed_inspection_writes_the_next_due_date_back_and_closes(system: System, clock: SimulatedClock) -> None:
    today = clock.now().astimezone(CITY_TZ).date()
    with system.sessions() as session, session.begin():
        a, b = session.scalars(select(Elevator.id).order_by(Elevator.id).offset(5).limit(2)).all()
        session.execute(
            update(Elevator).where(Elevator.id.in_([a, b])).values(next_inspection_due=today + timedelta(days=20))
        )
    scan(system)
    case_a, case_b = _case_of(system, a, "inspection"), _case_of(system, b, "inspection")

    _complete(system, case_a.id, "apply_inspection", {"application_no": "BJ-1", "planned_date": "2026-12-01"})
    _complete(
        system, case_a.id, "record_inspection", {"result": "passed", "report_no": "DJ-1", "next_due_date": "2027-12-05"}
    )
    assert _elevator(system, a).next_inspection_due == date(2027, 12, 5)
    [written] = _events(system, case_a.id, EventKind.REGISTER_UPDATED)
    assert written["changes"] == {"next_inspection_due": [(today + timedelta(days=20)).isoformat(), "2027-12-05"]}
    with system.sessions() as session:
        closed = session.get(Case, case_a.id)
        assert (closed.status, closed.close_reason) == ("closed", "inspected")

    # No next date on the report: one cycle (12 months, sla.toml) after the inspection.
    _complete(system, case_b.id, "apply_inspection", {"application_no": "BJ-2", "planned_date": "2026-12-01"})
    _complete(
        system, case_b.id, "record_inspection", {"result": "passed", "report_no": "DJ-2", "inspected_on": "2026-12-02"}
    )
    assert _elevator(system, b).next_inspection_due == date(2027, 12, 2)

    # The renewed elevators are not due any more: the next scan opens nothing for them.
    scan(system)
    assert {a, b}.isdisjoint(_open_expiry(system)["inspection"])


def test_a_recorded_maintenance_writes_the_visit_back_and_closes(system: System, clock: SimulatedClock) -> None:
    with system.sessions() as session, session.begin():
        elevator_id = session.scalars(select(Elevator.id).order_by(Elevator.id)).first()
        session.execute(
            update(Elevator)
            .where(Elevator.id == elevator_id)
            .values(last_maintenance_at=clock.now() - timedelta(days=14))
        )
    scan(system)
    case = _case_of(system, elevator_id, "maintenance")
    visit = clock.now().astimezone(CITY_TZ).date()
    _complete(system, case.id, "record_maintenance", {"record_no": "WB-1", "maintained_on": visit.isoformat()})
    start_of_day = datetime.combine(visit, datetime.min.time(), CITY_TZ).astimezone(UTC)
    assert _elevator(system, elevator_id).last_maintenance_at == start_of_day
    assert list(_events(system, case.id, EventKind.REGISTER_UPDATED)[0]["changes"]) == ["last_maintenance_at"]
    with system.sessions() as session:
        assert session.get(Case, case.id).close_reason == "maintained"
    scan(system)
    assert elevator_id not in _open_expiry(system)["maintenance"]


def test_a_date_renewed_elsewhere_closes_the_open_case_at_the_next_scan(system: System, clock: SimulatedClock) -> None:
    today = clock.now().astimezone(CITY_TZ).date()
    with system.sessions() as session, session.begin():
        a, b = session.scalars(select(Elevator.id).order_by(Elevator.id).offset(9).limit(2)).all()
        session.execute(update(Elevator).where(Elevator.id == a).values(next_inspection_due=today - timedelta(days=1)))
        session.execute(
            update(Elevator).where(Elevator.id == b).values(last_maintenance_at=clock.now() - timedelta(days=13))
        )
    scan(system)
    inspection, maintenance = _case_of(system, a, "inspection"), _case_of(system, b, "maintenance")
    assert _elevator(system, a).stop_use is True  # expired: flagged
    # An inspection report and a maintenance record reach the register without the cases (an import).
    with system.sessions() as session, session.begin():
        session.execute(update(Elevator).where(Elevator.id == a).values(next_inspection_due=date(2027, 11, 30)))
        session.execute(update(Elevator).where(Elevator.id == b).values(last_maintenance_at=clock.now()))
    result = scan(system, dry_run=True)
    assert result.closed == 2
    assert scan(system).closed == 2
    with system.sessions() as session:
        closed = {
            c.id: c.close_reason
            for c in session.scalars(select(Case).where(Case.id.in_([inspection.id, maintenance.id])))
        }
    assert closed == {inspection.id: "inspected", maintenance.id: "maintained"}
    assert _elevator(system, a).stop_use is False  # the expired flag is lifted with the renewal
    assert [e["message"] for e in _events(system, inspection.id, EventKind.MESSAGE_RECEIVED)] == ["inspection_recorded"]
    assert scan(system).closed == 0


def test_the_daily_scan_is_a_0230_job_on_the_queue(system: System, clock: SimulatedClock) -> None:
    [daily] = [p for p in PERIODIC if p.name == "expiry_scan"]
    assert daily.cron == {"hour": 2, "minute": 30}
    jobs = InProcessJobs(JOBS)
    jobs.bind(system)
    system.jobs = jobs
    daily.func(system)  # what APScheduler calls: it queues the scan; the in-process queue runs it
    inspection, maintenance = _expected(system, clock.now())
    assert _open_expiry(system) == {"inspection": inspection, "maintenance": maintenance}
    assert set(_open_equipment(system)) == _expected_equipment(system, clock.now())


def test_a_regulator_opens_an_expiry_case_through_the_api(system: System, clock: SimulatedClock) -> None:
    app = app_for(system)
    regulator, prop = Client(app, "regulator"), Client(app, "property")
    with system.sessions() as session:
        district = session.scalar(select(User.organisation_id).where(User.username == "regulator"))
        code = session.get(Organisation, district).district_code
        elevator_id = session.scalar(select(Elevator.id).where(Elevator.district_code == code).order_by(Elevator.id))
    body = {"type": "expiry", "elevator_id": elevator_id, "kind": "inspection", "due_date": "2027-01-10"}
    r = regulator.post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.get_json()
    case_id = r.get_json()["case_id"]
    with system.sessions() as session:
        case = session.get(Case, case_id)
        assert case.case_type == "expiry" and case.variables["source"] == "regulator"
        assert case.variables["due_date"] == "2027-01-10T16:00:00+00:00"
    # The same elevator again joins; a property company may not open one.
    assert regulator.post("/api/v1/cases", json=body).status_code == 200
    assert prop.post("/api/v1/cases", json=body).status_code == 403
    # No due date given and none on record: refused with the reason, not a server error.
    with system.sessions() as session, session.begin():
        other = session.scalar(
            select(Elevator.id).where(Elevator.district_code == code, Elevator.id != elevator_id).order_by(Elevator.id)
        )
        session.execute(update(Elevator).where(Elevator.id == other).values(next_inspection_due=None))
    r = regulator.post("/api/v1/cases", json={"type": "expiry", "elevator_id": other})
    assert r.status_code == 422 and "due_date" in r.get_json()["message"]
    # A regulator's maintenance expiry starts from the register's last visit.
    r = regulator.post("/api/v1/cases", json={"type": "expiry", "elevator_id": other, "kind": "maintenance"})
    assert r.status_code == 201


def test_the_command_line_scan_prints_its_counts_last(system: System, monkeypatch: Any) -> None:
    """`liftcase expiry scan [--dry-run]` on the real clock: the last line is
    `opened= joined= skipped= dry_run=`."""
    from click.testing import CliRunner

    from liftcase.cli import main

    monkeypatch.setenv("LIFTCASE_DATABASE_URL", system.settings.database_url)
    inspection, maintenance = _expected(system, datetime.now(UTC))
    total = len(inspection) + len(maintenance) + len(_expected_equipment(system, datetime.now(UTC)))
    runs = [CliRunner().invoke(main, ["expiry", "scan", *args]) for args in (["--dry-run"], [], [])]
    assert [r.exit_code for r in runs] == [0, 0, 0], [r.output for r in runs]
    assert [r.output.strip().splitlines()[-1] for r in runs] == [
        f"opened={total} joined=0 skipped=0 dry_run=True",
        f"opened={total} joined=0 skipped=0 dry_run=False",
        f"opened=0 joined=0 skipped={total} dry_run=False",
    ]


def test_a_case_for_an_earlier_date_than_the_registers_stays_open(system: System, clock: SimulatedClock) -> None:
    """A regulator opens an expiry for a date before the register's (the register is wrong): the
    scan does not take the register's unchanged, later date for a renewal."""
    with system.sessions() as session, session.begin():
        elevator_id = session.scalars(select(Elevator.id).order_by(Elevator.id).offset(12)).first()
        session.execute(update(Elevator).where(Elevator.id == elevator_id).values(next_inspection_due=date(2027, 9, 1)))
    from processes.case_flows import open_by_hand

    opened = open_by_hand(
        system,
        "expiry",
        elevator_id=elevator_id,
        fields={"kind": "inspection", "due_date": date(2027, 1, 5)},
        actor="r",
    )
    assert scan(system).closed == 0
    with system.sessions() as session:
        assert session.get(Case, opened.case_id).status == "open"
    # Then the register is renewed: that is a renewal.
    with system.sessions() as session, session.begin():
        session.execute(
            update(Elevator).where(Elevator.id == elevator_id).values(next_inspection_due=date(2027, 12, 1))
        )
    assert scan(system).closed == 1


def test_a_register_change_closes_the_case_at_once_when_told(system: System, clock: SimulatedClock) -> None:
    """Flows that write the register (an edit, an import) call `register_changed` after their commit:
    the overtaken case closes then, not at the next 02:30 scan; other elevators' cases are untouched."""
    from processes.expiry_scan import register_changed

    today = clock.now().astimezone(CITY_TZ).date()
    with system.sessions() as session, session.begin():
        a, b = session.scalars(select(Elevator.id).order_by(Elevator.id).offset(14).limit(2)).all()
        session.execute(update(Elevator).where(Elevator.id.in_([a, b])).values(next_inspection_due=today))
    scan(system)
    with system.sessions() as session, session.begin():
        session.execute(
            update(Elevator).where(Elevator.id.in_([a, b])).values(next_inspection_due=today + timedelta(days=365))
        )
    assert register_changed(system, [a]) == 1
    assert _open_expiry(system)["inspection"] >= {b} and a not in _open_expiry(system)["inspection"]
    assert register_changed(system, [a]) == 0


def test_an_admin_recording_the_next_due_date_closes_the_case(system: System, clock: SimulatedClock) -> None:
    today = clock.now().astimezone(CITY_TZ).date()
    with system.sessions() as session, session.begin():
        elevator_id = session.scalars(select(Elevator.id).order_by(Elevator.id).offset(16)).first()
        session.execute(
            update(Elevator).where(Elevator.id == elevator_id).values(next_inspection_due=today - timedelta(days=2))
        )
    scan(system)
    case = _case_of(system, elevator_id, "inspection")
    assert _elevator(system, elevator_id).stop_use is True
    admin = Client(app_for(system), "admin")
    r = admin.patch(f"/api/v1/elevators/{elevator_id}", json={"next_inspection_due": "2027-11-20"})
    assert r.status_code == 200, r.get_json()
    with system.sessions() as session:
        closed = session.get(Case, case.id)
    assert (closed.status, closed.close_reason) == ("closed", "inspected")
    assert _elevator(system, elevator_id).stop_use is False
    assert _elevator(system, elevator_id).next_inspection_due == date(2027, 11, 20)


def test_a_new_date_for_an_elevator_with_an_open_case_joins_it(system: System, clock: SimulatedClock) -> None:
    today = clock.now().astimezone(CITY_TZ).date()
    with system.sessions() as session, session.begin():
        elevator_id = session.scalars(select(Elevator.id).order_by(Elevator.id).offset(18)).first()
        session.execute(
            update(Elevator).where(Elevator.id == elevator_id).values(next_inspection_due=today + timedelta(days=40))
        )
    first = scan(system)
    case = _case_of(system, elevator_id, "inspection")
    # The register's date is corrected to an earlier one: a new signal, joined to the open case.
    with system.sessions() as session, session.begin():
        session.execute(
            update(Elevator).where(Elevator.id == elevator_id).values(next_inspection_due=today + timedelta(days=35))
        )
    second = scan(system)
    assert (second.opened, second.joined, second.skipped) == (0, 1, first.opened - 1)  # its old key is gone
    [joined] = _events(system, case.id, EventKind.SIGNAL_JOINED)
    assert joined["signal"]["due_date"] == (today + timedelta(days=35)).isoformat()


def test_the_whole_demo_city(tmp_path: Any) -> None:
    """The seeded Dazhou city (14,188 elevators): the scan selects exactly what the register calls for."""
    from infra.clock import SimulatedClock as Clock
    from tests.support.system import START, make_system

    clock = Clock(START)
    system = make_system(f"sqlite:///{tmp_path / 'city.sqlite3'}", clock, elevators=14188)
    try:
        inspection, maintenance = _expected(system, clock.now())
        today = clock.now().astimezone(CITY_TZ).date()
        with system.sessions() as session:
            expired = session.scalar(
                select(func.count()).select_from(Elevator).where(Elevator.next_inspection_due < today)
            )
        assert expired and len(inspection) > expired and maintenance
        equipment = _expected_equipment(system, clock.now())
        assert equipment
        forecast = scan(system, dry_run=True)
        total = len(inspection) + len(maintenance) + len(equipment)
        assert (forecast.opened, forecast.joined, forecast.skipped) == (total, 0, 0)
    finally:
        system.db.dispose()


# --- the other seven classes of special equipment -------------------------------------------

# One record of each class, with the inspection cycle its rules give (TSG; written out here, not
# read from registry/equipment/classes.py): the vessel of safety grade 3 every 3 years, a bridge
# crane every 2, a tower crane yearly.
SAMPLES: dict[str, tuple[int, dict[str, Any]]] = {
    "boiler": (12, {"type": "steam", "rated_pressure_mpa": 1.25, "fuel": "gas"}),
    "pressure_vessel": (
        36,
        {"category": "II", "medium": "压缩空气", "design_pressure_mpa": 1.0, "volume_m3": 2, "safety_grade": 3},
    ),
    "pressure_piping": (36, {"grade": "GC2", "medium": "蒸汽", "length_m": 300}),
    "crane": (24, {"type": "bridge", "rated_capacity_t": 10}),
    "ropeway": (12, {"type": "detachable", "length_m": 1200, "capacity_persons_h": 800}),
    "amusement_ride": (12, {"type": "观览车类", "grade": "A", "passengers": 40}),
    "site_vehicle": (12, {"type": "forklift", "plate_no": "川S-01234", "power": "electric"}),
}
TOWER_CRANE = (12, {"type": "tower", "rated_capacity_t": 8})


def _months_back(day: date, months: int) -> date:
    """`months` calendar months before `day` (a day that month lacks: its last day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = (date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month + 1, min(day.day, last))


def _months_on(day: date, months: int) -> date:
    return _months_back(day, -months)


def _add_equipment(system: System, clock: SimulatedClock, key: str, attrs: dict[str, Any], last: date, n: int) -> int:
    """A record through the register's flow (it derives the cycle and the next due date)."""
    from processes.equipment import add_equipment
    from registry.models import OrgKind

    with system.sessions() as session, session.begin():
        unit = session.scalars(
            select(Organisation).where(Organisation.kind == OrgKind.USE_UNIT).order_by(Organisation.id)
        ).first()
        row = add_equipment(
            session,
            {
                "equipment_class": key, "register_code": f"T-{key[:6]}-{n:04d}", "name": f"{n}号测试设备",
                "address": "通川区测试路1号", "district_code": unit.district_code, "lat": 31.2, "lon": 107.5,
                "use_unit_id": unit.id, "attributes": attrs, "last_inspected_on": last,
            },
            actor="tester",
            now=clock.now(),
        )  # fmt: skip
        return row.id


def test_every_class_of_equipment_gets_its_expiry_case_by_its_own_cycle(system: System, clock: SimulatedClock) -> None:
    today = clock.now().astimezone(CITY_TZ).date()
    due_soon, not_yet, cycles = {}, {}, {}
    for n, (key, (cycle, attrs)) in enumerate([*SAMPLES.items(), ("crane", TOWER_CRANE)]):
        # Inspected one cycle before a day 45 (due now) or 75 days (not yet) ahead.
        soon = _add_equipment(system, clock, key, attrs, _months_back(today + timedelta(days=45), cycle), n)
        later = _add_equipment(system, clock, key, attrs, _months_back(today + timedelta(days=75), cycle), 50 + n)
        due_soon[soon], not_yet[later], cycles[soon], cycles[later] = key, key, cycle, cycle
    with system.sessions() as session:
        rows = {q.id: q for q in session.scalars(select(Equipment).where(Equipment.id.in_(cycles)))}
    for q in rows.values():  # the register followed each class's cycle
        assert q.inspection_cycle_months == cycles[q.id], q.equipment_class
        assert q.next_inspection_due == _months_on(q.last_inspected_on, cycles[q.id]), q.equipment_class
    # A retired record past its date never gets a case; a stopped one does (it may return to use).
    from processes.equipment import retire_equipment

    retired = _add_equipment(system, clock, "boiler", SAMPLES["boiler"][1], today - timedelta(days=800), 90)
    with system.sessions() as session, session.begin():
        retire_equipment(session, session.get(Equipment, retired), reason="报废", actor="tester", now=clock.now())

    expected = _expected_equipment(system, clock.now())
    assert set(due_soon) <= expected and not set(not_yet) & expected and retired not in expected
    elevators = sum(len(s) for s in _expected(system, clock.now()))
    forecast = scan(system, dry_run=True)
    assert (forecast.opened, forecast.skipped) == (elevators + len(expected), 0)
    first = scan(system)
    assert first.line() == f"opened={elevators + len(expected)} joined=0 skipped=0 dry_run=False"
    opened = _open_equipment(system)
    assert set(opened) == expected
    assert {opened[i].variables["equipment_class"] for i in due_soon} == set(SAMPLES)
    for i in due_soon:
        case = opened[i]
        assert case.elevator_id is None and case.district_code == rows[i].district_code
        assert case.variables["inspection_cycle_months"] == rows[i].inspection_cycle_months
        assert case.variables["due_date"] == f"{rows[i].next_inspection_due.isoformat()}T16:00:00+00:00"  # its end
    again = scan(system)
    assert again.line() == f"opened=0 joined=0 skipped={elevators + len(expected)} dry_run=False"


def test_an_expired_boiler_is_stopped_and_a_passed_inspection_renews_it_by_its_cycle(
    system: System, clock: SimulatedClock
) -> None:
    today = clock.now().astimezone(CITY_TZ).date()
    cycle, attrs = SAMPLES["pressure_vessel"]
    vessel = _add_equipment(system, clock, "pressure_vessel", attrs, _months_back(today - timedelta(days=5), cycle), 1)
    scan(system)
    case = _open_equipment(system)[vessel]
    with system.sessions() as session:
        assert session.get(Equipment, vessel).status == "stopped"  # expired: out of use
        roles = set(session.scalars(select(Notification.role).where(Notification.case_id == case.id)))
        use_unit = session.get(Equipment, vessel).use_unit_id
        told = set(
            session.scalars(
                select(Notification.organisation_id).where(
                    Notification.case_id == case.id, Notification.role == "property"
                )
            )
        )
    assert {"district_regulator", "property"} <= roles and told == {use_unit}  # the use unit of the vessel

    _complete(system, case.id, "apply_inspection", {"application_no": "BJ-9", "planned_date": "2026-12-01"})
    _complete(
        system, case.id, "record_inspection", {"result": "passed", "report_no": "DJ-9", "inspected_on": "2026-12-02"}
    )
    with system.sessions() as session:
        row = session.get(Equipment, vessel)
        closed = session.get(Case, case.id)
    assert (row.last_inspected_on, row.next_inspection_due) == (date(2026, 12, 2), date(2029, 12, 2))  # 36 months
    assert row.status == "in_use"
    assert (closed.status, closed.close_reason) == ("closed", "inspected")
    [written] = _events(system, case.id, EventKind.REGISTER_UPDATED)
    assert written["equipment_id"] == vessel and written["changes"]["next_inspection_due"][1] == "2029-12-02"
    scan(system)
    assert vessel not in _open_equipment(system)


def test_an_admin_recording_a_new_inspection_of_equipment_closes_its_case(
    system: System, clock: SimulatedClock
) -> None:
    today = clock.now().astimezone(CITY_TZ).date()
    crane = _add_equipment(system, clock, "crane", SAMPLES["crane"][1], _months_back(today + timedelta(days=20), 24), 3)
    scan(system)
    case = _open_equipment(system)[crane]
    r = Client(app_for(system), "admin").patch(f"/api/v1/equipment/{crane}", json={"last_inspected_on": "2026-11-20"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["next_inspection_due"] == "2028-11-20"
    with system.sessions() as session:
        assert session.get(Case, case.id).close_reason == "inspected"
    assert scan(system).opened == 0


def test_a_regulator_opens_an_equipment_case_by_hand_with_a_reason(system: System, clock: SimulatedClock) -> None:
    from processes.models import CaseComment
    from registry.models import OrgKind

    app = app_for(system)
    regulator = Client(app, "regulator")
    with system.sessions() as session:
        district = session.get(
            Organisation, session.scalar(select(User.organisation_id).where(User.username == "regulator"))
        )
        mine, other = (
            session.scalars(
                select(Equipment.id).where(Equipment.status == "in_use", where).order_by(Equipment.id)
            ).first()
            for where in (
                Equipment.district_code == district.district_code,
                Equipment.district_code != district.district_code,
            )
        )
    body = {"type": "expiry", "equipment_id": mine, "due_date": "2027-01-10", "reason": "现场检查发现检验标志过期"}
    r = regulator.post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.get_json()
    case_id = r.get_json()["case_id"]
    with system.sessions() as session:
        case = session.get(Case, case_id)
        assert (case.equipment_id, case.elevator_id, case.variables["source"]) == (mine, None, "regulator")
        assert session.scalars(select(CaseComment.body).where(CaseComment.case_id == case_id)).all() == [body["reason"]]
        use_unit = session.get(Organisation, session.get(Equipment, mine).use_unit_id)
        assert use_unit.kind == OrgKind.USE_UNIT
    # The case is in the regulator's list; equipment of another district is out of scope.
    assert case_id in {c["id"] for c in regulator.get("/api/v1/cases?type=expiry&page_size=100").get_json()}
    assert regulator.post("/api/v1/cases", json={**body, "equipment_id": other}).status_code == 404
    # A rectification about it is allowed; a rescue is not; naming both or neither is refused.
    rect = {
        "type": "rectification",
        "equipment_id": mine,
        "report_no": "DJ-7",
        "findings": ["安全阀失效"],
        "reason": "检验报告",
    }
    assert regulator.post("/api/v1/cases", json=rect).status_code == 201
    assert regulator.post("/api/v1/cases", json={"type": "rescue", "equipment_id": mine}).status_code == 422
    both = {"type": "expiry", "equipment_id": mine, "elevator_id": 1}
    assert regulator.post("/api/v1/cases", json=both).status_code == 422
    assert regulator.post("/api/v1/cases", json={"type": "expiry"}).status_code == 422
    assert Client(app, "property").post("/api/v1/cases", json=body).status_code == 403
    # Retired: no new case.
    from processes.equipment import retire_equipment

    with system.sessions() as session, session.begin():
        retire_equipment(session, session.get(Equipment, mine), reason="报废", actor="tester", now=clock.now())
    assert regulator.post("/api/v1/cases", json={**body, "reason": "再次"}).status_code == 404


def test_retiring_equipment_ends_its_open_expiry_case(system: System, clock: SimulatedClock) -> None:
    """Retired (报废) through the API: its open case is cancelled at once; through another writer
    (an import): at the next scan. Neither opens again."""
    from processes.equipment import retire_equipment

    today = clock.now().astimezone(CITY_TZ).date()
    last = _months_back(today - timedelta(days=3), 12)
    by_api, by_import = (_add_equipment(system, clock, "boiler", SAMPLES["boiler"][1], last, n) for n in (7, 8))
    scan(system)
    cases = _open_equipment(system)
    first, second = cases[by_api].id, cases[by_import].id
    r = Client(app_for(system), "admin").post(f"/api/v1/equipment/{by_api}/retire", json={"reason": "报废"})
    assert r.status_code == 200, r.get_json()
    with system.sessions() as session, session.begin():
        retire_equipment(session, session.get(Equipment, by_import), reason="注销", actor="import", now=clock.now())
    assert scan(system, dry_run=True).closed == 1
    assert scan(system).closed == 1
    with system.sessions() as session:
        ended = {
            c.id: (c.status, c.close_reason) for c in session.scalars(select(Case).where(Case.id.in_([first, second])))
        }
    assert ended == {first: ("cancelled", "equipment retired"), second: ("cancelled", "equipment retired")}
    assert not {by_api, by_import} & set(_open_equipment(system))
