"""Some live activity for `liftcase demo`: open cases a visitor can look at right away."""

from __future__ import annotations

from sqlalchemy import select

from demo.scenarios import complete
from processes.catalogue import CASE_TYPES
from processes.intake import open_or_join
from processes.system import System
from registry.models import Elevator

DEMO_SIGNALS = {
    "rescue": {"source": "iot", "kind": "trapped", "trapped_count": 1},
    "warning": {"source": "iot", "kind": "door_lock_fault", "warning_type": "door_lock_fault", "recent_count": 1},
    "complaint": {"source": "qr", "category": "hygiene", "text": "轿厢内有广告遮挡安全提示"},
}


def make_activity(system: System) -> dict[str, int]:
    with system.sessions() as session:
        elevators = session.scalars(
            select(Elevator.id).where(Elevator.device_id.is_not(None)).order_by(Elevator.id).limit(12)
        ).all()
    opened: dict[str, int] = {}
    for index, elevator_id in enumerate(elevators):
        case_type = list(DEMO_SIGNALS)[index % len(DEMO_SIGNALS)]
        if case_type not in CASE_TYPES:
            continue
        result = open_or_join(
            system.engine, system.sla, case_type, elevator_id=elevator_id, signal=DEMO_SIGNALS[case_type]
        )
        opened[case_type] = opened.get(case_type, 0) + 1
        if case_type == "rescue" and index % 2 == 0:
            complete(system, result.case_id, "verify_dispatch", {"outcome": "dispatch"}, "dispatcher")
    return opened
