"""Tables of this package: the stored reports (scheduled and on demand) with their files."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class StoredReport(Base):
    """One rendered report. The bytes live in the row: every process is stateless apart from the
    database (DESIGN), so any API machine can serve a report the scheduler made elsewhere."""

    __tablename__ = "stored_reports"
    __table_args__ = (Index("ix_stored_reports_kind_period", "kind", "period_start"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # rescue | risk | inspection | case
    period: Mapped[str] = mapped_column(String(10))  # week | month | day | adhoc
    period_start: Mapped[date] = mapped_column(Date)  # local (Asia/Shanghai) dates, end exclusive
    period_end: Mapped[date] = mapped_column(Date)
    # The scope the figures were computed in: a district code, or None for the whole city.
    district_code: Mapped[str | None] = mapped_column(String(12), index=True)
    scope_label: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(80), default="application/pdf")
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    # A scheduled run is made once per kind, period and scope: the key makes a rerun a no-op.
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    created_by: Mapped[str] = mapped_column(String(60), default="scheduler")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
