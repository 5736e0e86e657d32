"""Writes of the IoT boxes' presence (online, last seen, last sequence number), for the telemetry
connector: it reports what it heard, the register keeps the rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, func, select, update
from sqlalchemy.orm import Session

from registry.models import Device


def write_presence(session: Session, presence: Mapping[str, Mapping[str, Any]]) -> None:
    """device id -> online, last_seen_at, last_seq (None: keep the stored one), in one executemany."""
    if not presence:
        return
    stmt = (
        update(Device)
        .where(Device.id == bindparam("b_id"))
        .values(
            online=bindparam("b_online"),
            last_seen_at=bindparam("b_seen"),
            # An online flag or a box event carries no seq: keep the stored one.
            last_seq=func.coalesce(bindparam("b_seq", type_=Integer), Device.last_seq),
        )
    )
    rows = [
        {"b_id": d, "b_online": p["online"], "b_seen": p["last_seen_at"], "b_seq": p["last_seq"]}
        for d, p in presence.items()
    ]
    # On the connection: a Core executemany, not the ORM's bulk update by primary key.
    session.connection().execute(stmt, rows)


def mark_silent_offline(session: Session, cutoff: datetime) -> list[str]:
    """Boxes online but unheard since `cutoff` go offline; their ids."""
    silent = list(
        session.scalars(
            select(Device.id).where(Device.online.is_(True), Device.last_seen_at < cutoff).with_for_update()
        )
    )
    if silent:
        session.execute(update(Device).where(Device.id.in_(silent)).values(online=False))
    return silent
