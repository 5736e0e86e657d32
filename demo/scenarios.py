"""End-to-end runs of each case type on a simulated clock (`liftcase scenario NAME --json`).

Each scenario lets deadlines pass where the ladder should fire, so a person can read the
timeline and see every escalation step happen at its time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from engine.models import CaseTask, TaskStatus
from infra.clock import SimulatedClock
from processes.intake import open_or_join
from processes.system import System
from registry.models import District, Elevator

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
        codes = select(District.code).where(District.urban.is_(urban))
        return session.scalar(select(Elevator.id).where(Elevator.district_code.in_(codes)).order_by(Elevator.id))


@scenario("rescue")
def rescue(system: System, clock: SimulatedClock) -> int:
    """QR call; dispatched at once; nobody accepts for 12 minutes (levels 2 and 3), on site at 35 min
    (overdue at 30: district regulator), released at 40, cause reported, return visit, closed."""
    case_id = open_or_join(
        system.engine,
        system.sla,
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


@scenario("warning")
def warning(system: System, clock: SimulatedClock) -> int:
    """A door-lock fault (P2, safety-critical): stop-use advice to property at once; the work order sits
    unaccepted past 15 min (maintenance manager told); fixed after the 24 h deadline (district regulator)."""
    case_id = open_or_join(
        system.engine,
        system.sla,
        "warning",
        elevator_id=an_elevator(system),
        signal={"source": "iot", "kind": "door_lock_fault", "warning_type": "door_lock_fault", "recent_count": 3},
    ).case_id
    wait(system, clock, timedelta(minutes=20))
    complete(system, case_id, "accept_order", {"eta_minutes": 60}, "maint")
    wait(system, clock, timedelta(hours=1))
    complete(system, case_id, "report_onsite", {"on_site": True}, "maint")
    clock.advance(timedelta(hours=23))
    wait(system, clock, timedelta(minutes=5))
    complete(system, case_id, "report_fix", {"cause_category": "door_system", "description": "更换门锁触点"}, "maint")
    complete(system, case_id, "verify_fix", {"confirmed": True}, "property")
    return case_id


@scenario("rectification")
def rectification(system: System, clock: SimulatedClock) -> int:
    """Inspection findings with a 30-day deadline: reminders at 7 and 1 day, evidence rejected once,
    approved, re-inspection passes just after the deadline (district regulator told it was overdue)."""
    case_id = open_or_join(
        system.engine,
        system.sla,
        "rectification",
        elevator_id=an_elevator(system),
        signal={"source": "inspection", "findings": ["轿厢应急照明失效", "底坑积水"]},
    ).case_id
    for _ in range(30):
        clock.advance(timedelta(days=1))
        from engine.scheduler import fire_due_timers

        fire_due_timers(system.engine)
    complete(system, case_id, "rectify_work", {"description": "更换应急照明电源"}, "maint")
    complete(system, case_id, "rectify", {"description": "已更换应急照明", "photos": ["ATT-20261220-0001"]}, "property")
    complete(system, case_id, "review_evidence", {"approved": False}, "regulator")
    complete(system, case_id, "rectify_work", {"description": "底坑排水并封堵渗漏点"}, "maint")
    complete(
        system, case_id, "rectify", {"description": "已更换应急照明并排水", "photos": ["ATT-20261220-0001"]}, "property"
    )
    complete(system, case_id, "review_evidence", {"approved": True}, "regulator")
    complete(system, case_id, "reinspect", {"result": "passed", "report_no": "DZJY-2026-1234"}, "inspector")
    return case_id


@scenario("expiry")
def expiry(system: System, clock: SimulatedClock) -> int:
    """Next inspection due in 65 days: warnings at 60, 30 and 7 days; the property applies late, the
    inspection passes after the due date (stop-use flag and district regulator at expiry)."""
    due = (clock.now() + timedelta(days=65)).isoformat()
    case_id = open_or_join(
        system.engine,
        system.sla,
        "expiry",
        elevator_id=an_elevator(system),
        signal={"source": "scan", "kind": "inspection", "due_date": due},
    ).case_id
    from engine.scheduler import fire_due_timers

    for _ in range(67):
        clock.advance(timedelta(days=1))
        fire_due_timers(system.engine)
    complete(
        system, case_id, "apply_inspection", {"application_no": "SQ-2026-88", "planned_date": "2027-01-30"}, "property"
    )
    complete(system, case_id, "record_inspection", {"result": "passed", "report_no": "DZJY-2027-0001"}, "property")
    return case_id


@scenario("complaint")
def complaint(system: System, clock: SimulatedClock) -> int:
    """A QR complaint assigned to the property company, unanswered for more than five working days
    (district regulator), answered, found unsatisfactory once, answered again, closed."""
    case_id = open_or_join(
        system.engine,
        system.sla,
        "complaint",
        elevator_id=an_elevator(system),
        signal={"source": "qr", "category": "hygiene", "text": "轿厢内广告遮挡安全提示"},
    ).case_id
    complete(system, case_id, "assign_complaint", {"responder": "property"}, "dispatcher")
    wait(system, clock, timedelta(days=8))
    complete(system, case_id, "answer_by_property", {"answer": "已清除广告"}, "property")
    complete(system, case_id, "review_answer", {"satisfied": False}, "regulator")
    complete(system, case_id, "answer_by_property", {"answer": "已清除广告并张贴安全须知"}, "property")
    complete(system, case_id, "review_answer", {"satisfied": True}, "regulator")
    return case_id


def public_security_contact(system: System, code: str = "PSB-CITY") -> int:
    """The public-security liaison deliberate damage is reported to (processes/sla.toml names its
    organisation code): an organisation with one duty officer, added when missing."""
    from registry.models import Organisation, User

    with system.sessions() as session, session.begin():
        org = session.scalar(select(Organisation).where(Organisation.code == code))
        if org is None:
            org = Organisation(code=code, name="市公安局治安支队（电梯设施联络）", kind="public_security", phone="110")
            session.add(org)
            session.flush()
            session.add(
                User(username="psb_duty", display_name="公安值班联络员", roles=[], organisation_id=org.id, phone="110")
            )
        return org.id


def box_heard(system: System, device_id: str) -> None:
    """The box's heartbeat reaches the register now (what the MQTT ingest writes)."""
    from registry.devices import write_presence

    with system.sessions() as session, session.begin():
        write_presence(session, {device_id: {"online": True, "last_seen_at": system.clock.now(), "last_seq": None}})


def heartbeat_check(system: System) -> None:
    """The connector's minutely heartbeat check (it marks silent boxes offline, then the cases follow)."""
    from connectors.mqtt.jobs import devices_offline

    devices_offline(system)


@scenario("device_offline")
def device_offline(system: System, clock: SimulatedClock) -> int:
    """A box falls silent: offline after the 10-minute heartbeat timeout, the use unit is told to check
    power, network and damage; nobody finds the cause for 24 h (district regulator); the property finds
    it smashed (the public-security liaison and the district regulator are told), files the police
    report, and the maintenance unit replaces the box."""
    from registry.models import Device

    public_security_contact(system)
    with system.sessions() as session:
        device_id, elevator_id = session.execute(
            select(Device.id, Device.elevator_id).where(Device.elevator_id.is_not(None)).order_by(Device.id)
        ).first()
    box_heard(system, device_id)
    clock.advance(timedelta(minutes=11))
    heartbeat_check(system)
    case_id = open_task_case(system, elevator_id, "device_offline")
    wait(system, clock, timedelta(hours=24, minutes=5))
    complete(
        system, case_id, "check_device", {"finding": "damaged_deliberate", "note": "设备外壳被撬，线缆剪断"}, "property"
    )
    complete(
        system,
        case_id,
        "report_police",
        {"police_station": "通川区西城派出所", "receipt_no": "JJ-2026-0411"},
        "property",
    )
    complete(system, case_id, "repair_device", {"action": "replaced", "new_device_id": device_id}, "maint")
    return case_id


def open_task_case(system: System, elevator_id: int, case_type: str) -> int:
    """The elevator's open case of that type (opened by a job, not by the scenario itself)."""
    from engine.models import Case

    with system.sessions() as session:
        case_id = session.scalar(
            select(Case.id).where(Case.elevator_id == elevator_id, Case.case_type == case_type, Case.status == "open")
        )
    if case_id is None:
        raise LookupError(f"no open {case_type} case for elevator {elevator_id}")
    return case_id


@scenario("supervision")
def supervision(system: System, clock: SimulatedClock) -> int:
    """Three passengers complain about one elevator within ten days: the nightly rules raise a
    supervision warning for the district regulator, who reviews it only after the five working days
    (the city regulator is told) and orders a rectification: a linked case opens and the warning closes."""
    from processes.supervision_rules import open_ordered_cases
    from processes.supervision_rules import scan as supervision_scan

    elevator_id = an_elevator(system)
    for n, text in enumerate(("门关闭时夹人", "运行时异响", "按钮失灵")):
        open_or_join(
            system.engine,
            system.settings.sla_file,
            "complaint",
            elevator_id=elevator_id,
            signal={"source": "qr", "category": "safety", "text": text, "idempotency_key": f"demo-complaint-{n}"},
        )
        clock.advance(timedelta(days=4))
    supervision_scan(system)
    case_id = open_task_case(system, elevator_id, "supervision")
    wait(system, clock, timedelta(days=8))
    complete(
        system,
        case_id,
        "review_warning",
        {"decision": "order_rectification", "reason": "投诉集中反映门系统故障", "findings": ["门保护装置失效"]},
        "regulator",
    )
    open_ordered_cases(system)  # the minutely orders job
    return case_id
