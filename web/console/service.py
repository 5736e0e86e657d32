"""Saved case-list filters: plain reads and writes, each confined to its owner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from web.console.models import SavedFilter

# The case list's query arguments a filter may hold (web.api.cases.CaseFilterArgs).
FILTER_KEYS = (
    "type", "status", "district", "elevator_id", "equipment_class", "equipment_id", "priority", "number", "from",
    "to", "overdue",
)  # fmt: skip


def saved_filters(session: Session, *, user_id: int) -> list[SavedFilter]:
    return list(session.scalars(select(SavedFilter).where(SavedFilter.user_id == user_id).order_by(SavedFilter.name)))


def save_filter(session: Session, *, user_id: int, name: str, query: dict[str, Any], now: datetime) -> SavedFilter:
    """Create, or replace the query of the user's filter with that name."""
    kept = {k: v for k, v in query.items() if k in FILTER_KEYS and v not in (None, "")}
    row = session.scalar(select(SavedFilter).where(SavedFilter.user_id == user_id, SavedFilter.name == name))
    if row is None:
        row = SavedFilter(user_id=user_id, name=name, query=kept, created_at=now)
        session.add(row)
    else:
        row.query = kept
    session.flush()
    return row


def delete_filter(session: Session, *, user_id: int, filter_id: int) -> bool:
    row = session.get(SavedFilter, filter_id)
    if row is None or row.user_id != user_id:
        return False
    session.delete(row)
    return True
