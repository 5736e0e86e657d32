"""From a signal to a case: open a new one, or join the elevator's open case of that type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.models import EventKind
from engine.runner import AlreadyOpen, CaseEngine, CaseStart
from liftcase.registry.models import District, Elevator
from processes.catalogue import CASE_TYPES, StartContext
from processes.models import Signal
from processes.sla import load_sla


@dataclass(frozen=True)
class IntakeResult:
    case_id: int
    number: str | None
    joined: bool
    duplicate: bool = False


def open_or_join(
    engine: CaseEngine,
    sla_path: Any,
    case_type: str,
    *,
    elevator_id: int | None,
    signal: dict[str, Any],
    actor: str = "system",
) -> IntakeResult:
    ct = CASE_TYPES[case_type]
    now = engine.clock.now()
    idem = signal.get("idempotency_key")
    with engine.sessions() as session:
        if idem:
            seen = session.scalar(select(Signal).where(Signal.idempotency_key == idem))
            if seen is not None and seen.case_id is not None:
                return IntakeResult(seen.case_id, None, joined=seen.joined, duplicate=True)
        elevator = session.get(Elevator, elevator_id) if elevator_id else None
        district = session.get(District, elevator.district_code) if elevator else None
        ctx = StartContext(elevator, district, signal, load_sla(sla_path))
        variables = {**ct.variables(ctx), "reported_at": now.isoformat(), "case_type": case_type}
        priority = ct.priority(ctx)
    key = ct.correlation_key(elevator_id, signal)
    start = CaseStart(
        process_key=ct.process_key,
        case_type=case_type,
        variables=variables,
        elevator_id=elevator_id,
        district_code=elevator.district_code if elevator else signal.get("district_code"),
        priority=priority,
        correlation_key=key,
        actor=actor,
    )
    try:
        case = engine.start_case(start)
        result = IntakeResult(case.id, case.number, joined=False)
    except AlreadyOpen as err:
        if err.case_id is None:  # closed between our insert and the lookup: try once more
            case = engine.start_case(start)
            result = IntakeResult(case.id, case.number, joined=False)
        else:
            engine.record(
                err.case_id,
                EventKind.SIGNAL_JOINED,
                {"source": signal.get("source"), "kind": signal.get("kind"), "signal": signal},
                actor=actor,
            )
            result = IntakeResult(err.case_id, None, joined=True)
    if idem:
        _remember(engine, idem, signal, elevator_id, result)
    return result


def _remember(
    engine: CaseEngine, idem: str, signal: dict[str, Any], elevator_id: int | None, result: IntakeResult
) -> None:
    with engine.sessions() as session, session.begin():
        try:
            with session.begin_nested():
                session.add(
                    Signal(
                        idempotency_key=idem,
                        source=str(signal.get("source", "")),
                        kind=str(signal.get("kind", "")),
                        elevator_id=elevator_id,
                        payload=signal,
                        case_id=result.case_id,
                        joined=result.joined,
                        received_at=engine.clock.now(),
                    )
                )
        except IntegrityError:
            pass  # a concurrent duplicate recorded it first
