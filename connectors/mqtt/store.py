"""The ingest's reads and writes: devices with their detector state at start, and one transaction per
flush (dead letters, counters, changed detector states, device presence). No per-message round trips.
The devices' rows are the register's: their presence is written through registry.devices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from connectors.models import DeadLetter, DeviceDetectorState, IngestCounter
from connectors.mqtt.gate import DeviceView, restore_seq
from detectors.rules.machine import DeviceState
from detectors.rules.thresholds import ThresholdBook
from registry import devices
from registry.models import Device, Elevator


@dataclass
class Batch:
    """What one flush writes."""

    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # device -> durable state
    presence: dict[str, dict[str, Any]] = field(default_factory=dict)  # device -> online, last_seen_at, last_seq

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    def empty(self) -> bool:
        return not (self.dead_letters or self.counters or self.states or self.presence)


def _insert(session: Session):  # type: ignore[no-untyped-def]
    return (postgresql if session.bind.dialect.name == "postgresql" else sqlite).insert


def load_devices(
    sessions: sessionmaker, book: ThresholdBook, ids: Iterable[str] | None = None
) -> dict[str, DeviceView]:
    with sessions() as session:
        query = (
            select(Device, Elevator.register_code, Elevator.floors, Elevator.rated_speed, DeviceDetectorState.state)
            .outerjoin(Elevator, Elevator.id == Device.elevator_id)
            .outerjoin(DeviceDetectorState, DeviceDetectorState.device_id == Device.id)
        )
        if ids is not None:
            query = query.where(Device.id.in_(list(ids)))
        views = {}
        for device, code, floors, rated_speed, state in session.execute(query):
            view = views[device.id] = DeviceView(
                device.id,
                device.elevator_id,
                book.for_elevator(code, floors, rated_speed),  # the register's rated speed: overspeed's reference
                DeviceState.restore(device.id, state, device.last_seq, device.last_seen_at),
                online=device.online,
                seen_written_at=device.last_seen_at,
            )
            restore_seq(view, state)
        return views


def write_batch(sessions: sessionmaker, batch: Batch, now: datetime) -> None:
    if batch.empty():
        return
    with sessions() as session, session.begin():
        insert = _insert(session)
        if batch.dead_letters:
            session.execute(DeadLetter.__table__.insert(), batch.dead_letters)
        for name, n in batch.counters.items():
            stmt = insert(IngestCounter).values(name=name, value=n)
            session.execute(
                stmt.on_conflict_do_update(index_elements=["name"], set_={"value": IngestCounter.value + n})
            )
        if batch.states:
            stmt = insert(DeviceDetectorState)
            stmt = stmt.on_conflict_do_update(
                index_elements=["device_id"],
                set_={"state": stmt.excluded.state, "updated_at": stmt.excluded.updated_at},
            )
            session.execute(stmt, [{"device_id": d, "state": s, "updated_at": now} for d, s in batch.states.items()])
        devices.write_presence(session, batch.presence)


def mark_silent_offline(sessions: sessionmaker, now: datetime, timeout_s: float) -> list[str]:
    """Devices online but unheard for the heartbeat timeout go offline. Any ingest process (or the
    scheduler) may run this: it is one statement over the shared table."""
    with sessions() as session, session.begin():
        return devices.mark_silent_offline(session, now - timedelta(seconds=timeout_s))


def ingest_report(sessions: sessionmaker, reason: str | None = None, limit: int = 20) -> dict[str, Any]:
    """The counters by name and the latest dead letters (raw bytes shown as text, undecodable bytes
    escaped), for an operator."""
    with sessions() as session:
        rows = session.execute(select(IngestCounter.name, IngestCounter.value).order_by(IngestCounter.name))
        counters = {name: value for name, value in rows}
        query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
        if reason:
            query = query.where(DeadLetter.reason == reason)
        letters = [
            {
                "id": d.id,
                "received_at": d.received_at.isoformat(),
                "topic": d.topic,
                "reason": d.reason,
                "detail": d.detail,
                "raw": d.raw.decode("utf-8", "backslashreplace")[:500],
                "size": d.raw_size,
            }
            for d in session.scalars(query)
        ]
    return {"counters": counters, "dead_letters": letters}
