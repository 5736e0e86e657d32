"""ElevatorRisk reads and writes (no side effects beyond the rows; the caller commits)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from detectors.models import ElevatorRisk
from liftcase.registry.models import Elevator

UPDATED = ("score", "level", "factors", "model_version", "scored_at", "run_id")


def next_run_id(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(ElevatorRisk.run_id), 0))) or 0) + 1


def upsert_scores(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert or replace one row per elevator in a single executemany statement."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:
        raise NotImplementedError(f"risk upsert on {dialect}")
    statement = insert(ElevatorRisk)
    statement = statement.on_conflict_do_update(
        index_elements=[ElevatorRisk.elevator_id], set_={c: statement.excluded[c] for c in UPDATED}
    )
    session.execute(statement, list(rows))
    return len(rows)


def risk_of(session: Session, elevator_id: int) -> ElevatorRisk | None:
    return session.get(ElevatorRisk, elevator_id)


def riskiest(
    session: Session, *, visible: ColumnElement[bool] | None = None, level: str | None = None, limit: int = 50
) -> list[tuple[ElevatorRisk, Elevator]]:
    """Highest scores first; pass `liftcase.scope.elevators_visible(scope)` as `visible` for a user."""
    query = select(ElevatorRisk, Elevator).join(Elevator, Elevator.id == ElevatorRisk.elevator_id)
    if visible is not None:
        query = query.where(visible)
    if level is not None:
        query = query.where(ElevatorRisk.level == level)
    query = query.order_by(ElevatorRisk.score.desc(), ElevatorRisk.elevator_id).limit(limit)
    return [(r, e) for r, e in session.execute(query).all()]


def level_counts(session: Session, *, visible: ColumnElement[bool] | None = None) -> dict[str, int]:
    query = select(ElevatorRisk.level, func.count()).join(Elevator, Elevator.id == ElevatorRisk.elevator_id)
    if visible is not None:
        query = query.where(visible)
    return {level: n for level, n in session.execute(query.group_by(ElevatorRisk.level)).all()}


def last_scored_at(session: Session) -> datetime | None:
    return session.scalar(select(func.max(ElevatorRisk.scored_at)))
