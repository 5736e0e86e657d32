"""The risk features of every elevator from the live database, in three grouped queries.

One query reads the elevators' own facts (age, levels, box, maintenance and inspection dates,
stop-use), one aggregates cases per elevator over the last 365 days with conditional sums, one
counts repeat signals (joined into an already open case) over the last 90 days. Nothing runs
per elevator, so the cost grows with the rows read, not with round trips.

Readings of the history (the same definitions the generating process uses):
- fault = a warning case with priority P2 (sla.toml's safety-critical types); warning = the rest;
- rescue = a rescue case not closed as a false alarm (self-escape still counts: someone was trapped);
- an elevator without a maintenance record or an inspection date counts 0 overdue days (no evidence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from detectors.risk.features import INDEX, MAINTENANCE_CYCLE_DAYS, empty
from engine.models import Case, CaseStatus
from liftcase.registry.models import Elevator
from processes.models import Signal

CITY_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class FeatureFrame:
    elevator_ids: np.ndarray  # (n,) int64, ascending
    X: np.ndarray  # (n, features) float32


def extract_features(session: Session, now: datetime) -> FeatureFrame:
    today = now.astimezone(CITY_TZ).date()  # ages and inspection dates are local calendar dates
    elevators = session.execute(
        select(
            Elevator.id,
            Elevator.installed_on,
            Elevator.floors,
            Elevator.device_id,
            Elevator.last_maintenance_at,
            Elevator.next_inspection_due,
            Elevator.stop_use,
        ).order_by(Elevator.id)
    ).all()
    ids = np.fromiter((e.id for e in elevators), dtype=np.int64, count=len(elevators))
    X = empty(len(elevators))
    for row, e in enumerate(elevators):
        X[row, INDEX["age_years"]] = (today - e.installed_on).days / 365.25 if e.installed_on else 0.0
        X[row, INDEX["floors"]] = e.floors or 0
        X[row, INDEX["has_iot"]] = e.device_id is not None
        if e.last_maintenance_at is not None:
            since = (now - e.last_maintenance_at).total_seconds() // 86400
            X[row, INDEX["maintenance_overdue_days"]] = max(0.0, since - MAINTENANCE_CYCLE_DAYS)
        if e.next_inspection_due is not None:
            X[row, INDEX["inspection_overdue_days"]] = max(0, (today - e.next_inspection_due).days)
        X[row, INDEX["stop_use"]] = bool(e.stop_use)
    position = {int(i): row for row, i in enumerate(ids)}

    for elevator_id, values in _case_counts(session, now):
        row = position.get(elevator_id)
        if row is not None:
            for name, value in values.items():
                X[row, INDEX[name]] = value or 0
    for elevator_id, repeats in _repeat_signals(session, now):
        row = position.get(elevator_id)
        if row is not None:
            X[row, INDEX["repeat_alarms_90d"]] = repeats
    return FeatureFrame(ids, X)


def _case_counts(session: Session, now: datetime) -> list[tuple[int, dict[str, int]]]:
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
    rows = session.execute(
        select(Case.elevator_id, *(c.label(n) for n, c in columns.items()))  # type: ignore[attr-defined]
        .where(
            Case.elevator_id.is_not(None),
            Case.opened_at <= now,
            or_(Case.opened_at >= since_365, and_(rectification, Case.status == CaseStatus.OPEN)),
        )
        .group_by(Case.elevator_id)
    ).all()
    return [(r.elevator_id, {n: int(getattr(r, n) or 0) for n in columns}) for r in rows]


def _repeat_signals(session: Session, now: datetime) -> list[tuple[int, int]]:
    rows = session.execute(
        select(Signal.elevator_id, func.count())
        .where(
            Signal.elevator_id.is_not(None),
            Signal.joined.is_(True),
            Signal.received_at >= now - timedelta(days=90),
            Signal.received_at <= now,
        )
        .group_by(Signal.elevator_id)
    ).all()
    return [(int(elevator_id), int(n)) for elevator_id, n in rows]
