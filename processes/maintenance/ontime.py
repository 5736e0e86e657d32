"""On-time maintenance per maintenance unit: the share of its due visits done by their due date,
over a window. A plan past its due date without a visit counts as a late one. It ranks units for
level-2 dispatch (processes/roles.py) and is the risk model's per-unit figure (API: /maintenance/on-time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from processes.maintenance.models import MaintenancePlan, MaintenanceVisit

WINDOW_DAYS = 90


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
            MaintenanceVisit.maintenance_unit_id,
            func.count(),
            func.sum(case((MaintenanceVisit.on_time.is_(True), 1), else_=0)),
        )
        .where(MaintenanceVisit.maintained_on >= since)
        .group_by(MaintenanceVisit.maintenance_unit_id)
    ):
        counts[unit] = [int(visits), int(on_time or 0), 0]
    for unit, overdue in session.execute(
        select(MaintenancePlan.maintenance_unit_id, func.count())
        .where(MaintenancePlan.active.is_(True), MaintenancePlan.next_due_on < today)
        .group_by(MaintenancePlan.maintenance_unit_id)
    ):
        counts.setdefault(unit, [0, 0, 0])[2] = int(overdue)
    return {unit: OnTime(unit, *c) for unit, c in counts.items()}
