"""Writes of the IoT boxes' presence (online, last seen, last sequence number), for the telemetry
connector: it reports what it heard, the register keeps the rows. And the boxes' MQTT credentials
(secret hashes), which the broker's password file is written from."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from registry.models import Device, DeviceCredential


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


def registered_ids(session: Session, among: Collection[str] | None = None) -> list[str]:
    """Every registered box's id (or those of `among` that are registered), in order."""
    query = select(Device.id).order_by(Device.id)
    if among is not None:
        query = query.where(Device.id.in_(list(among)))
    return list(session.scalars(query))


def credential_hashes(session: Session) -> dict[str, str]:
    """device id -> its MQTT secret's hash, for every box that has one."""
    rows = session.execute(select(DeviceCredential.device_id, DeviceCredential.secret_hash))
    return {device_id: secret_hash for device_id, secret_hash in rows}


def set_credentials(session: Session, hashes: Mapping[str, str], now: datetime) -> None:
    """Give these boxes these secret hashes (a box that had one gets the new one)."""
    if not hashes:
        return
    held = set(session.scalars(select(DeviceCredential.device_id)))
    fresh = [{"device_id": d, "secret_hash": h, "issued_at": now} for d, h in hashes.items() if d not in held]
    changed = [{"b_id": d, "b_hash": h, "b_at": now} for d, h in hashes.items() if d in held]
    if fresh:
        session.execute(insert(DeviceCredential), fresh)
    if changed:
        stmt = (
            update(DeviceCredential)
            .where(DeviceCredential.device_id == bindparam("b_id"))
            .values(secret_hash=bindparam("b_hash"), issued_at=bindparam("b_at"))
        )
        session.connection().execute(stmt, changed)

