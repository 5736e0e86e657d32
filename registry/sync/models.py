"""The register's sources, field by field: the latest value each source reported (`SourceValue`),
which source set the value the register holds and when (`FieldProvenance`), and the disagreements
a regulator decides (`RegisterConflict`). A record is named by (record_type, record_id):
("elevator", elevators.id) or ("equipment", equipment.id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, PrimaryKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class SourceValue(Base):
    """What one source last said about one field of one record (JSON: dates as ISO text)."""

    __tablename__ = "register_source_values"
    # record_id leads each index: a batch asks by record ids, and the index must serve that even
    # before the planner has statistics (a first import; record_type alone would scan every row).
    __table_args__ = (UniqueConstraint("record_id", "record_type", "field", "source"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    batch: Mapped[str] = mapped_column(String(120))  # the file or the edit it came from


class FieldProvenance(Base):
    """Which source set the value a record's field holds now, when, and who made it so."""

    __tablename__ = "register_provenance"
    __table_args__ = (PrimaryKeyConstraint("record_id", "record_type", "field"),)  # the identity: (id, type, field)
    record_type: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(60))


class RegisterConflict(Base):
    """Sources that disagree about one field. `open_key` is set while the conflict is open, so the
    database keeps one open conflict per field; `fingerprint` is the disagreement (source → value),
    so a disagreement once decided is not listed again until a source says something new."""

    __tablename__ = "register_conflicts"
    __table_args__ = (Index("ix_register_conflicts_record", "record_id", "record_type", "field"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(40))
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    status: Mapped[str] = mapped_column(String(10), index=True)  # open | resolved | settled
    candidates: Mapped[dict[str, Any]] = mapped_column(JSON)  # {source: {"value", "reported_at"}}
    register_value: Mapped[Any] = mapped_column(JSON, nullable=True)  # what the register held when last compared
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(60))
    chosen_source: Mapped[str | None] = mapped_column(String(20))
    chosen_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500))
