"""Boxes going offline and coming back, against the device-offline cases.

The telemetry connector marks silent boxes offline (connectors/mqtt, every minute) and then calls
`after_heartbeat_check`; `reconcile` compares the register's presence with the open cases,
set-based: offline boxes without a case for this outage get one (idempotency key: the box and its
last heartbeat), open cases whose box is online again get the BPMN message `device_online`. Any
process may run it: the keys and the one-open-case constraint make a second run harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from engine.models import Case, CaseStatus
from processes.device_offline import KEY
from processes.intake import IntakeItem, open_or_join_many
from processes.models import Signal
from processes.system import System
from registry.models import Device

JOB = "device_offline_reconcile"


@dataclass(frozen=True)
class Reconciled:
    opened: int
    joined: int
    back_online: int


def reconcile(system: System) -> Reconciled:
    """Open a case per box that went offline (once per outage), hand `device_online` to the open
    cases of boxes heard again. Two queries over the register and the open cases, one intake."""
    open_cases: dict[int, str] = {}
    with system.sessions() as session:
        for elevator_id, open_key in session.execute(
            select(Case.elevator_id, Case.open_key).where(Case.case_type == KEY, Case.status == CaseStatus.OPEN)
        ):
            open_cases[elevator_id] = open_key
        boxes = session.execute(
            select(Device.id, Device.elevator_id, Device.online, Device.last_seen_at).where(
                Device.elevator_id.is_not(None), Device.last_seen_at.is_not(None)
            )
        ).all()
        silent = [(d, e, seen) for d, e, online, seen in boxes if not online and e not in open_cases]
        keys = {_key(d, seen): (d, e, seen) for d, e, seen in silent}
        taken = set(session.scalars(select(Signal.idempotency_key).where(Signal.idempotency_key.in_(list(keys)))))
    back = [open_cases[e] for _, e, online, _ in boxes if online and e in open_cases]
    items = [_item(key, *box) for key, box in keys.items() if key not in taken]
    results = open_or_join_many(system.engine, system.settings.sla_file, items) if items else []
    for key in back:
        system.engine.correlate_message(key, "device_online", {"source": "heartbeat"}, actor="iot")
    joined = sum(r.joined for r in results)
    return Reconciled(len(results) - joined, joined, len(back))


def _key(device_id: str, last_seen_at: datetime) -> str:
    return f"{KEY}:{device_id}:{last_seen_at.isoformat()}"


def _item(key: str, device_id: str, elevator_id: int, last_seen_at: datetime) -> IntakeItem:
    signal = {
        "source": "heartbeat",
        "kind": KEY,
        "device_id": device_id,
        "last_seen_at": last_seen_at.isoformat(),
        "idempotency_key": key,
    }
    return IntakeItem(KEY, elevator_id, signal, "iot")


def reconcile_job(system: System) -> dict[str, int]:
    result = reconcile(system)
    return {"opened": result.opened, "joined": result.joined, "back_online": result.back_online}


def after_heartbeat_check(system: System) -> None:
    """The telemetry connector's heartbeat check is done: compare presence and cases on a worker."""
    system.jobs.enqueue(JOB)
