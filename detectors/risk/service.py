"""ElevatorRisk reads and writes (no side effects beyond the rows; the caller commits)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.orm import Session

from detectors.models import ElevatorRisk
from registry.models import Elevator

UPDATED = ("score", "level", "factors", "model_version", "scored_at", "run_id")


def next_run_id(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(ElevatorRisk.run_id), 0))) or 0) + 1


def upsert_scores(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert or replace one row per elevator in one statement.

    PostgreSQL: the rows travel as one JSON parameter expanded by json_populate_recordset (one
    round trip; executemany would batch 14,188 rows into ~15 statements and took 1.5-2x as long
    on this machine). SQLite, in-process, needs no round trips: one executemany upsert."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(_PG_UPSERT, {"rows": json.dumps([_plain(r) for r in rows], ensure_ascii=False)})
        return len(rows)
    if dialect != "sqlite":
        raise NotImplementedError(f"risk upsert on {dialect}")
    from sqlalchemy.dialects.sqlite import insert

    statement = insert(ElevatorRisk)
    statement = statement.on_conflict_do_update(
        index_elements=[ElevatorRisk.elevator_id], set_={c: statement.excluded[c] for c in UPDATED}
    )
    session.connection().execute(statement, list(rows))  # Core executemany: no ORM bulk bookkeeping
    return len(rows)


_COLUMNS = ("elevator_id", *UPDATED)
_PG_UPSERT = text(
    f"INSERT INTO elevator_risk ({', '.join(_COLUMNS)}) "
    f"SELECT {', '.join(_COLUMNS)} FROM json_populate_recordset(NULL::elevator_risk, CAST(:rows AS json)) "
    "ON CONFLICT (elevator_id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in UPDATED)
)


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    # UTCDateTime's storage form (naive UTC), which the SQL above bypasses.
    return {**row, "scored_at": row["scored_at"].astimezone(UTC).replace(tzinfo=None).isoformat()}


def risk_of(session: Session, elevator_id: int) -> ElevatorRisk | None:
    return session.get(ElevatorRisk, elevator_id)


def riskiest(
    session: Session, *, visible: ColumnElement[bool] | None = None, level: str | None = None, limit: int = 50
) -> list[tuple[ElevatorRisk, Elevator]]:
    """Highest scores first; pass `registry.scope.elevators_visible(scope)` as `visible` for a user."""
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
