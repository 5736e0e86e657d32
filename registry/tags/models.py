"""The check-in tag register: an NFC tag's UID and its printed code, each naming one elevator and a
place on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime

# Where on the elevator a tag is fixed: a technician who reached each has been in each.
PLACES = ("car", "pit", "machine_room")


class CheckinTag(Base):
    """A tag fixed at one place of one elevator. `uid` is the chip's serial number (what Web NFC
    reads as `serialNumber`); `code` is printed beside it as a QR code for phones without NFC.
    A retired tag stays on record (old check-ins name it) and proves nothing from then on."""

    __tablename__ = "checkin_tags"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    elevator_id: Mapped[int] = mapped_column(ForeignKey("elevators.id"), index=True)
    place: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registered_by: Mapped[str] = mapped_column(String(60))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_by: Mapped[str | None] = mapped_column(String(60))
