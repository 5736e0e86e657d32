"""The demo banner's passenger page (issue 15): a 一键救援 call there opens a fresh rescue — not a
join of one the demo activity or the simulator opened — and, once the dispatcher verifies it, the
accept order goes to `maint`, the demo's on-call technician."""

from __future__ import annotations

from sqlalchemy import select

from connectors.qr.flows import call_rescue
from demo.activity import make_activity
from demo.run import passenger_qr_code
from engine.models import CaseTask
from infra.clock import SimulatedClock
from registry.models import Elevator, User
from tests.support.system import make_system


def test_the_passenger_page_leads_to_a_fresh_rescue_for_maint(sqlite_url: str, clock: SimulatedClock) -> None:
    system = make_system(sqlite_url, clock, elevators=120)
    make_activity(system)
    code = passenger_qr_code(system)
    assert code is not None
    with system.sessions() as session:
        elevator = session.scalars(select(Elevator).where(Elevator.qr_code == code)).one()
        maint = session.scalars(select(User).where(User.username == "maint")).one()
    call = call_rescue(system, elevator.id, {"phone": "13912345678", "trapped_count": 2, "note": ""}, nonce="demo-1")
    assert not call.intake.joined
    with system.sessions() as session:
        verify = session.scalars(select(CaseTask).where(CaseTask.case_id == call.intake.case_id)).one()
    system.engine.complete_task(verify.id, {"outcome": "dispatch"}, actor="dispatcher")
    with system.sessions() as session:
        accept = session.scalars(select(CaseTask).where(CaseTask.case_id == call.intake.case_id,
                                                        CaseTask.bpmn_id == "accept_order")).one()
    assert accept.assignee_id == maint.id
    system.db.dispose()
