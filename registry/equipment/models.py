"""A piece of special equipment of one of the seven classes (registry/equipment/classes.py): who uses
and looks after it, where it stands, its record, its class-specific attributes and its inspection dates.

Retired, never deleted: a record keeps its history (the admin audit, cases, inspections), so retiring
sets `status` and the reason; retired equipment leaves the counts and the expiry scan.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from infra.db import Base, UTCDateTime


class EquipmentStatus(StrEnum):
    IN_USE = "in_use"
    STOPPED = "stopped"  # 停用: out of use for now (may return)
    RETIRED = "retired"  # 报废/注销: for good; the record stays


class Equipment(Base):
    __tablename__ = "equipment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_class: Mapped[str] = mapped_column(String(30), index=True)
    register_code: Mapped[str] = mapped_column(String(32), unique=True)  # 设备代码 (or pipeline no., plate)
    name: Mapped[str] = mapped_column(String(120))  # "2号燃气锅炉", "A区门式起重机"
    address: Mapped[str] = mapped_column(String(200))
    district_code: Mapped[str] = mapped_column(ForeignKey("districts.code"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    use_unit_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    maintenance_unit_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    manufacturer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    installer_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    model: Mapped[str | None] = mapped_column(String(60))
    factory_number: Mapped[str | None] = mapped_column(String(40))
    use_certificate_no: Mapped[str | None] = mapped_column(String(40))
    place_category: Mapped[str | None] = mapped_column(String(20), index=True)
    key_place: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    installed_on: Mapped[date | None] = mapped_column(Date)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # validated per class
    inspection_cycle_months: Mapped[int] = mapped_column(Integer)
    last_inspected_on: Mapped[date | None] = mapped_column(Date)
    # Same name and meaning as the elevator's, so an expiry scan can read either register.
    next_inspection_due: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12), default=EquipmentStatus.IN_USE, index=True)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
