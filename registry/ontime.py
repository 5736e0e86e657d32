"""On-time maintenance per maintenance unit: the share of its due visits done by their due date,
over a window. A plan past its due date without a visit counts as a late one.

The one definition, read by level-2 dispatch (processes/roles.py), the dashboard, the API
(/maintenance/on-time) and the risk model (detectors/risk/extract.py). It lives here, below
processes/ and detectors/, so both can import it; it reads the maintenance tables by name
(lightweight Core tables, read-only) because their ORM models belong to processes.maintenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Boolean, Date, Integer, case, column, func, select, table
from sqlalchemy.orm import Session

WINDOW_DAYS = 90

_visits = table(
    "maintenance_visits",
    column("maintenance_unit_id", Integer),
    column("maintained_on", Date),
    column("on_time", Boolean),
)
_plans = table(
    "maintenance_plans",
    column("maintenance_unit_id", Integer),
    column("next_due_on", Date),
    column("active", Boolean),
)


@dataclass(frozen=True)
class OnTime:
    unit_id: int
    visits: int
    on_time: int
    overdue_plans: int

    @property
    def rate(self) -> float | None:
        """None when the unit had nothing due in the window (no evidence either way)."""
        due = self.visits + self.overdue_plans
        return round(self.on_time / due, 4) if due else None


def unit_on_time(session: Session, since: date, today: date) -> dict[int, OnTime]:
    """unit id -> its figures for visits done from `since` and plans overdue on `today` (two queries)."""
    counts: dict[int, list[int]] = {}
    for unit, visits, on_time in session.execute(
        select(
            _visits.c.maintenance_unit_id,
            func.count(),
            func.sum(case((_visits.c.on_time.is_(True), 1), else_=0)),
        )
        .where(_visits.c.maintained_on >= since)
        .group_by(_visits.c.maintenance_unit_id)
    ):
        counts[unit] = [int(visits), int(on_time or 0), 0]
    for unit, overdue in session.execute(
        select(_plans.c.maintenance_unit_id, func.count())
        .where(_plans.c.active.is_(True), _plans.c.next_due_on < today)
        .group_by(_plans.c.maintenance_unit_id)
    ):
        counts.setdefault(unit, [0, 0, 0])[2] = int(overdue)
    return {unit: OnTime(unit, *c) for unit, c in counts.items()}
