"""Tracking links handed to passengers after a QR call or complaint."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class TrackingLink(Base):
    """`/r/t/{token}` shows the case's progress. Only the token's SHA-256 is stored, so a database
    reader cannot open passengers' links; each caller gets a link of their own, also on a join."""

    __tablename__ = "qr_tracking_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    elevator_id: Mapped[int] = mapped_column(ForeignKey("elevators.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # rescue | complaint
    joined: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
