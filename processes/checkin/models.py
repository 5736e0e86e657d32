"""A technician's check-in at an elevator."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime
from registry.tags.models import CheckinTag


class CheckIn(Base):
    """One check-in: the tag read (NFC: `tag`; its printed code scanned or typed: `qr`) or only
    the phone's position (`position`) or nothing (`none`), and the proof that leaves: a tag or code
    proves presence, a position only when within the configured distance of the elevator.
    `far` flags a position reported beyond that distance, whatever was read."""

    __tablename__ = "checkins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    elevator_id: Mapped[int] = mapped_column(ForeignKey("elevators.id"), index=True)
    tag_id: Mapped[int | None] = mapped_column(ForeignKey(CheckinTag.id))
    place: Mapped[str | None] = mapped_column(String(20))
    method: Mapped[str] = mapped_column(String(10))
    proof: Mapped[str] = mapped_column(String(10))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    distance_m: Mapped[float | None] = mapped_column(Float)
    far: Mapped[bool] = mapped_column(Boolean, default=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
