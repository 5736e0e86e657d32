"""Tables of this package (filled in as the package grows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime

# --- MQTT ingest -------------------------------------------------------------------------------


class DeadLetter(Base):
    """An inbound message the ingest refused, kept byte for byte (up to 64 KB) with the reason, for
    an operator to inspect or replay, for the retention period. Nothing is dropped silently."""

    __tablename__ = "ingest_dead_letters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    topic: Mapped[str] = mapped_column(String(200))
    device_id: Mapped[str | None] = mapped_column(String(40), index=True)
    reason: Mapped[str] = mapped_column(String(30), index=True)
    detail: Mapped[str] = mapped_column(String(300), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)  # the first 64 KB (connectors/mqtt/dead_letters.py)
    raw_size: Mapped[int] = mapped_column(Integer, default=0)  # bytes that arrived


class IngestCounter(Base):
    """Running totals by name (`accepted`, `rejected.bad_json`, ...), added to on every flush by
    every ingest process, so the counts survive restarts and sum over the shared subscription."""

    __tablename__ = "ingest_counters"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class DeviceDetectorState(Base):
    """The rule engine's durable state for one IoT box: written when the state makes a transition
    (a fault raised or cleared, a door timer started), not on every status message."""

    __tablename__ = "device_detector_states"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
