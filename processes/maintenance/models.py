"""Maintenance plans and visits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime
from processes.checkin.models import CheckIn


class MaintenancePlan(Base):
    """One per elevator: the unit that maintains it, the cycle, the next half-monthly visit's due
    date and when each longer period's items (quarterly, half-yearly, yearly) were last done."""

    __tablename__ = "maintenance_plans"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    elevator_id: Mapped[int] = mapped_column(ForeignKey("elevators.id"), unique=True)
    maintenance_unit_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    cycle_days: Mapped[int] = mapped_column(Integer, default=15)
    next_due_on: Mapped[date] = mapped_column(Date, index=True)
    last_done: Mapped[dict[str, Any]] = mapped_column(default=dict)  # period key -> ISO date
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MaintenanceVisit(Base):
    """A visit done: its checklist results (item code -> ok | adjusted | replaced | fault | na),
    photo references, the due date it answered and whether it kept it, how presence was proven
    (tag | qr | position | none, from its check-in), and the use unit's confirmation. Imported
    visits keep their source system's id (per maintenance unit): importing a file again adds nothing twice."""

    __tablename__ = "maintenance_visits"
    __table_args__ = (UniqueConstraint("source", "maintenance_unit_id", "external_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    elevator_id: Mapped[int] = mapped_column(ForeignKey("elevators.id"), index=True)
    maintenance_unit_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    technician: Mapped[str] = mapped_column(String(60), default="")
    maintained_on: Mapped[date] = mapped_column(Date, index=True)
    due_on: Mapped[date | None] = mapped_column(Date)
    on_time: Mapped[bool] = mapped_column(Boolean)
    periods: Mapped[list[Any]] = mapped_column(default=list)  # period keys whose items were done
    results: Mapped[dict[str, Any]] = mapped_column(default=dict)
    photos: Mapped[list[Any]] = mapped_column(default=list)
    note: Mapped[str] = mapped_column(String(1000), default="")
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey(CheckIn.id))
    proof: Mapped[str] = mapped_column(String(10), default="none")
    source: Mapped[str] = mapped_column(String(40), default="phone")
    external_id: Mapped[str | None] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(60))
    # The use unit's answer (processes/maintenance/confirmation.py): pending | confirmed | disputed.
    confirmation: Mapped[str] = mapped_column(String(10), default="pending", server_default="pending", index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(60))
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disputed_by: Mapped[str | None] = mapped_column(String(60))
    dispute_reason: Mapped[str | None] = mapped_column(String(500))
