"""Write a synthetic history into the database as the cases and signals it stands for.

For the bench (the whole city with a realistic load of cases) and the round-trip test (the
features read back from the database equal the generated ones). Rows go in with bulk inserts,
bypassing the engine: these are past, closed cases whose workflow state nobody will step again.
The elevators' own facts (age, levels, IoT box) stay as seeded; maintenance and inspection dates
and the stop-use flag are set to match the generated overdue days.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from detectors.risk.features import INDEX, MAINTENANCE_CYCLE_DAYS
from detectors.risk.synthetic import SyntheticHistory
from engine.models import Case, CaseStatus, ProcessDefinition
from infra.db import UTCDateTime
from infra.settings import CITY_TZ
from processes.models import Signal
from registry.models import Elevator

# (feature in the last 90 days, feature over 365 days, case type, priority)
WINDOWED = (
    ("faults_90d", "faults_365d", "warning", "P2"),
    ("warnings_90d", "warnings_365d", "warning", "P3"),
    ("rescues_90d", "rescues_365d", "rescue", "P1"),
)


def write_history(session: Session, history: SyntheticHistory, elevator_ids: np.ndarray, now: datetime) -> int:
    """Insert cases and signals for `history` row i on elevator `elevator_ids[i]`; returns cases written."""
    if len(elevator_ids) != len(history.X):
        raise ValueError(f"{len(history.X)} histories for {len(elevator_ids)} elevators")
    definitions = _definitions(session)
    rng = np.random.Generator(np.random.PCG64(len(elevator_ids)))
    cases: list[dict[str, Any]] = []
    signals: list[dict[str, Any]] = []

    def days_ago(lo: float, hi: float) -> datetime:
        return now - timedelta(days=float(rng.uniform(lo, hi)))

    def add(case_type: str, elevator_id: int, opened: datetime, *, priority: str | None, open_: bool = False) -> None:
        key = f"{case_type}:{elevator_id}"
        cases.append({
            "number": f"HIST-{len(cases) + 1:09d}",
            "case_type": case_type,
            "definition_id": definitions[case_type],
            "elevator_id": elevator_id,
            "status": CaseStatus.OPEN if open_ else CaseStatus.CLOSED,
            "priority": priority,
            "correlation_key": key,
            "open_key": key if open_ else None,
            "opened_at": opened,
            "closed_at": None if open_ else opened + timedelta(hours=2),
            "close_reason": None if open_ else "completed",
            "milestones": {},
            "variables": {"synthetic": True},
            "state": "",
        })  # fmt: skip

    for row, elevator_id in enumerate(int(e) for e in elevator_ids):
        x = history.X[row]
        for recent, yearly, case_type, priority in WINDOWED:
            n_recent, n_year = int(x[INDEX[recent]]), int(x[INDEX[yearly]])
            for _ in range(n_recent):
                add(case_type, elevator_id, days_ago(0.01, 89.5), priority=priority)
            for _ in range(n_year - n_recent):
                add(case_type, elevator_id, days_ago(90.5, 364.5), priority=priority)
        for _ in range(int(x[INDEX["complaints_365d"]])):
            add("complaint", elevator_id, days_ago(0.01, 364.5), priority="P3")
        if x[INDEX["rectifications_365d"]]:
            still_open = bool(x[INDEX["rectification_open"]])
            add("rectification", elevator_id, days_ago(1, 300), priority=None, open_=still_open)
        for n in range(int(x[INDEX["repeat_alarms_90d"]])):
            signals.append({
                "idempotency_key": f"hist:{elevator_id}:{n}",
                "source": "iot",
                "kind": "repeat",
                "elevator_id": elevator_id,
                "payload": {"synthetic": True},
                "joined": True,
                "received_at": days_ago(0.01, 89.5),
            })  # fmt: skip
    if cases:
        session.execute(insert(Case), cases)
    if signals:
        session.execute(insert(Signal), signals)
    _elevator_facts(session, history, elevator_ids, now)
    return len(cases)


def _definitions(session: Session) -> dict[str, int]:
    rows = session.execute(select(ProcessDefinition.key, ProcessDefinition.id).order_by(ProcessDefinition.version))
    found = {key: id_ for key, id_ in rows}  # the newest version wins
    missing = {"warning", "rescue", "complaint", "rectification"} - set(found)
    if missing:
        raise LookupError(f"deploy the processes first: no definition for {', '.join(sorted(missing))}")
    return found


def _elevator_facts(session: Session, history: SyntheticHistory, elevator_ids: np.ndarray, now: datetime) -> None:
    today = now.astimezone(CITY_TZ).date()
    rows = []
    for row, elevator_id in enumerate(int(e) for e in elevator_ids):
        x = history.X[row]
        maintenance = int(x[INDEX["maintenance_overdue_days"]])
        inspection = int(x[INDEX["inspection_overdue_days"]])
        rows.append({
            "eid": elevator_id,
            # Mid-day so whole days since the visit land on MAINTENANCE_CYCLE_DAYS + overdue exactly.
            "last": now - timedelta(days=(MAINTENANCE_CYCLE_DAYS + maintenance) if maintenance else 3, hours=2),
            "due": today - timedelta(days=inspection) if inspection else today + timedelta(days=100),
            "stop": bool(x[INDEX["stop_use"]]),
        })  # fmt: skip
    statement = (
        update(Elevator)
        .where(Elevator.id == bindparam("eid"))
        .values(
            last_maintenance_at=bindparam("last", type_=UTCDateTime()),
            next_inspection_due=bindparam("due"),
            stop_use=bindparam("stop"),
        )
    )
    session.connection().execute(statement, rows)
