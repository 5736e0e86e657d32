"""IoT findings -> cases: a raised fault opens a warning (or rescue) case or joins the open one; a
cleared fault is correlated into the open warning case as the BPMN message `fault_recovered`.

The ingest hands findings over as the job `telemetry_signals` (rq workers when deployed, in-process
when embedded). Every finding carries an idempotency key, so redelivery after a crash changes nothing.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from infra.jobs import JobQueue
from processes.catalogue import CASE_TYPES
from processes.intake import IntakeItem, open_or_join_many
from processes.models import Signal
from processes.sla import load_sla
from processes.system import System

log = logging.getLogger(__name__)
JOB = "telemetry_signals"
CHUNK = 200  # signals per rq job: a burst is started in few, large intake transactions


class RaiseNotYetApplied(Exception):
    """A clearance arrived before its raise was applied (two workers); rq retries the job later."""


def opens_rescue(signal: dict[str, Any]) -> bool:
    """A raised finding that opens or joins a P1 rescue (trapped, power cut with someone inside)."""
    return signal.get("case_type") == "rescue" and signal.get("change") != "cleared"


def urgent(signals: list[dict[str, Any]]) -> bool:
    """A batch with a rescue in it is taken before every other job (the queue `cases-p1`)."""
    return any(opens_rescue(s) for s in signals)


def hand_over(jobs: JobQueue, signals: list[dict[str, Any]], chunk: int = CHUNK) -> None:
    """Queue findings in chunks so several workers share a burst; rescues in chunks of their own,
    first, so a burst of warnings never rides on the urgent queue. A device's raise and clear can
    land in different chunks; the clear waits for its raise (see `RaiseNotYetApplied`)."""
    rescues = [s for s in signals if opens_rescue(s)]
    others = [s for s in signals if not opens_rescue(s)] if rescues else signals
    for part in (rescues, others):
        for i in range(0, len(part), chunk):
            jobs.enqueue(JOB, part[i : i + chunk])


def telemetry_signals(system: System, signals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The job the ingest hands findings over as."""
    return apply_signals(system, signals)


def apply_signals(system: System, signals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Raised faults in one intake transaction (a burst stays one round of writes), then clearances."""
    out: list[dict[str, Any]] = [{"ignored": "no elevator"}] * len(signals)
    raised = [i for i, s in enumerate(signals) if s.get("elevator_id") is not None and s.get("change") != "cleared"]
    if raised:
        recent = _recent_warnings(system, {signals[i]["elevator_id"] for i in raised})
        items = []
        for i in raised:
            signal = signals[i]
            case_type = "rescue" if signal.get("case_type") == "rescue" else "warning"
            if case_type == "warning":
                signal = {**signal, "recent_count": recent.get(signal["elevator_id"], 0) + 1}
            items.append(IntakeItem(case_type, signal["elevator_id"], signal, "iot"))
        results = open_or_join_many(system.engine, system.sla, items)
        for i, result in zip(raised, results, strict=True):
            out[i] = {"case_id": result.case_id, "joined": result.joined, "duplicate": result.duplicate}
    for i, signal in enumerate(signals):
        if signal.get("elevator_id") is not None and signal.get("change") == "cleared":
            out[i] = _cleared(system, signal["elevator_id"], signal)
        elif signal.get("elevator_id") is None:
            log.warning("finding from device %s without an elevator", signal.get("device_id"))
    return out


def _recent_warnings(system: System, elevator_ids: set[int]) -> dict[int, int]:
    """Warnings per elevator in the repeat window (DESIGN: 3+ in 7 days -> district regulator)."""
    days = int(load_sla(system.sla)["warning"]["repeat_window_days"])
    since = system.clock.now() - timedelta(days=days)
    with system.sessions() as session:
        rows = session.execute(
            select(Signal.elevator_id, func.count())
            .where(Signal.elevator_id.in_(elevator_ids), Signal.kind == "warning", Signal.received_at >= since)
            .group_by(Signal.elevator_id)
        )
        return {elevator_id: int(n) for elevator_id, n in rows}


def _cleared(system: System, elevator_id: int, signal: dict[str, Any]) -> dict[str, Any]:
    key = signal["idempotency_key"]
    raised_key = key.removesuffix(":cleared")
    with system.sessions() as session:
        if session.scalar(select(Signal.id).where(Signal.idempotency_key == key)) is not None:
            return {"duplicate": True}
        raised = session.scalar(select(Signal).where(Signal.idempotency_key == raised_key))
    if raised is None:
        raise RaiseNotYetApplied(raised_key)
    case_id = None
    if signal.get("case_type") != "rescue":  # a rescue is closed by people, not by the box
        correlation = CASE_TYPES["warning"].correlation_key(elevator_id, signal)
        payload = {k: signal.get(k) for k in ("warning_type", "device_id", "ts", "seq", "idempotency_key")}
        case = system.engine.correlate_message(correlation or "", "fault_recovered", payload, actor="iot")
        case_id = case.id if case is not None else None
    with system.sessions() as session, session.begin():
        try:
            with session.begin_nested():
                session.add(
                    Signal(
                        idempotency_key=key,
                        source="iot",
                        kind="fault_recovered",
                        elevator_id=elevator_id,
                        payload=signal,
                        case_id=case_id,
                        joined=True,
                        received_at=system.clock.now(),
                    )
                )
        except IntegrityError:
            return {"duplicate": True}
    return {"case_id": case_id, "recovered": True}
