"""The risk features of every elevator from the live database, in five grouped queries.

One query reads the elevators' own facts (age, levels, box, maintenance and inspection dates,
stop-use), one aggregates cases per elevator over the last 365 days with conditional sums, one
counts repeat signals (joined into an already open case) over the last 90 days. Nothing runs
per elevator, so the cost grows with the rows read, not with round trips. The maintenance
unit's on-time rate comes from registry/ontime.py (two grouped queries, the same figure that
ranks units for dispatch) and is copied to each of the unit's elevators.

Readings of the history (the same definitions the generating process uses):
- fault = a warning case with priority P2 (sla.toml's safety-critical types); warning = the rest;
- rescue = a rescue case not closed as a false alarm (self-escape still counts: someone was trapped);
- an elevator without a maintenance record or an inspection date counts 0 overdue days (no evidence);
- a unit with nothing due in 90 days gets `ON_TIME_NEUTRAL` (0.89, the training median: no evidence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from detectors.risk.features import INDEX, MAINTENANCE_CYCLE_DAYS, ON_TIME_NEUTRAL, empty
from engine.models import Case, CaseStatus
from infra.settings import CITY_TZ
from processes.models import Signal
from registry.models import Elevator
from registry.ontime import WINDOW_DAYS, unit_on_time


@dataclass(frozen=True)
class FeatureFrame:
    elevator_ids: np.ndarray  # (n,) int64, ascending
    X: np.ndarray  # (n, features) float32


def extract_features(session: Session, now: datetime) -> FeatureFrame:
    today = now.astimezone(CITY_TZ).date()  # ages and inspection dates are local calendar dates
    connection = session.connection()  # Core rows: no ORM bookkeeping for 14,188 tuples
    elevators = connection.execute(
        select(
            Elevator.id,
            Elevator.installed_on,
            Elevator.floors,
            Elevator.device_id,
            Elevator.last_maintenance_at,
            Elevator.next_inspection_due,
            Elevator.stop_use,
            Elevator.maintenance_unit_id,
        ).order_by(Elevator.id)
    ).all()
    X = empty(len(elevators))
    if not elevators:
        return FeatureFrame(np.zeros(0, dtype=np.int64), X)
    ids, installed, floors, devices, maintained, due, stopped, units = zip(*elevators, strict=True)
    ids_array = np.asarray(ids, dtype=np.int64)
    X[:, INDEX["age_years"]] = [max(0, (today - d).days) / 365.25 if d else 0.0 for d in installed]
    X[:, INDEX["floors"]] = [f or 0 for f in floors]
    X[:, INDEX["has_iot"]] = [d is not None for d in devices]
    X[:, INDEX["maintenance_overdue_days"]] = [
        max(0.0, (now - m).total_seconds() // 86400 - MAINTENANCE_CYCLE_DAYS) if m else 0.0 for m in maintained
    ]
    X[:, INDEX["inspection_overdue_days"]] = [max(0, (today - d).days) if d else 0 for d in due]
    X[:, INDEX["stop_use"]] = [bool(s) for s in stopped]
    on_time = unit_on_time(session, today - timedelta(days=WINDOW_DAYS), today)
    rates = {unit: figures.rate for unit, figures in on_time.items()}
    X[:, INDEX["unit_on_time_90d"]] = [
        rate if (rate := rates.get(unit)) is not None else ON_TIME_NEUTRAL for unit in units
    ]

    names, counts = _case_counts(session, now)
    _scatter(X, ids_array, counts, [INDEX[n] for n in names])
    _scatter(X, ids_array, _repeat_signals(session, now), [INDEX["repeat_alarms_90d"]])
    return FeatureFrame(ids_array, X)


def _scatter(X: np.ndarray, ids: np.ndarray, rows: np.ndarray, columns: list[int]) -> None:
    """Put grouped rows (elevator_id, value...) into X at their elevators' rows (ids ascending)."""
    if len(rows) == 0:
        return
    position = np.searchsorted(ids, rows[:, 0])
    known = (position < len(ids)) & (ids[np.minimum(position, len(ids) - 1)] == rows[:, 0])
    X[np.ix_(position[known], columns)] = rows[known, 1:]


def _case_counts(session: Session, now: datetime) -> tuple[list[str], np.ndarray]:
    since_90, since_365 = now - timedelta(days=90), now - timedelta(days=365)
    recent = Case.opened_at >= since_90
    fault = and_(Case.case_type == "warning", Case.priority == "P2")
    warning = and_(Case.case_type == "warning", or_(Case.priority.is_(None), Case.priority != "P2"))
    rescue = and_(Case.case_type == "rescue", func.coalesce(Case.close_reason, "") != "false_alarm")
    rectification = Case.case_type == "rectification"

    def count(*conditions: object) -> object:
        return func.sum(case((and_(*conditions), 1), else_=0))  # type: ignore[arg-type]

    columns = {
        "faults_90d": count(fault, recent),
        "faults_365d": count(fault),
        "warnings_90d": count(warning, recent),
        "warnings_365d": count(warning),
        "rescues_90d": count(rescue, recent),
        "rescues_365d": count(rescue),
        "complaints_365d": count(Case.case_type == "complaint"),
        "rectifications_365d": count(rectification),
        "rectification_open": func.max(case((and_(rectification, Case.status == CaseStatus.OPEN), 1), else_=0)),
    }
    # Counts are over the last 365 days; an open rectification counts however old it is,
    # so it is also summed into rectifications_365d (it is a nonconformity not yet closed).
    rows = session.connection().execute(
        select(Case.elevator_id, *(c.label(n) for n, c in columns.items()))  # type: ignore[attr-defined]
        .where(
            Case.elevator_id.is_not(None),
            Case.opened_at <= now,
            or_(Case.opened_at >= since_365, and_(rectification, Case.status == CaseStatus.OPEN)),
        )
        .group_by(Case.elevator_id)
    ).all()
    return list(columns), np.asarray([[v or 0 for v in r] for r in rows], dtype=np.int64).reshape(-1, len(columns) + 1)


def _repeat_signals(session: Session, now: datetime) -> np.ndarray:
    rows = session.connection().execute(
        select(Signal.elevator_id, func.count())
        .where(
            Signal.elevator_id.is_not(None),
            Signal.joined.is_(True),
            Signal.received_at >= now - timedelta(days=90),
            Signal.received_at <= now,
        )
        .group_by(Signal.elevator_id)
    ).all()
    return np.asarray([tuple(r) for r in rows], dtype=np.int64).reshape(-1, 2)
