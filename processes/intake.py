"""From a signal to a case: open a new one, or join the elevator's open case of that type.

`open_or_join_many` takes a burst of signals (a city-wide power cut through the MQTT ingest) in
one transaction: the elevators are read with one query, the new cases are written with one bulk
insert per table, joins and idempotency records likewise. Each signal still gets its own answer:
a new case, a join of the open case (also one opened earlier in the same burst), or a duplicate of
a signal already taken (same idempotency key). `open_or_join` is the one-signal form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.models import EventKind
from engine.runner import CaseEngine
from engine.starts import AlreadyOpen, CaseStart, StartBatch
from engine.steps import OpenedTask
from processes.case_type import StartContext
from processes.catalogue import CASE_TYPES
from processes.models import Signal
from processes.sla import load_sla
from registry.equipment.models import Equipment
from registry.models import District, Elevator


@dataclass(frozen=True)
class IntakeResult:
    case_id: int
    number: str | None
    joined: bool
    duplicate: bool = False
    # A case this signal opened: the task rows its start opened, all the case's open tasks (None
    # for a join or a repeat: what is open there is the database's to say).
    opened: tuple[OpenedTask, ...] | None = None


@dataclass(frozen=True)
class IntakeItem:
    """One signal of a burst: which case type it asks for, for which elevator."""

    case_type: str
    elevator_id: int | None
    signal: dict[str, Any] = field(default_factory=dict)
    actor: str = "system"
    equipment_id: int | None = None  # a case about other special equipment (elevator_id None)


def open_or_join(
    engine: CaseEngine,
    sla_path: Any,
    case_type: str,
    *,
    elevator_id: int | None,
    signal: dict[str, Any],
    actor: str = "system",
    equipment_id: int | None = None,
) -> IntakeResult:
    return open_or_join_many(engine, sla_path, [IntakeItem(case_type, elevator_id, signal, actor, equipment_id)])[0]


def open_or_join_many(engine: CaseEngine, sla_path: Any, items: Sequence[IntakeItem]) -> list[IntakeResult]:
    """Every item's result, in order, all committed together (a failure rolls the burst back and
    raises; nothing half-done stays). Unknown case types raise KeyError before anything is read."""
    for item in items:
        if item.case_type not in CASE_TYPES:
            raise KeyError(f"unknown case type {item.case_type!r}")
    sla = load_sla(sla_path)
    return engine.run_batch(lambda batch: _intake(batch, sla, items))


def _intake(batch: StartBatch, sla: dict[str, Any], items: Sequence[IntakeItem]) -> list[IntakeResult]:
    session, now = batch.session, batch.engine.clock.now()
    results: list[IntakeResult | None] = [None] * len(items)
    keys = [item.signal.get("idempotency_key") or None for item in items]
    seen: dict[str, tuple[int, bool]] = {}  # signals taken before that reached a case
    wanted = sorted({k for k in keys if k})
    if wanted:
        stmt = select(Signal.idempotency_key, Signal.case_id, Signal.joined).where(Signal.idempotency_key.in_(wanted))
        seen = {k: (case_id, joined) for k, case_id, joined in session.execute(stmt) if case_id is not None}
    todo: list[int] = []
    first_of_key: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key and key in seen:
            case_id, joined = seen[key]
            results[i] = IntakeResult(case_id, None, joined=joined, duplicate=True)
        elif key and key in first_of_key:
            continue  # the same signal twice in one burst: answered like its first copy, below
        else:
            if key:
                first_of_key[key] = i
            todo.append(i)

    elevators = _elevators(session, {items[i].elevator_id for i in todo if items[i].elevator_id})
    equipment = _equipment(session, {items[i].equipment_id for i in todo if items[i].equipment_id})
    starts = [_case_start(items[i], elevators, equipment, sla, now) for i in todo]
    joins: list[tuple[int, EventKind, dict[str, Any], str]] = []
    for i, outcome in zip(todo, batch.start(starts), strict=True):
        if isinstance(outcome, AlreadyOpen):
            assert outcome.case_id is not None  # a batch's AlreadyOpen names the open case
            signal = items[i].signal
            payload = {"source": signal.get("source"), "kind": signal.get("kind"), "signal": signal}
            joins.append((outcome.case_id, EventKind.SIGNAL_JOINED, payload, items[i].actor))
            results[i] = IntakeResult(outcome.case_id, None, joined=True)
        else:
            opened = tuple(batch.opened.get(outcome.id, ()))
            results[i] = IntakeResult(outcome.id, outcome.number, joined=False, opened=opened)
    if joins:
        batch.record(joins)
    for i, key in enumerate(keys):
        if results[i] is None and key:
            first = results[first_of_key[key]]
            assert first is not None  # the first copy of a key was started above
            results[i] = IntakeResult(first.case_id, None, joined=first.joined, duplicate=True)
    _remember(session, items, keys, results, first_of_key, now)
    answered = [r for r in results if r is not None]
    assert len(answered) == len(items), "every signal has its answer"
    return answered


def _case_start(
    item: IntakeItem,
    elevators: dict[int, tuple[Elevator, District | None]],
    equipment: dict[int, tuple[Equipment, District | None]],
    sla: dict[str, Any],
    now: datetime,
) -> CaseStart:
    """What the engine needs to open the item's case: the case type's variables from the facts of
    its elevator (or of its other equipment)."""
    ct = CASE_TYPES[item.case_type]
    elevator, district = elevators.get(item.elevator_id, (None, None)) if item.elevator_id else (None, None)
    other, other_district = equipment.get(item.equipment_id, (None, None)) if item.equipment_id else (None, None)
    ctx = StartContext(elevator, district or other_district, item.signal, sla, other)
    subject = elevator or other
    return CaseStart(
        process_key=ct.process_key,
        case_type=item.case_type,
        variables={**ct.variables(ctx), "reported_at": now.isoformat(), "case_type": item.case_type},
        elevator_id=item.elevator_id,
        equipment_id=item.equipment_id,
        district_code=subject.district_code if subject else item.signal.get("district_code"),
        priority=ct.priority(ctx),
        correlation_key=ct.correlation_key(item.elevator_id, item.signal, item.equipment_id),
        actor=item.actor,
    )


# Built once: every signal runs one (building and keying it cost about a tenth of a start's CPU).
_ELEVATORS = (
    select(Elevator, District)
    .outerjoin(District, District.code == Elevator.district_code)
    .where(Elevator.id.in_(bindparam("ids", expanding=True)))
)
_EQUIPMENT = (
    select(Equipment, District)
    .outerjoin(District, District.code == Equipment.district_code)
    .where(Equipment.id.in_(bindparam("ids", expanding=True)))
)


def _elevators(session: Session, ids: set[int | None]) -> dict[int, tuple[Elevator, District | None]]:
    if not ids:
        return {}
    return {e.id: (e, d) for e, d in session.execute(_ELEVATORS, {"ids": list(ids)})}


def _equipment(session: Session, ids: set[int | None]) -> dict[int, tuple[Equipment, District | None]]:
    if not ids:
        return {}
    return {q.id: (q, d) for q, d in session.execute(_EQUIPMENT, {"ids": list(ids)})}


def _remember(
    session: Session,
    items: Sequence[IntakeItem],
    keys: list[str | None],
    results: list[IntakeResult | None],
    first_of_key: dict[str, int],
    now: Any,
) -> None:
    """One idempotency record per new key; a concurrent duplicate that recorded it first wins."""
    rows = []
    for key, i in first_of_key.items():
        result, signal = results[i], items[i].signal
        assert result is not None
        rows.append(
            {
                "idempotency_key": key,
                "source": str(signal.get("source", "")),
                "kind": str(signal.get("kind", "")),
                "elevator_id": items[i].elevator_id,
                "payload": signal,
                "case_id": result.case_id,
                "joined": result.joined,
                "received_at": now,
            }
        )
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(Signal).on_conflict_do_nothing(index_elements=["idempotency_key"])
    session.execute(stmt, rows)


@dataclass(frozen=True)
class ScanResult:
    """What a scan that opens cases in batches did (the expiry and supervision scans)."""

    opened: int
    joined: int
    skipped: int
    dry_run: bool
    closed: int = 0  # open cases whose cause ended meanwhile (handed over, then closed)

    def line(self) -> str:
        return f"opened={self.opened} joined={self.joined} skipped={self.skipped} dry_run={self.dry_run}"
