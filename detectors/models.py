"""Risk scores per elevator, written by the nightly and on-demand scoring run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class ElevatorRisk(Base):
    """The latest score for each elevator (one row per elevator, replaced on each run)."""

    __tablename__ = "elevator_risk"
    elevator_id: Mapped[int] = mapped_column(ForeignKey("elevators.id"), primary_key=True)
    score: Mapped[float] = mapped_column(Float)  # 0-100
    level: Mapped[str] = mapped_column(String(10), index=True)  # low / medium / high / critical
    # [{"factor": "faults_90d", "label": "近90天故障", "value": 4, "contribution": 12.5}, ...] largest first
    factors: Mapped[list[Any]] = mapped_column(default=list)
    model_version: Mapped[str] = mapped_column(String(40))
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    run_id: Mapped[int] = mapped_column(Integer, default=0)
