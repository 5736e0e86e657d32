"""AI event sources (each with its own HMAC secret) and the cameras they report for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class AiSource(Base):
    """A vendor platform or our own vision detector. The secret is kept in the clear because HMAC
    verification needs it; rotate with `liftcase ai-source add NAME --rotate`."""

    __tablename__ = "ai_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AiCamera(Base):
    """A car camera known by the source's own id (events may name a camera instead of an elevator)."""

    __tablename__ = "ai_cameras"
    __table_args__ = (UniqueConstraint("source_id", "camera_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("ai_sources.id"), index=True)
    camera_id: Mapped[str] = mapped_column(String(80))
    elevator_id: Mapped[int] = mapped_column(ForeignKey("elevators.id"), index=True)
