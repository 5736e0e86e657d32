"""A synthetic month of cases for the report benchmark and tests: rows bulk-inserted directly
(not through the engine), with the milestone times a report reads. Deterministic per seed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from engine.models import Case, ProcessDefinition
from infra.settings import CITY_TZ
from registry.models import Elevator

TYPE_SHARE = (("rescue", 0.40), ("warning", 0.45), ("complaint", 0.05), ("expiry", 0.07), ("rectification", 0.03))
STEPS = {
    "response": "verify_dispatch",
    "accept": "accept_order",
    "arrival": "report_arrival",
    "rescue": "report_release",
}
PREFIX = {"rescue": "JY", "warning": "YJ", "complaint": "TS", "expiry": "DQ", "rectification": "ZG"}


@dataclass(frozen=True)
class SampleCase:
    number: str
    case_type: str
    elevator_id: int
    district_code: str
    maintenance_unit_id: int
    opened_at: datetime
    minutes: dict[str, float]  # response / accept / arrival / rescue minutes after opening, when reached
    escalation_level: int
    status: str


def _rescue_minutes(rng: random.Random) -> tuple[dict[str, float], int, str]:
    dispatch = round(rng.uniform(0.5, 4), 2)
    accept = round(dispatch + rng.expovariate(1 / 3.5), 2)
    level = 3 if accept > 10 else 2 if accept > 5 else 1
    if rng.random() < 0.08:  # false alarm: closed at verification, never dispatched further
        return {"response": dispatch}, 1, "closed"
    arrival = round(accept + rng.lognormvariate(2.6, 0.45), 2)
    release = round(arrival + rng.uniform(2, 25), 2)
    status = "open" if rng.random() < 0.03 else "closed"
    return {"response": dispatch, "accept": accept, "arrival": arrival, "rescue": release}, level, status


def insert_month(session: Session, *, cases: int, start: date, end: date, seed: int = 7) -> list[SampleCase]:
    """Insert `cases` cases opened in [start, end) (local dates) on random elevators. The caller commits."""
    rng = random.Random(seed)
    lifts = session.execute(select(Elevator.id, Elevator.district_code, Elevator.maintenance_unit_id)).all()
    definitions = dict(
        session.execute(select(ProcessDefinition.key, ProcessDefinition.id).order_by(ProcessDefinition.version)).all()
    )
    fallback = next(iter(definitions.values()))
    lo = datetime.combine(start, time(0), tzinfo=CITY_TZ).astimezone(UTC)
    span = (datetime.combine(end, time(0), tzinfo=CITY_TZ).astimezone(UTC) - lo).total_seconds()
    kinds, weights = zip(*TYPE_SHARE, strict=True)
    made: list[SampleCase] = []
    rows: list[dict[str, Any]] = []
    for i in range(cases):
        kind = rng.choices(kinds, weights)[0]
        lift_id, district, unit = rng.choice(lifts)
        opened = lo + timedelta(seconds=int(rng.uniform(0, span - 7200)))
        minutes: dict[str, float] = {}
        level, status = 1, "closed" if rng.random() < 0.85 else "open"
        if kind == "rescue":
            minutes, level, status = _rescue_minutes(rng)
        milestones = {STEPS[k]: (opened + timedelta(minutes=m)).isoformat() for k, m in minutes.items()}
        number = f"{PREFIX[kind]}-S{start:%Y%m}-{i + 1:05d}"
        rows.append(
            {
                "number": number,
                "case_type": kind,
                "definition_id": definitions.get(kind, fallback),
                "elevator_id": lift_id,
                "district_code": district,
                "status": status,
                "priority": "P1" if kind == "rescue" else "P3",
                "correlation_key": None,
                "open_key": None,
                "escalation_level": level,
                "opened_at": opened,
                "closed_at": opened + timedelta(hours=3) if status == "closed" else None,
                "close_reason": "completed" if status == "closed" else None,
                "milestones": milestones,
                "variables": {},
                "state": "",
                "version": 1,
                "timeline_seq": 0,
                "timeline_head": "",
            }
        )
        made.append(SampleCase(number, kind, lift_id, district, unit, opened, minutes, level, status))
    for i in range(0, len(rows), 1000):
        session.execute(insert(Case), rows[i : i + 1000])
    return made
