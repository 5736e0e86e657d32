"""The context shown on every task and inbox card: the elevator's (or other equipment's) facts and
district from the register, what the signal brought, and what the dispatcher and the technician
added in their forms, the technician's ETA turned into a time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from demo.scenarios import complete
from engine.models import Case, CaseTask, TaskStatus
from infra.clock import SimulatedClock
from processes.case_context import case_contexts
from processes.intake import open_or_join
from processes.system import System
from registry.equipment.models import Equipment
from registry.models import District, Elevator


def test_a_rescue_context_is_the_register_the_signal_and_the_forms(system: System, clock: SimulatedClock) -> None:
    with system.sessions() as session:
        elevator = session.scalars(select(Elevator).order_by(Elevator.id)).first()
        assert elevator is not None
        district = session.get(District, elevator.district_code)
        assert district is not None
    signal = {"source": "qr", "trapped_count": 1}
    case_id = open_or_join(
        system.engine, system.settings.sla_file, "rescue", elevator_id=elevator.id, signal=signal
    ).case_id
    verify = {"outcome": "dispatch", "trapped_count": 2, "injured": True, "note": "老人被困，情绪稳定"}
    complete(system, case_id, "verify_dispatch", verify, actor="dispatcher")
    clock.advance(timedelta(minutes=3))
    accept = {"eta_minutes": 15, "technician": "王师傅", "phone": "13900000000"}
    complete(system, case_id, "accept_order", accept, actor="technician")
    with system.sessions() as session:
        case = session.get(Case, case_id)
        assert case is not None
        accepted_at = session.scalar(
            select(CaseTask.completed_at).where(
                CaseTask.case_id == case_id, CaseTask.bpmn_id == "accept_order", CaseTask.status == TaskStatus.COMPLETED
            )
        )
        assert accepted_at is not None
        context = case_contexts(session, [case])[case_id]
    assert context == {
        "elevator_id": elevator.id,
        "register_code": elevator.register_code,
        "address": elevator.address,
        "lat": elevator.lat,
        "lon": elevator.lon,
        "district_code": elevator.district_code,
        "district": district.name,
        "source": "qr",
        "trapped_count": 2,  # the dispatcher's count replaces the caller's guess
        "injured": True,
        "dispatcher_note": "老人被困，情绪稳定",
        "technician": "王师傅",
        "technician_phone": "13900000000",
        "eta_minutes": 15,
        "eta_at": (accepted_at + timedelta(minutes=15)).isoformat(),
        "opened_at": case.opened_at.isoformat(),
    }


def test_an_equipment_case_shows_the_pieces_class_and_name(system: System, clock: SimulatedClock) -> None:
    with system.sessions() as session:
        piece = session.scalars(select(Equipment).order_by(Equipment.id)).first()
        assert piece is not None, "the demo city registers other special equipment"
        case = Case(
            id=10**6,
            equipment_id=piece.id,
            district_code=None,
            variables={"source": "inspection"},
            opened_at=clock.now(),
        )
        context = case_contexts(session, [case])[case.id]
    assert context == {
        "equipment_id": piece.id,
        "equipment_class": piece.equipment_class,
        "equipment_name": piece.name,
        "register_code": piece.register_code,
        "address": piece.address,
        "lat": piece.lat,
        "lon": piece.lon,
        "source": "inspection",
        "opened_at": clock.now().isoformat(),
    }
