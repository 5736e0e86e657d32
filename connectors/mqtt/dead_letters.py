"""Dead letters are kept for an operator, but neither whole nor for ever: the first RAW_LIMIT bytes
with the size that arrived (a broker may pass megabytes a box never sends), and rows older than
the retention (settings.dead_letter_retention_days) deleted by a daily periodic job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import sessionmaker

from connectors.models import DeadLetter

RAW_LIMIT = 64 * 1024


def kept_bytes(payload: bytes) -> dict[str, Any]:
    """The raw columns of a dead letter for this payload."""
    return {"raw": bytes(payload[:RAW_LIMIT]), "raw_size": len(payload)}


def purge(sessions: sessionmaker, before: datetime) -> int:
    """Delete the dead letters received before `before`; how many."""
    with sessions() as session, session.begin():
        result = session.execute(delete(DeadLetter).where(DeadLetter.received_at < before))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
