"""Inspection institutes as sources (each with its own HMAC secret) and the reports they sent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class InspectionSource(Base):
    """An inspection institute (an organisation of kind inspection_agency) allowed to send reports.
    Its secret is not stored: it is derived from the platform's secret key and `secret_salt`
    (connectors.inspection.service.derive_secret), so a copy of the database alone cannot sign;
    `secret_check` (SHA-256 of the secret) tells when the platform key changed under it."""

    __tablename__ = "inspection_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    secret_salt: Mapped[str] = mapped_column(String(64))
    secret_check: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InspectionReport(Base):
    """One report as received (webhook or import), once per source and idempotency key: the same
    report sent again finds this row and changes nothing."""

    __tablename__ = "inspection_reports"
    __table_args__ = (UniqueConstraint("source_id", "idempotency_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("inspection_sources.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(120))
    report_no: Mapped[str] = mapped_column(String(60))
    register_code: Mapped[str] = mapped_column(String(32), index=True)
    elevator_id: Mapped[int | None] = mapped_column(ForeignKey("elevators.id"), index=True)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"), index=True)
    inspected_on: Mapped[date] = mapped_column(Date)
    conclusion: Mapped[str] = mapped_column(String(30))
    next_due: Mapped[date | None] = mapped_column(Date)
    nonconformities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    via: Mapped[str] = mapped_column(String(10))  # webhook | import
    outcome: Mapped[str] = mapped_column(String(30))  # register_renewed | rectification_opened
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by: Mapped[str] = mapped_column(String(60))
